#!/usr/bin/env python3
"""The first view of a big history, cold and warm, beside its baselines in the same run.

    first_view.py --bin target/release/backspin [--baseline-bin OLD] --plays 300000 [--plays 1000000]
                  [--engine sqlite] [--engine postgres] [--restarts 5] [--out DIR]

For each size and engine: a generated lifetime export (`backspin generate --seed 1`) is zipped
and uploaded through the JSON API to a release `backspin serve`, as a new user would. Then:

- upload -> ready, beside `backspin inspect` on the same zip (the parse floor);
- the first `/dashboard` right after the upload is ready (nothing prepared yet);
- the first `/dashboard`, ranking, artist page and recap of a freshly started web process
  (`serve --no-workers`, each view on a process of its own), `--restarts` times: p50;
- on PostgreSQL, the first `/dashboard` from a second web process started beside the first;
- with `--baseline-bin`, all of it again for an earlier build (its own data, same machine,
  same run): the baseline of a change;
- warm `/dashboard` p50, beside the same server sending a static file of the same size;
- the server's RSS before and after preparing the user; bytes stored per stream (database
  after VACUUM, artifact).

Prints a table and writes `results.json` in --out. Standard library only.
"""

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile

PASSWORD = "correct horse battery"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Server:
    """One `backspin serve` process on a free port."""

    def __init__(self, bin, data, db_url, static, workers, logdir, name):
        args = [bin, "serve", "--bind", "127.0.0.1:0", "--data-dir", data, "--static-dir", static]
        if db_url:
            args += ["--database-url", db_url]
        if not workers:
            args.append("--no-workers")
        self.out = open(os.path.join(logdir, f"{name}.out"), "w+")
        self.err = open(os.path.join(logdir, f"{name}.err"), "w")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.err)
        deadline = time.time() + 60
        self.base = None
        while time.time() < deadline:
            self.out.seek(0)
            m = re.search(r"running at (http://[^ /]+)/", self.out.read())
            if m:
                self.base = m.group(1)
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not self.base:
            self.stop()
            sys.exit(f"first_view.py: the server did not start (see {logdir}/{name}.err)")

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Visitor:
    """A browser: a cookie jar and the session's CSRF token."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token = ""

    def call(self, base, method, path, body=None, ctype="application/json", timeout=120):
        req = urllib.request.Request(base + path, data=body, method=method)
        req.add_header("X-CSRF-Token", self.token)
        if body is not None:
            req.add_header("Content-Type", ctype)
        with self.opener.open(req, timeout=timeout) as r:
            return r.status, r.read()

    def json(self, base, method, path, body=None, **kw):
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        return json.loads(self.call(base, method, path, data, **kw)[1])

    def sign_up(self, base, email):
        self.token = self.json(base, "GET", "/api/v1/session")["csrf_token"]
        self.token = self.json(base, "POST", "/api/v1/signup", {"email": email, "password": PASSWORD})["csrf_token"]

    def timed_get(self, base, path):
        start = time.perf_counter()
        status, body = self.call(base, "GET", path)
        ms = (time.perf_counter() - start) * 1000
        if status != 200:
            sys.exit(f"first_view.py: {path} answered {status}")
        return ms, body


def p50(xs):
    return statistics.median(xs) if xs else None


def export(bin, plays, cache):
    folder = os.path.join(cache, f"synth-{plays}-seed-1")
    if not os.path.exists(os.path.join(folder, "expected.json")):
        shutil.rmtree(folder + ".tmp", ignore_errors=True)
        subprocess.run([bin, "generate", "--plays", str(plays), "--seed", "1", "--out", folder + ".tmp"], check=True)
        os.rename(folder + ".tmp", folder)
    zpath = folder + ".zip"
    if not os.path.exists(zpath):
        with zipfile.ZipFile(zpath + ".tmp", "w", zipfile.ZIP_DEFLATED) as z:
            for root, _, files in os.walk(folder):
                for f in sorted(files):
                    if f.endswith(".json") and f != "expected.json":
                        p = os.path.join(root, f)
                        z.write(p, os.path.join("Spotify Extended Streaming History", f))
        os.rename(zpath + ".tmp", zpath)
    return zpath


def inspect_seconds(bin, zpath, runs=3):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([bin, "inspect", zpath], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return p50(times)


def sql(engine, data, db_url, admin_url, query):
    if engine == "sqlite":
        return subprocess.run(["sqlite3", os.path.join(data, "backspin.db"), query], check=True,
                              capture_output=True, text=True).stdout.strip()
    return subprocess.run(["psql", "-qAt", db_url, "-c", query], check=True, capture_output=True, text=True).stdout.strip()


def run_one(args, bin, build, engine, plays, zpath, inspect_s, out):
    name = f"{build}-{engine}-{plays}"
    logdir = os.path.join(out, name)
    os.makedirs(logdir, exist_ok=True)
    data = tempfile.mkdtemp(prefix="fv-data.", dir=args.cache)
    static = os.path.join(data, "static")
    os.makedirs(static)
    db_url = None
    dbname = None
    if engine == "postgres":
        dbname = f"bench_first_view_{os.getpid()}_{build}_{plays}"
        subprocess.run(["psql", "-qAt", args.pg_url, "-c", f"CREATE DATABASE {dbname}"], check=True)
        u = urllib.parse.urlparse(args.pg_url)
        db_url = urllib.parse.urlunparse(u._replace(path="/" + dbname))
    r = {"build": build, "engine": engine, "plays": plays, "inspect_s": inspect_s}
    servers = []
    try:
        s = Server(bin, data, db_url, static, True, logdir, "ingest")
        servers.append(s)
        v = Visitor()
        v.sign_up(s.base, "bench@example.com")
        body = open(zpath, "rb").read()
        start = time.perf_counter()
        v.json(s.base, "POST", "/api/v1/uploads?name=my_spotify_data.zip", body, ctype="application/octet-stream", timeout=600)
        while True:
            ups = v.json(s.base, "GET", "/api/v1/uploads")
            states = {u["state"] for u in ups}
            if states == {"ready"}:
                break
            if "failed" in states:
                sys.exit(f"first_view.py: the upload failed: {ups}")
            # Often enough that the poll adds little to what is measured (at most 20 ms).
            time.sleep(0.02)
        r["upload_to_ready_s"] = time.perf_counter() - start
        r["ready_over_inspect"] = r["upload_to_ready_s"] / inspect_s
        rss0 = s.rss_mb()
        r["first_after_ingest_ms"], page = v.timed_get(s.base, "/dashboard")
        r["rss_before_mb"], r["rss_after_mb"] = rss0, s.rss_mb()
        with open(os.path.join(static, "floor.html"), "wb") as f:
            f.write(page)
        board = v.json(s.base, "GET", "/api/v1/dashboard")
        artist = board["tops"]["artists"][0]["name"]
        year = max(int(y) for y in re.findall(r"/dashboard/recap/(\d{4})", page.decode()))
        warm, floor = [], []
        for _ in range(args.warm_runs):
            warm.append(v.timed_get(s.base, "/dashboard")[0])
            floor.append(v.timed_get(s.base, "/static/floor.html")[0])
        r["warm_p50_ms"], r["floor_p50_ms"] = p50(warm), p50(floor)
        s.stop()
        servers.remove(s)

        views = {
            "dashboard": "/dashboard",
            "ranking": "/dashboard/ranking?kind=tracks",
            "artist": "/dashboard/artist?name=" + urllib.parse.quote(artist),
            "recap": f"/dashboard/recap/{year}",
        }

        def cold(path, label):
            times = []
            for i in range(args.restarts):
                s = Server(bin, data, db_url, static, False, logdir, f"{label}-{i}")
                servers.append(s)
                times.append(v.timed_get(s.base, path)[0])
                s.stop()
                servers.remove(s)
            return times

        for view, path in views.items():
            r[f"first_{view}_after_restart_ms"] = cold(path, view)
            log(f"  {name}: first {view} after a restart: {[round(t) for t in r[f'first_{view}_after_restart_ms']]} ms")
        if engine == "postgres":
            times = []
            for i in range(args.restarts):
                a = Server(bin, data, db_url, static, False, logdir, f"pair-a-{i}")
                b = Server(bin, data, db_url, static, False, logdir, f"pair-b-{i}")
                servers += [a, b]
                v.timed_get(a.base, "/dashboard")
                times.append(v.timed_get(b.base, "/dashboard")[0])
                for x in (a, b):
                    x.stop()
                    servers.remove(x)
            r["first_dashboard_second_process_ms"] = times

        # Builds from migration 10 on have no play rows table at all.
        contracted = sql(engine, data, db_url, args.pg_url,
                         "SELECT COUNT(*) FROM backspin_migrations WHERE name = 'contract_plays'") == "1"
        plays_rows = 0 if contracted else int(sql(engine, data, db_url, args.pg_url, "SELECT COUNT(*) FROM plays"))
        has_artifacts = sql(engine, data, db_url, args.pg_url,
                            "SELECT COUNT(*) FROM backspin_migrations WHERE name = 'artifacts'") == "1"
        if has_artifacts:
            artifact = sql(engine, data, db_url, args.pg_url, "SELECT length(bytes) || ' ' || streams FROM artifacts")
            r["artifact_bytes"], r["streams"] = (int(x) for x in artifact.split())
            r["artifact_bytes_per_stream"] = r["artifact_bytes"] / r["streams"]
        else:
            r["streams"] = plays_rows
        r["play_rows"] = plays_rows
        if engine == "sqlite":
            sql(engine, data, db_url, args.pg_url, "VACUUM")
            r["database_bytes"] = os.path.getsize(os.path.join(data, "backspin.db"))
        else:
            sql(engine, data, db_url, args.pg_url, "VACUUM FULL")
            r["database_bytes"] = int(sql(engine, data, db_url, args.pg_url, "SELECT pg_database_size(current_database())"))
        r["database_bytes_per_stream"] = r["database_bytes"] / r["streams"]
    finally:
        for s in servers:
            s.stop()
        if dbname:
            subprocess.run(["psql", "-qAt", args.pg_url, "-c", f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"])
        shutil.rmtree(data, ignore_errors=True)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--baseline-bin", help="an earlier build, measured the same way in the same run")
    ap.add_argument("--plays", type=int, action="append")
    ap.add_argument("--engine", action="append", choices=["sqlite", "postgres"])
    ap.add_argument("--restarts", type=int, default=5)
    ap.add_argument("--warm-runs", type=int, default=30)
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--cache", default="target/bench-data")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    args.plays = args.plays or [300_000, 1_000_000]
    args.engine = args.engine or ["sqlite", "postgres"]
    os.makedirs(args.cache, exist_ok=True)
    out = args.out or os.path.join(args.cache, "first-view-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    os.makedirs(out, exist_ok=True)
    results = []
    for plays in args.plays:
        zpath = export(args.bin, plays, args.cache)
        inspect_s = inspect_seconds(args.bin, zpath)
        log(f"{plays} plays: {os.path.getsize(zpath) / 1e6:.1f} MB zip, inspect {inspect_s:.2f} s")
        for engine in args.engine:
            builds = [("new", args.bin)] + ([("baseline", args.baseline_bin)] if args.baseline_bin else [])
            for build, bin in builds:
                results.append(run_one(args, bin, build, engine, plays, zpath, inspect_s, out))
                with open(os.path.join(out, "results.json"), "w") as f:
                    json.dump(results, f, indent=1)
    def ms(key):
        return lambda r: f"{p50(r[key]):.0f}" if key in r else "-"

    rows = [
        ("upload -> ready (s)", lambda r: f"{r['upload_to_ready_s']:.2f}"),
        ("  / inspect on the same zip", lambda r: f"{r['ready_over_inspect']:.2f}x ({r['inspect_s']:.2f} s)"),
        ("first /dashboard right after ingest (ms)", lambda r: f"{r['first_after_ingest_ms']:.0f}"),
        ("first /dashboard after a restart, p50 (ms)", ms("first_dashboard_after_restart_ms")),
        ("first /dashboard from a 2nd process, p50 (ms)", ms("first_dashboard_second_process_ms")),
        ("first ranking, p50 (ms)", ms("first_ranking_after_restart_ms")),
        ("first artist page, p50 (ms)", ms("first_artist_after_restart_ms")),
        ("first recap, p50 (ms)", ms("first_recap_after_restart_ms")),
        ("warm /dashboard p50 (ms)", lambda r: f"{r['warm_p50_ms']:.2f}"),
        ("  static floor p50 (ms)", lambda r: f"{r['floor_p50_ms']:.2f}"),
        ("RSS before -> after the first view (MB)", lambda r: f"{r['rss_before_mb']:.0f} -> {r['rss_after_mb']:.0f}"),
        ("artifact bytes per stream", lambda r: f"{r['artifact_bytes_per_stream']:.1f}" if "artifact_bytes_per_stream" in r else "-"),
        ("play rows stored", lambda r: f"{r['play_rows']:,}"),
        ("database bytes per stream", lambda r: f"{r['database_bytes_per_stream']:.0f}"),
    ]
    head = "| what | " + " | ".join(f"{r['build']} {r['engine']} {r['plays']:,}" for r in results) + " |"
    print(head)
    print("|---|" + "---|" * len(results))
    for label, f in rows:
        print(f"| {label} | " + " | ".join(f(r) for r in results) + " |")
    pairs = [(a, b) for a in results for b in results
             if a["build"] == "new" and b["build"] == "baseline" and (a["engine"], a["plays"]) == (b["engine"], b["plays"])]
    if pairs:
        print("\nbaseline / new, same run:")
        for a, b in pairs:
            def ratio(key):
                return p50(b[key]) / p50(a[key]) if key in a and key in b else float("nan")
            print(f"  {a['engine']} {a['plays']:,}: first dashboard after restart {ratio('first_dashboard_after_restart_ms'):.1f}x, "
                  f"ranking {ratio('first_ranking_after_restart_ms'):.1f}x, artist {ratio('first_artist_after_restart_ms'):.1f}x, "
                  f"recap {ratio('first_recap_after_restart_ms'):.1f}x, upload->ready {b['upload_to_ready_s'] / a['upload_to_ready_s']:.2f}x, "
                  f"bytes per stream {b['database_bytes_per_stream'] / a['database_bytes_per_stream']:.0f}x")
    print(f"\nresults in {out}/results.json")


if __name__ == "__main__":
    main()
