"""The failure drill's step 5 (issue 19): a backlog of uploads sent at once, drained twice by
one worker process: first with its pool scaling on the queue's depth (`queue-config`'s
`ScalingPolicy::DEFAULT`: 1 to 4 workers, two messages per worker), then with the pool held at
one worker (`--max-workers 1`). Uploads per minute of each, and their ratio; the pool's size
over time, read from the worker's own log ("pool grows" / "pool shrinks", with the sizes);
every upload ready exactly once with its 40 plays.

Used by scripts/drill_kit.py.
"""

import datetime
import json
import re
import signal
import time

import drill_kit

ANSI = re.compile(r"\x1b\[[0-9;]*m")
POOL = re.compile(r"^(\S+)\s.*pool (?:grows|shrinks).*\bfrom=(\d+) to=(\d+)")


def pool_sizes(log_path, since_wall):
    """(seconds after `since_wall`, pool size) at every change the worker logged."""
    out = []
    with open(log_path, errors="replace") as f:
        for line in f:
            m = POOL.match(ANSI.sub("", line))
            if not m:
                continue
            at = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
            if at >= since_wall:
                out.append((round(at - since_wall, 1), int(m.group(3))))
    return out


def size_now(log_path, since_wall):
    sizes = pool_sizes(log_path, since_wall)
    return sizes[-1][1] if sizes else None


def drain(cluster, pg, load, n, tag, worker_args, shrink_timeout):
    """Sends `n` uploads at once (anonymous visitors, one address each) to a cluster whose only
    worker process runs with `worker_args`, and waits until every one is ready and the pool
    is back to one worker. Returns the phase's figures."""
    name = f"backlog-{tag}"
    since = time.time()
    cluster.start_worker(0, extra=worker_args, name=name)
    log = f"{cluster.work}/{name}.log"
    drill_kit.wait_until(f"the {tag} worker's pool started", lambda: size_now(log, since) is not None, timeout=60)
    drill_kit.wait_until(f"the {tag} worker's pool idle at one worker", lambda: size_now(log, since) == 1,
                     timeout=shrink_timeout, every=0.5)
    # An idle pool, as a backlog finds it: past the policy's scale-out cooldown (5 s) since
    # its start.
    time.sleep(6.0)

    def send(i):
        return drill_kit.send_small(load.base, f"127.0.{3 + i // 250}.{1 + i % 250}", f"backlog-{tag}-{i}")

    started, started_wall = time.monotonic(), time.time()
    sent = drill_kit.in_parallel(send, range(n), threads=32)
    sent_after = time.monotonic() - started
    ids = [u for _, u in sent]
    ready_at = drill_kit.wait_ready(pg, ids, f"the {tag} backlog", timeout=max(600, 6 * n))
    drained = max(t for t in ready_at.values() if t is not None) - started
    drill_kit.wait_until(
        f"the {tag} worker's pool back to one worker",
        lambda: size_now(log, since) == 1, timeout=shrink_timeout, every=0.5,
    )
    back_to_one = time.monotonic() - started
    cluster.kill(name, signal.SIGTERM)

    # Each upload ready exactly once, with its plays: the visitor sees one upload, ready, 40
    # plays.
    wrong, lost, doubled = [], 0, 0
    for b, u in sent:
        mine = drill_kit.uploads_of(b)
        s, body = b.request("GET", f"/api/v1/uploads/{u}")
        state = json.loads(body) if s == 200 else {}
        plays = (state.get("summary") or {}).get("plays")
        lost += state.get("state") != "ready"
        doubled += max(0, len(mine) - 1)
        if len(mine) != 1 or state.get("state") != "ready" or plays != 40:
            wrong.append(f"{u}: {len(mine)} uploads, {state.get('state')}, {plays} plays")
    # On the clock of the send's start (the first entry is the pool's start, before it).
    t0 = started_wall - since
    sizes = pool_sizes(log, since)
    return {
        "uploads": n,
        "sent_in_s": round(sent_after, 2),
        "drained_in_s": round(drained, 2),
        "uploads_per_minute": round(n / drained * 60, 1),
        "largest_pool": max((s for _, s in sizes), default=0),
        "pool_size_over_time": [[round(t - t0, 1), s] for t, s in sizes],
        "back_to_one_worker_s": round(back_to_one, 1),
        "wrong": wrong[:5],
        "wrong_count": len(wrong),
        "lost": lost,
        "doubled": doubled,
    }


def step_backlog(cluster, pg, load, summary, n, scale_in_cooldown):
    load.step = "5-backlog"
    # The same backlog for both drains: the users' own uploads pause (they keep reading).
    load.no_uploads.set()
    # The queue empty first (the users' last uploads ingested), so that the backlog is all
    # the worker finds.
    drill_kit.wait_until(
        "the queue empty",
        lambda: pg.query("SELECT count(*) FROM queue_messages WHERE queue = 'ingest'")[0][0] == "0"
        and pg.query("SELECT count(*) FROM uploads WHERE state IN ('queued', 'processing')")[0][0] == "0",
        timeout=120, every=0.5,
    )
    for i in range(2):
        cluster.kill(f"worker{i + 1}", signal.SIGTERM)
    cooldown = ["--scale-in-cooldown-secs", str(scale_in_cooldown)]
    # Three scale-ins, one per cooldown, after the last scale-out: the pool is back to one
    # worker within about four cooldowns of the backlog's end.
    shrink = 5 * scale_in_cooldown + 60
    pool = drain(cluster, pg, load, n, "pool", cooldown, shrink)
    single = drain(cluster, pg, load, n, "single", ["--max-workers", "1", *cooldown], shrink)
    cluster.start_worker(0)
    cluster.start_worker(1)
    load.no_uploads.clear()
    failed = load.failures("5-backlog")
    summary["steps"]["5-backlog"] = {
        "requests": load.count("5-backlog"),
        "failed": len(failed),
        "policy": "ScalingPolicy::DEFAULT (1-4 workers, 2 messages per worker, scale out at "
        f"once, in by one per {scale_in_cooldown} s)",
        "pool": pool,
        "one_worker": single,
        "speed_up": round(pool["uploads_per_minute"] / single["uploads_per_minute"], 2),
        "failures": [f[3] for f in failed[:5]],
        # Every upload ready once with its plays; the pool grew with the backlog and came back
        # to one worker; the pool held at one never grew.
        "ok": not failed and not pool["wrong_count"] and not single["wrong_count"]
        and pool["largest_pool"] > 1 and single["largest_pool"] == 1,
    }
    summary["uploads_lost"] += pool["lost"] + single["lost"]
    summary["uploads_doubled"] += pool["doubled"] + single["doubled"]
