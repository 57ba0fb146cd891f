#!/usr/bin/env python3
"""The failure drill (issue 19): a cluster of several processes under a steady
mixed load, then faults, with a JSON summary of what users noticed.

The cluster, all on loopback: HAProxy health-checking /readyz (every 500 ms, out after three
failures) in front of two web processes
(`backspin serve --no-workers --drain-secs`), two workers (`backspin worker`), one PostgreSQL
database, one data folder (the object store and the queue's held-message journal).

The load: virtual users, each a browser of its own (cookie jar), signed up once, uploading a
small history and reading dashboards, pages and the JSON API in a loop, now and then deleting
an upload and sending it again.

The steps:
  1. kill -9 one web process: only requests in flight on it may fail; sessions continue on
     the other; HAProxy takes it out, and back when it returns.
  2. kill -9 the worker ingesting a large upload: the upload ends ready once, with exactly
     its plays (the generator's facts).
  3. a rolling restart of every process, one at a time, web processes draining first: no
     request fails.
  4. PostgreSQL stopped for five seconds and started again: quick 503s while it is down, no
     hangs; serving again and the upload sent before the outage ingested within seconds of
     its return, with exactly its plays, once.
  5. a backlog of uploads sent at once, drained by one worker process whose pool scales on
     the queue's depth, then by one held at a single worker: uploads per minute of each, the
     pool's size over time (scripts/drill_backlog.py).
  6. disaster recovery: a library of users backed up with pg_dump, the load going on, the
     database dropped, restored into a fresh one, every process pointed at it, and
     `backspin recover` bringing back from the object store what arrived after the backup:
     RPO and RTO (scripts/drill_recovery.py).
  7. stack.yaml created in moto's CloudFormation (a template derived from it at run time where
     moto refuses it; what moto lacks listed), a web process and a worker in the AWS mode
     configured from the stack's outputs, uploads through them (scripts/drill_aws.py,
     scripts/drill_stack.py).

Run by scripts/drill.sh, which builds the binary and finds PostgreSQL, HAProxy and moto. Prints one
JSON object; exits 1 when a promise fails. Standard library only. `--short` is the test
suite's form (smaller backlog and library); `--steps` runs some steps only.
"""

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from drill_kit import (
    wait_until,
    http_status,
    Cluster,
    Pg,
    Load,
    send_export,
    uploads_of,
    signed_up,
    generated,
)

def step_kill_web(cluster, load, summary):
    load.step = "1-kill-web"
    time.sleep(1.0)
    killed_at = time.monotonic()
    cluster.kill("web1")
    wait_until("HAProxy takes web1 out", lambda: "web1" not in cluster.servers_up(), timeout=10)
    out_after = time.monotonic() - killed_at
    time.sleep(2.0)
    cluster.start_web(0)
    back = time.monotonic()
    wait_until("HAProxy takes web1 back", lambda: "web1" in cluster.servers_up(), timeout=10)
    back_after = time.monotonic() - back
    time.sleep(1.0)
    failed = load.failures("1-kill-web")
    summary["steps"]["1-kill-web"] = {
        "requests": load.count("1-kill-web"),
        "failed": len(failed),
        "allowed": load.users,
        "out_of_rotation_s": round(out_after, 2),
        "back_in_rotation_s": round(back_after, 2),
        "failures": [f[3] for f in failed[:5]],
        "ok": len(failed) <= load.users,
    }


def step_kill_worker(cluster, binary, load, summary):
    load.step = "2-kill-worker"
    zipped, expected = generated(binary, cluster.work, "big", 120000, 19)
    # One worker only, so that the kill finds the upload in its hands.
    cluster.kill("worker2", signal.SIGTERM)
    b = signed_up(load.base, "127.0.2.1", "drill-big@example.com")
    state = send_export(b, zipped, "the large upload")
    wait_until("the large upload being ingested", lambda: state().get("state") == "processing", timeout=60, every=0.02)
    cluster.kill("worker1")
    killed = time.monotonic()
    cluster.start_worker(0)
    cluster.start_worker(1)
    wait_until("the large upload ready", lambda: state().get("state") == "ready", timeout=300)
    ready_after = time.monotonic() - killed
    final = state()
    plays = (final.get("summary") or {}).get("plays")
    mine = uploads_of(b)
    summary["steps"]["2-kill-worker"] = {
        "ready_after_kill_s": round(ready_after, 2),
        "plays": plays,
        "expected_plays": expected,
        "uploads_of_the_user": len(mine),
        "ok": plays == expected and len(mine) == 1,
    }
    summary["uploads_lost"] += 0 if final.get("state") == "ready" else 1
    summary["uploads_doubled"] += max(0, len(mine) - 1)


