#!/usr/bin/env python3
"""What the failure drill's steps share (scripts/drill.py and the steps in drill_*.py): the
cluster of processes, the load of virtual users, the database's tools, small histories and
the waits. Standard library only."""

import functools
import http.client
import http.cookiejar
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

PASSWORD = "drill-passphrase-not-common-42"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, check, timeout=60.0, every=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as e:  # noqa: BLE001 - not up yet
            last = e
        time.sleep(every)
    raise SystemExit(f"drill: {what} did not happen within {timeout:.0f} s (last error: {last!r})")


def http_status(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


# ------------------------------------------------------------------------------------------
# Exports to upload


def stream(ts, ms, artist, title):
    return {
        "ts": ts,
        "platform": "android",
        "ms_played": ms,
        "conn_country": "DE",
        "master_metadata_track_name": title,
        "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": f"{artist} album",
        "spotify_track_uri": None,
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "offline_timestamp": 0,
        "incognito_mode": False,
    }


def small_history(user, n=40):
    """A history of `n` streams of three minutes, different for every user."""
    rng = random.Random(user)
    out = []
    for i in range(n):
        day, hour = 1 + i % 28, i % 24
        out.append(
            stream(
                f"2024-0{1 + i % 9}-{day:02d}T{hour:02d}:{rng.randrange(60):02d}:00Z",
                180_000,
                f"Artist {rng.randrange(12)}",
                f"Song {rng.randrange(40)}",
            )
        )
    return json.dumps(out).encode()


# ------------------------------------------------------------------------------------------
# A browser


class FromAddress(urllib.request.HTTPHandler):
    """Connections from one loopback address: each virtual user is a visitor of its own to
    the per-address limits (HAProxy's X-Forwarded-For hop names it)."""

    def __init__(self, ip):
        super().__init__()
        self.ip = ip

    def http_open(self, req):
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=(self.ip, 0)), req)


class Browser:
    def __init__(self, base, ip):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            FromAddress(ip), urllib.request.HTTPCookieProcessor(self.jar)
        )
        self.csrf = None

    def request(self, method, path, body=None, headers=None, timeout=30.0):
        h = dict(headers or {})
        if method != "GET" and self.csrf:
            h["X-CSRF-Token"] = self.csrf
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=h)
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def json(self, method, path, value):
        return self.request(
            method, path, json.dumps(value).encode(), {"Content-Type": "application/json"}
        )

    def refresh_csrf(self):
        status, body = self.request("GET", "/api/v1/session")
        if status == 200:
            self.csrf = json.loads(body)["csrf_token"]
        return status


# ------------------------------------------------------------------------------------------
# The cluster


class Cluster:
    def __init__(self, binary, database_url, work):
        self.binary, self.database_url, self.work = binary, database_url, work
        self.data = os.path.join(work, "data")
        os.makedirs(self.data, exist_ok=True)
        self.secret = "drill-" + "x" * 40
        self.web_ports = [free_port(), free_port()]
        self.lb_port, self.stats_port = free_port(), free_port()
        self.procs = {}

    def log(self, name):
        return open(os.path.join(self.work, f"{name}.log"), "ab")

    def start_web(self, i, wait=True):
        name = f"web{i + 1}"
        args = [
            self.binary, "serve", "--no-workers",
            "--bind", f"127.0.0.1:{self.web_ports[i]}",
            "--database-url", self.database_url,
            "--data-dir", self.data,
            "--secret", self.secret,
            "--drain-secs", "2",
            "--trust-forwarded-for",
            # Users re-upload in a loop: more than the hourly upload limit of one address or
            # account allows (the limits themselves are tested elsewhere).
            "--uploads-per-address", "10000",
            "--mib-per-address", "100000",
        ]
        self.procs[name] = subprocess.Popen(args, stdout=self.log(name), stderr=subprocess.STDOUT)
        if wait:
            wait_until(f"{name} ready", lambda: http_status(f"http://127.0.0.1:{self.web_ports[i]}/readyz") == 200)

    def start_worker(self, i, extra=(), name=None):
        name = name or f"worker{i + 1}"
        args = [self.binary, "worker", "--database-url", self.database_url, "--data-dir", self.data, *extra]
        self.procs[name] = subprocess.Popen(args, stdout=self.log(name), stderr=subprocess.STDOUT)

    def start_haproxy(self, haproxy):
        cfg = os.path.join(self.work, "haproxy.cfg")
        servers = "\n".join(
            f"    server web{i + 1} 127.0.0.1:{p} check inter 500ms fall 3 rise 2"
            for i, p in enumerate(self.web_ports)
        )
        with open(cfg, "w") as f:
            f.write(f"""global
    maxconn 512
    # A request is retried on the other process only when HAProxy holds all of it: room for
    # the users' uploads (about 20 KB; the default buffer is 16 KB).
    tune.bufsize 65536
defaults
    mode http
    # Read the body before connecting, so that a POST whose connection the draining process
    # closed can be sent again (a 502 in a rolling restart, once, without it).
    option http-buffer-request
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # A check may take longer than its interval on a busy machine: a slow answer is not a
    # dead process (without this, HAProxy gives a check only `inter` to answer).
    timeout check 3s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    option forwardfor
frontend drill
    bind 127.0.0.1:{self.lb_port}
    default_backend web
backend web
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
{servers}
listen stats
    bind 127.0.0.1:{self.stats_port}
    stats enable
    stats uri /stats
""")
        self.procs["haproxy"] = subprocess.Popen(
            [haproxy, "-f", cfg, "-db"], stdout=self.log("haproxy"), stderr=subprocess.STDOUT
        )
        wait_until("HAProxy sees both web processes up", lambda: self.servers_up() == {"web1", "web2"})

    def servers_up(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=2) as r:
            rows = r.read().decode().splitlines()
        head = rows[0].lstrip("# ").split(",")
        up = set()
        for line in rows[1:]:
            row = dict(zip(head, line.split(",")))
            if row.get("pxname") == "web" and row.get("svname", "").startswith("web") and row.get("status", "").startswith("UP"):
                up.add(row["svname"])
        return up

    def kill(self, name, sig=signal.SIGKILL):
        p = self.procs[name]
        p.send_signal(sig)
        # SIGTERM lets a worker finish the message in hand: the big upload's ingest, its
        # finished views and its scrubbing take minutes in a debug build on a loaded machine.
        p.wait(timeout=60 if sig == signal.SIGKILL else 300)

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()


