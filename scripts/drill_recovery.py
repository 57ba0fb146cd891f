"""The failure drill's step 6 (issue 19): disaster recovery.

A library of users (signed up, one upload each, ready) is backed up with pg_dump while the
load goes on. After the backup, some of them upload again (half of those uploads ready, half
sent just before the loss), others delete their upload, and new users sign up and upload.
Then the database is dropped. It is restored from the dump into a fresh database, the four
processes are pointed at it (restarted), and `backspin recover` brings back from the object
store what arrived after the backup.

Measured: RPO as uploads lost among the accounts the backup holds (target 0), deletes that
came back, accounts lost (those who signed up after the backup: the backup has no row of
them; their objects are kept and counted); RTO from the database's loss to serving again,
and to serving with everything recovered.

Used by scripts/drill_kit.py.
"""

import json
import os
import signal
import subprocess
import time

import drill_kit


def library(base, n):
    """`n` users signed up, each with one small upload: [(browser, upload id)]."""

    def one(i):
        b = drill_kit.signed_up(base, f"127.0.{20 + i // 250}.{1 + i % 250}", f"library{i}@example.com")
        return drill_kit.send_small(base, None, f"library-{i}-first", browser=b)

    return drill_kit.in_parallel(one, range(n), threads=6)


def step_disaster_recovery(cluster, pg, load, summary, n):
    load.step = "6-disaster-recovery"
    started = time.monotonic()
    users = library(load.base, n)
    drill_kit.wait_ready(pg, [u for _, u in users], "the library", timeout=600)
    seeded_s = time.monotonic() - started
    users_in_db = int(pg.query("SELECT count(*) FROM users WHERE email IS NOT NULL")[0][0])

    # The backup.
    dump = os.path.join(cluster.work, "backup.dump")
    t = time.monotonic()
    subprocess.run([os.path.join(pg.bin, "pg_dump"), "-Fc", "-d", pg.url, "-f", dump], check=True)
    backup_s = time.monotonic() - t

    # After the backup, under the load: new uploads (half ingested, half still on their way
    # when the database goes), deletes, sign-ups.
    k = max(4, n // 10)
    arrived_ready = drill_kit.in_parallel(
        lambda i: drill_kit.send_small(load.base, None, f"library-{i}-second", browser=users[i][0])[1],
        range(k // 2),
    )
    deleted = []
    for i in range(k, 2 * k):
        b, u = users[i]
        status, body = b.request("DELETE", f"/api/v1/uploads/{u}")
        if status not in (200, 202, 204):
            raise SystemExit(f"drill: deleting {u} after the backup: {status} {body[:200]!r}")
        deleted.append(u)
    m = max(3, n // 20)
    late = drill_kit.in_parallel(
        lambda i: drill_kit.send_small(
            load.base, None, f"late-{i}",
            browser=drill_kit.signed_up(load.base, f"127.0.30.{1 + i}", f"late{i}@example.com"),
        ),
        range(m),
    )
    drill_kit.wait_ready(pg, arrived_ready + [u for _, u in late], "the uploads after the backup", timeout=300)
    arrived_late = drill_kit.in_parallel(
        lambda i: drill_kit.send_small(load.base, None, f"library-{i}-second", browser=users[i][0])[1],
        range(k // 2, k),
    )

    # The loss.
    lost_at = time.monotonic()
    name = pg.url.rsplit("/", 1)[1]
    pg.query(f"DROP DATABASE {name} WITH (FORCE)", database=pg.at("postgres"))

    # The restore, into a fresh database; every process pointed at it.
    pg.query(f"CREATE DATABASE {name}_restored", database=pg.at("postgres"))
    restored = pg.at(f"{name}_restored")
    t = time.monotonic()
    subprocess.run(
        [os.path.join(pg.bin, "pg_restore"), "--no-owner", "-j", "2", "-d", restored, dump], check=True
    )
    restore_s = time.monotonic() - t
    cluster.database_url, pg.url = restored, restored
    # All four at once: with the database gone there is nothing to drain for.
    names = ("web1", "web2", "worker1", "worker2")
    for name in names:
        cluster.procs[name].send_signal(signal.SIGTERM)
    for name in names:
        cluster.procs[name].wait(timeout=60)
    for i in range(2):
        cluster.start_web(i, wait=False)
        cluster.start_worker(i)
    lb = f"http://127.0.0.1:{cluster.lb_port}/readyz"
    drill_kit.wait_until("serving from the restored database", lambda: drill_kit.http_status(lb) == 200, timeout=60)
    serving_s = time.monotonic() - lost_at

    # What arrived after the backup, back from the object store.
    t = time.monotonic()
    out = subprocess.run(
        [cluster.binary, "recover", "--database-url", restored, "--data-dir", cluster.data,
         "--json", "--no-wait"],
        check=True, capture_output=True, text=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    recover_s = time.monotonic() - t
    queued = report["recreated"] + report["requeued"]
    # The virtual users go on deleting: one of theirs may go again before it is ingested.
    drill_kit.wait_ready(pg, queued, "the recovered uploads", timeout=600, vanish_ok=True)
    recovered_s = time.monotonic() - lost_at

    # RPO: every library user has exactly what they had at the loss, with its plays.
    lost, resurrected, wrong = 0, 0, []
    arrived = dict(enumerate(arrived_ready + arrived_late))
    for i, (b, first) in enumerate(users):
        expected = {first} - set(deleted) | ({arrived[i]} if i in arrived else set())
        mine = drill_kit.uploads_of(b)
        have = {u["id"] for u in mine}
        lost += len(expected - have)
        resurrected += len(have & set(deleted))
        for u in mine:
            if u["id"] in expected and (u.get("state") != "ready" or (u.get("summary") or {}).get("plays") != 40):
                wrong.append(f"{u['id']}: {u.get('state')}, {(u.get('summary') or {}).get('plays')} plays")
        if have - expected:
            wrong.append(f"library{i}: unexpected uploads {sorted(have - expected)}")
    late_kept = sum(1 for _, u in late if any(f"/{u}/" in key for key in report["owner_unknown"]))
    late_keys_exist = all(
        os.path.exists(os.path.join(cluster.data, "objects", key)) for key in report["owner_unknown"]
    )
    after_backup = len(arrived) + len(deleted)
    failed = load.failures("6-disaster-recovery")
    summary["rpo"] = {
        "uploads_lost": lost,
        "of_uploads_made_after_the_backup_by_users_in_it": len(arrived),
        "deletes_after_the_backup_undone": resurrected,
        "accounts_signed_up_after_the_backup": m,
        "their_uploads_kept_in_the_store_not_attached": late_kept,
    }
    summary["rto"] = {
        "serving_again_s": round(serving_s, 1),
        "serving_with_everything_recovered_s": round(recovered_s, 1),
    }
    summary["steps"]["6-disaster-recovery"] = {
        "library_users": users_in_db,
        "seeded_in_s": round(seeded_s, 1),
        "backup_s": round(backup_s, 2),
        "backup_bytes": os.path.getsize(dump),
        "after_the_backup": {"uploads": len(arrived), "deletes": len(deleted), "sign_ups": m},
        "restore_s": round(restore_s, 2),
        "serving_after_loss_s": round(serving_s, 1),
        "recover_command_s": round(recover_s, 2),
        "recover": {
            "objects": report["objects"],
            "recreated": len(report["recreated"]),
            "requeued": len(report["requeued"]),
            "repointed": len(report["repointed"]),
            "deleted": len(report["deleted"]),
            "owner_unknown_objects": len(report["owner_unknown"]),
        },
        "everything_recovered_after_loss_s": round(recovered_s, 1),
        "uploads_lost": lost,
        "deletes_undone": resurrected,
        "wrong": wrong[:5],
        "requests": load.count("6-disaster-recovery"),
        "failed_requests_during_the_loss": len(failed),
        # Nothing lost or undone for the accounts in the backup; every late sign-up's upload
        # kept in the store and reported; at least the drill's own uploads after the backup
        # recreated and its deletes carried out.
        "ok": lost == 0 and resurrected == 0 and not wrong and late_kept == m and late_keys_exist
        and len(report["recreated"]) >= len(arrived) and len(report["deleted"]) >= len(deleted)
        and users_in_db >= n and after_backup > 0,
    }
    summary["uploads_lost"] += lost