def step_database_restart(cluster, binary, load, summary, pg_stop, pg_start):
    load.step = "4-database-restart"
    zipped, expected = generated(binary, cluster.work, "during-outage", 20000, 4)
    b = signed_up(load.base, "127.0.2.2", "drill-outage@example.com")
    state = send_export(b, zipped, "the upload before the outage")
    subprocess.run(pg_stop, shell=True, check=True, stdout=subprocess.DEVNULL)
    time.sleep(5.0)
    subprocess.run(pg_start, shell=True, check=True, stdout=subprocess.DEVNULL)
    back = time.monotonic()
    lb = f"http://127.0.0.1:{cluster.lb_port}/readyz"
    wait_until("serving again after the database returned", lambda: http_status(lb) == 200, timeout=60)
    serving_after = time.monotonic() - back

    wait_until("the upload sent before the outage ready", lambda: state().get("state") == "ready", timeout=120)
    ready_after = time.monotonic() - back
    plays = (state().get("summary") or {}).get("plays")
    mine = uploads_of(b)
    in_step = [r for r in load.records if r[0] == "4-database-restart"]
    failed = [r for r in in_step if not r[2]]
    not_503 = [r for r in failed if r[5] != 503]
    slowest = max((r[4] for r in in_step), default=0.0)
    summary["steps"]["4-database-restart"] = {
        "requests": len(in_step),
        "failed": len(failed),
        "failed_not_503": len(not_503),
        "slowest_answer_s": round(slowest, 2),
        "serving_after_return_s": round(serving_after, 2),
        "upload_ready_after_return_s": round(ready_after, 2),
        "plays": plays,
        "expected_plays": expected,
        "failures": [f[3] for f in not_503[:5]],
        # Quick 503s while it is down, no hangs (the request deadline is 30 s); ingestion
        # resumes within seconds; nothing lost or doubled.
        "ok": not not_503 and slowest < 10 and serving_after < 30 and ready_after < 60
        and plays == expected and len(mine) == 1,
    }
    summary["uploads_lost"] += 0 if plays is not None else 1
    summary["uploads_doubled"] += max(0, len(mine) - 1)


def step_rolling_restart(cluster, load, summary):
    load.step = "3-rolling-restart"
    started = time.monotonic()
    for i in range(2):
        cluster.kill(f"web{i + 1}", signal.SIGTERM)
        cluster.start_web(i)
        wait_until(f"HAProxy takes web{i + 1} back", lambda: f"web{i + 1}" in cluster.servers_up(), timeout=10)
    for i in range(2):
        cluster.kill(f"worker{i + 1}", signal.SIGTERM)
        cluster.start_worker(i)
    time.sleep(1.0)
    failed = load.failures("3-rolling-restart")
    summary["steps"]["3-rolling-restart"] = {
        "requests": load.count("3-rolling-restart"),
        "failed": len(failed),
        "seconds": round(time.monotonic() - started, 2),
        "failures": [f[3] for f in failed[:5]],
        "ok": not failed,
    }


def main():
    import drill_aws
    import drill_backlog
    import drill_recovery

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--haproxy", default="haproxy")
    ap.add_argument("--users", type=int, default=6)
    ap.add_argument("--work", default=None)
    ap.add_argument("--pg-stop", required=True, help="a shell command that stops PostgreSQL at once")
    ap.add_argument("--pg-start", required=True, help="a shell command that starts it again")
    ap.add_argument("--pg-bin", required=True, help="the folder of psql, pg_dump and pg_restore")
    ap.add_argument("--backlog", type=int, default=200, help="uploads sent at once in step 5")
    ap.add_argument("--scale-in-cooldown", type=int, default=60,
                    help="the pool's scale-in cooldown in step 5, seconds (the policy's: 60)")
    ap.add_argument("--library", type=int, default=100, help="users with uploads before step 6's backup")
    ap.add_argument("--short", action="store_true",
                    help="the test suite's form: a backlog of 30, a 5 s scale-in cooldown, a library of 12")
    ap.add_argument("--steps", default="1,2,3,4,5,6,7", help="which steps to run (comma-separated)")
    ap.add_argument("--moto-server", required=True, help="moto's server (scripts/moto.sh), for step 7")
    args = ap.parse_args()
    if args.short:
        args.backlog, args.scale_in_cooldown, args.library = 30, 5, 12
    steps = set(args.steps.split(","))
    work = args.work or tempfile.mkdtemp(prefix="backspin-drill-")
    cluster = Cluster(args.binary, args.database_url, work)
    summary = {"work": work, "steps": {}, "uploads_lost": 0, "uploads_doubled": 0}
    began = time.monotonic()
    load = None
    try:
        subprocess.run(
            [args.binary, "migrate", "--database-url", args.database_url, "--data-dir", cluster.data],
            check=True, stdout=subprocess.DEVNULL,
        )
        cluster.start_web(0)
        cluster.start_web(1)
        cluster.start_worker(0)
        cluster.start_worker(1)
        cluster.start_haproxy(args.haproxy)
        load = Load(f"http://127.0.0.1:{cluster.lb_port}", args.users)
        load.start()
        time.sleep(3.0)
        pg = Pg(args.pg_bin, args.database_url)
        plan = [
            ("1", lambda: step_kill_web(cluster, load, summary)),
            ("2", lambda: step_kill_worker(cluster, args.binary, load, summary)),
            ("3", lambda: step_rolling_restart(cluster, load, summary)),
            ("4", lambda: step_database_restart(cluster, args.binary, load, summary, args.pg_stop, args.pg_start)),
            ("5", lambda: drill_backlog.step_backlog(cluster, pg, load, summary, args.backlog, args.scale_in_cooldown)),
            ("6", lambda: drill_recovery.step_disaster_recovery(cluster, pg, load, summary, args.library)),
            ("7", lambda: drill_aws.step_stack(cluster, pg, summary, args.moto_server, 3)),
        ]
        for step, run in plan:
            if step in steps:
                run()
                load.step = "between"
        load.step = "end"
        time.sleep(1.0)
    finally:
        if load:
            load.finish()
        cluster.stop_all()
    summary["seconds"] = round(time.monotonic() - began, 1)
    summary["requests"] = len(load.records) if load else 0
    summary["failures_by_step"] = {
        step: sum(1 for r in load.records if r[0] == step and not r[2])
        for step in sorted({r[0] for r in load.records})
    } if load else {}
    summary["ok"] = all(s["ok"] for s in summary["steps"].values()) and not summary["uploads_lost"] and not summary["uploads_doubled"]
    print(json.dumps(summary, indent=2))
    if summary["ok"] and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    elif not summary["ok"]:
        print(f"drill: the processes' logs are in {work}", file=sys.stderr)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