class Pg:
    """psql and pg_dump against the drill's PostgreSQL server."""

    def __init__(self, bin_dir, url):
        self.bin, self.url = bin_dir, url

    def at(self, database):
        """The server's URL with another database."""
        return self.url.rsplit("/", 1)[0] + "/" + database

    def query(self, sql, database=None):
        """Rows of `sql` (fields split on |)."""
        out = subprocess.run(
            [os.path.join(self.bin, "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
             "-d", database or self.url, "-c", sql],
            check=True, capture_output=True, text=True,
        ).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def states(self, ids):
        """`{upload id: state}` of the uploads that have a row."""
        found = {}
        ids = list(ids)
        for i in range(0, len(ids), 500):
            listed = ",".join(f"'{u}'" for u in ids[i:i + 500])
            for row in self.query(f"SELECT id, state FROM uploads WHERE id IN ({listed})"):
                found[row[0]] = row[1]
        return found


def wait_ready(pg, ids, what, timeout, vanish_ok=False):
    """Waits until every upload in `ids` is ready (failing the drill on a failed one, or on
    one that has no row, unless `vanish_ok`: its owner deleted it); returns the time each
    became ready, as seen by polling."""
    ids = set(ids)
    ready_at = {}
    deadline = time.monotonic() + timeout
    while len(ready_at) < len(ids):
        waiting = ids - set(ready_at)
        states = pg.states(waiting)
        now = time.monotonic()
        for u in waiting - set(states):
            if not vanish_ok:
                raise SystemExit(f"drill: {what}: upload {u} has no row")
            ready_at[u] = None
        for u, st in states.items():
            if st == "ready":
                ready_at[u] = now
            elif st == "failed":
                raise SystemExit(f"drill: {what}: upload {u} failed")
        if now > deadline:
            raise SystemExit(f"drill: {what}: {len(ids) - len(ready_at)} of {len(ids)} not ready within {timeout:.0f} s")
        time.sleep(0.25)
    return ready_at


def send_small(base, ip, key, browser=None):
    """One small history (`small_history(key)`, 40 plays) uploaded from `ip`, as an anonymous
    visitor unless `browser` is given; returns (browser, upload id)."""
    b = browser or Browser(base, ip)
    if browser is None:
        b.refresh_csrf()
    status, data = b.request(
        "POST", f"/api/v1/uploads?name={key}.json", small_history(key),
        {"Content-Type": "application/octet-stream"}, timeout=120,
    )
    if status != 202:
        raise SystemExit(f"drill: upload {key} was refused: {status} {data[:300]!r}")
    return b, json.loads(data)["upload"]["id"]


def in_parallel(fn, items, threads=16):
    """`fn` over `items` on a few threads; results in order (the first error raised)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as ex:
        return list(ex.map(fn, items))


# ------------------------------------------------------------------------------------------
# The load


class Load:
    """Virtual users making requests through the load balancer; every answer is recorded
    under the step in progress."""

    def __init__(self, base, users):
        self.base, self.users = base, users
        self.step = "warm-up"
        self.stop = threading.Event()
        # Set while a step measures the workers alone: users keep reading but neither delete
        # nor upload.
        self.no_uploads = threading.Event()
        self.lock = threading.Lock()
        self.records = []  # (step, what, ok, detail)
        self.threads = []

    def record(self, what, ok, detail="", seconds=0.0, status=None):
        with self.lock:
            self.records.append((self.step, what, ok, detail, seconds, status))

    def call(self, b, what, method, path, body=None, headers=None, expect=(200,)):
        started = time.monotonic()
        try:
            status, data = b.request(method, path, body, headers)
        except Exception as e:  # noqa: BLE001 - a failed request is what is counted
            self.record(what, False, f"{method} {path}: {e}", time.monotonic() - started)
            return None, None
        ok = status in expect
        detail = "" if ok else f"{method} {path}: {status} {data[:200]!r}"
        self.record(what, ok, detail, time.monotonic() - started, status)
        return status, data

    def user(self, n):
        b = Browser(self.base, f"127.0.1.{n + 1}")
        b.refresh_csrf()
        status, _ = self.call(
            b, "sign-up", "POST", "/api/v1/signup",
            json.dumps({"email": f"drill{n}@example.com", "password": PASSWORD}).encode(),
            {"Content-Type": "application/json"}, expect=(201,),
        )
        b.refresh_csrf()
        upload = None
        rng = random.Random(n)
        while not self.stop.is_set():
            if upload is None and not self.no_uploads.is_set():
                status, data = self.call(
                    b, "upload", "POST", f"/api/v1/uploads?name=drill{n}.json",
                    small_history(f"{n}-{rng.random()}"), {"Content-Type": "application/octet-stream"},
                    expect=(202,),
                )
                if status == 202:
                    upload = json.loads(data)["upload"]["id"]
                continue
            choice = rng.random()
            if upload is None or (choice >= 0.95 and self.no_uploads.is_set()):
                choice = rng.random() * 0.4
            if choice < 0.4:
                self.call(b, "dashboard", "GET", "/dashboard")
            elif choice < 0.7:
                self.call(b, "dashboard-api", "GET", "/api/v1/dashboard")
            elif choice < 0.9:
                self.call(b, "upload-status", "GET", f"/api/v1/uploads/{upload}")
            elif choice < 0.95:
                self.call(b, "ranking", "GET", "/dashboard/ranking")
            else:
                status, _ = self.call(
                    b, "delete", "DELETE", f"/api/v1/uploads/{upload}", expect=(200, 202, 204)
                )
                if status in (200, 202, 204):
                    upload = None
            time.sleep(0.1)

    def start(self):
        for n in range(self.users):
            t = threading.Thread(target=self.user, args=(n,), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def failures(self, step):
        return [r for r in self.records if r[0] == step and not r[2]]

    def count(self, step):
        return sum(1 for r in self.records if r[0] == step)


# ------------------------------------------------------------------------------------------
# The steps




def send_export(b, zipped, what):
    """Uploads a zipped export as `b`; returns a function that reads the upload's state."""
    status, data = b.request(
        "POST", "/api/v1/uploads?name=my_spotify_data.zip", zipped,
        {"Content-Type": "application/octet-stream"}, timeout=120,
    )
    if status != 202:
        raise SystemExit(f"drill: {what} was refused: {status} {data[:300]!r}")
    upload = json.loads(data)["upload"]["id"]

    def state():
        s, body = b.request("GET", f"/api/v1/uploads/{upload}")
        return json.loads(body) if s == 200 else {}

    return state


def uploads_of(b):
    s, body = b.request("GET", "/api/v1/uploads")
    return json.loads(body) if s == 200 else []


def signed_up(base, ip, email):
    b = Browser(base, ip)
    b.refresh_csrf()
    b.json("POST", "/api/v1/signup", {"email": email, "password": PASSWORD})
    b.refresh_csrf()
    return b


def generated(binary, work, name, plays, seed):
    """A generated export: its zip's bytes and the plays it must give."""
    out = os.path.join(work, name)
    subprocess.run(
        [binary, "generate", "--plays", str(plays), "--seed", str(seed), "--zip", "--out", out],
        check=True, stdout=subprocess.DEVNULL,
    )
    facts = json.load(open(os.path.join(out, "expected.json")))
    return open(os.path.join(out, "my_spotify_data.zip"), "rb").read(), facts["plays_at_least_30s"]
