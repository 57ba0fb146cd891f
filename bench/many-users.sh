#!/usr/bin/env bash
# Many users (issue 20): a library of N users of P plays each on PostgreSQL, requests spread at
# random over all of them at 32 connections, against the static floor. Target: p99 ≤ 250 ms and
# server RSS ≤ 1 GB.
#
#   bench/many-users.sh                                  # 1000 users × 100,000 plays
#   bench/many-users.sh --users 50 --plays 20000 --duration 10s
#
# 1. `bench seed-users` fills a fresh database (created here, dropped at the end) without N
#    real ingests: one generated export, parsed and deduplicated once, its artifact stored for
#    every user with a ready upload, a session and the finished default views
#    (`web::dashboards::precompute::precompute`); it prints the seeding time.
# 2. For each case a freshly started release `backspin serve --no-workers` on that database,
#    loaded by wrk (2 threads, 32 connections, 30 s, `--latency`; bench/many-users.lua sends
#    the session cookie of a random user on each request):
#    - floor: a static file of the same size as a dashboard page (`--static-dir`);
#    - dashboard: `GET /dashboard`, the default view, read from the stored finished views;
#    - year: `GET /dashboard?range=year`, a range preset, finished by the worker too;
#    - custom: `GET /dashboard?from=2019-01-01&to=2019-06-30`, not precomputed: a user's first
#      request prepares the range from their artifact (the segments of those days only, since
#      format 2) into the in-process cache (`--dash-cache-mib`), which holds only some, at most
#      one preparation per core at once.
#    Requests/s, p50, p99 and the server's peak RSS (VmHWM; VmRSS sampled every 0.2 s) per
#    case, and p99 over the floor's p99.
#
# Options: --users N --plays P --duration 30s --connections 32 --threads 2 --dash-cache-mib 512
# --timeout 60s (wrk's per-request timeout: a slower request counts as an error, not a
# latency). PostgreSQL: BENCH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
# Results and logs in target/bench-data/many-users-<date>/ (results.md, results.json).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/backspin/target}"

users=1000 plays=100000 duration=30s connections=32 threads=2 cache_mib=512 timeout=60s
while [ $# -gt 0 ]; do
  case "$1" in
    --users) users="$2"; shift 2 ;;
    --plays) plays="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --dash-cache-mib) cache_mib="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    *) echo "many-users.sh: unknown option $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
done

pg="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cache="$root/target/bench-data"
out="$cache/many-users-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
exec > >(tee "$out/run.log") 2>&1
step() { printf '\n==> %s\n' "$*"; }

step "tools"
if ! command -v wrk >/dev/null; then
  command -v apt-get >/dev/null || { echo "many-users.sh: wrk is missing and apt-get is not available" >&2; exit 1; }
  apt-get install -y -qq wrk
fi
command -v psql >/dev/null || { echo "many-users.sh: psql is missing" >&2; exit 1; }

step "build (release)"
cargo build --release -p backspin -p bench
bin="$CARGO_TARGET_DIR/release/backspin"
bench="$CARGO_TARGET_DIR/release/bench"

step "machine"
{
  lscpu | grep -E '^(Model name|CPU\(s\))' || true
  echo "nproc $(nproc); kernel $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC')"
  free -g
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "PostgreSQL: $(psql -qAt "$pg" -c 'SHOW server_version') (shared_buffers $(psql -qAt "$pg" -c 'SHOW shared_buffers'))"
} | tee "$out/machine.txt"

dbname="bench_many_users_$$"
db_url="${pg%/*}/$dbname"
data="$(mktemp -d "$cache/many-users-data.XXXXXX")"
static="$data/static"
mkdir -p "$static"
server=""
sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  psql -qAt "$pg" -c "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
psql -qAt "$pg" -c "CREATE DATABASE $dbname"

step "seed: $users users × $plays plays"
"$bench" seed-users --database-url "$db_url" --users "$users" --plays "$plays" --out "$out/tokens.txt" \
  | tee "$out/seed.txt"
psql -qAt "$db_url" -c "SELECT 'database ' || pg_size_pretty(pg_database_size(current_database())) || ', ' || (SELECT COUNT(*) FROM users) || ' users, ' || (SELECT COUNT(*) FROM views) || ' views'"

# Starts a fresh server (nothing in memory) and sets $server and $base.
start_server() {
  local name="$1"
  "$bin" serve --no-workers --bind 127.0.0.1:0 --data-dir "$data" --database-url "$db_url" \
    --static-dir "$static" --dash-cache-mib "$cache_mib" >"$out/serve-$name.out" 2>"$out/serve-$name.err" &
  server=$!
  base=""
  for _ in $(seq 1 300); do
    base="$(sed -n 's/.*running at \(http:[^ ]*\)\/ .*/\1/p' "$out/serve-$name.out" 2>/dev/null)"
    [ -n "$base" ] && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  cat "$out/serve-$name.err" >&2
  echo "many-users.sh: the server did not start" >&2
  exit 1
}

stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

step "the floor's file: a dashboard page"
start_server page
token="$(head -1 "$out/tokens.txt")"
curl -sf -H "Cookie: bs_session=$token" "$base/dashboard" -o "$static/floor.html"
curl -sf -o /dev/null -H "Cookie: bs_session=$token" "$base/dashboard?range=year" -w "year page: %{size_download} bytes\n"
echo "dashboard page: $(stat -c %s "$static/floor.html") bytes"
stop_server

# One case: a fresh server, wrk on `path`, the server's memory sampled throughout.
run_case() {
  local name="$1" path="$2"
  step "$name: GET $path, wrk -t$threads -c$connections -d$duration, a random user per request"
  start_server "$name"
  echo "RSS at start: $(status_kb "$server" VmRSS) kB"
  (while kill -0 "$server" 2>/dev/null; do status_kb "$server" VmRSS; sleep 0.2; done) >"$out/rss-$name.txt" 2>/dev/null &
  sampler=$!
  wrk -t"$threads" -c"$connections" -d"$duration" --timeout "$timeout" --latency \
    -s bench/many-users.lua "$base" -- "$out/tokens.txt" "$path" | tee "$out/wrk-$name.txt"
  echo "VmHWM $(status_kb "$server" VmHWM) kB; VmRSS at the end $(status_kb "$server" VmRSS) kB" | tee "$out/hwm-$name.txt"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  sampler=""
  echo "dashboards prepared: $(grep -c 'dashboard prepared' "$out/serve-$name.err" || true)" | tee -a "$out/hwm-$name.txt"
  stop_server
}

run_case floor /static/floor.html
run_case dashboard /dashboard
run_case year "/dashboard?range=year"
run_case custom "/dashboard?from=2019-01-01&to=2019-06-30"

step "results"
python3 - "$out" "$users" "$plays" "$connections" "$duration" "$cache_mib" <<'EOF'
import json, re, sys
out, users, plays, conns, duration, cache_mib = sys.argv[1:]
unit = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}

def ms(text, label):
    m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    return float(m.group(1)) * unit[m.group(2)] if m else float("nan")

def case(name):
    t = open(f"{out}/wrk-{name}.txt").read()
    hwm = open(f"{out}/hwm-{name}.txt").read()
    samples = [int(x) for x in open(f"{out}/rss-{name}.txt").read().split() if x.isdigit()]
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    return {
        "case": name,
        "requests": int(re.search(r"(\d+) requests in", t).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)),
        "p50_ms": ms(t, "50%"),
        "p99_ms": ms(t, "99%"),
        "peak_rss_mb": int(re.search(r"VmHWM (\d+)", hwm).group(1)) / 1024,
        "sampled_max_rss_mb": max(samples, default=0) / 1024,
        "prepared": int(re.search(r"dashboards prepared: (\d+)", hwm).group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
    }

rows = [case(n) for n in ("floor", "dashboard", "year", "custom")]
floor = rows[0]
for r in rows:
    r["p99_over_floor"] = r["p99_ms"] / floor["p99_ms"]
labels = {
    "floor": "static file, the floor",
    "dashboard": "`/dashboard` (finished views)",
    "year": "`/dashboard?range=year` (finished views)",
    "custom": "`/dashboard?from=2019-01-01&to=2019-06-30` (prepared on demand)",
}
lines = [
    f"{users} users × {plays} plays, {conns} connections, {duration} per case, --dash-cache-mib {cache_mib}",
    "",
    "| GET | requests/s | p50 | p99 | p99 / floor | peak RSS | prepared | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
]
for r in rows:
    lines.append(
        f"| {labels[r['case']]} | {r['rps']:,.0f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | "
        f"{r['p99_over_floor']:.1f}× | {r['peak_rss_mb']:,.0f} MB | {r['prepared']} | "
        f"{r['non_2xx'] + r['socket_errors']} |"
    )
lines.append("")
for r in rows[1:]:
    ok = lambda b: "met" if b else "NOT met"
    lines.append(
        f"- {r['case']}: p99 ≤ 250 ms {ok(r['p99_ms'] <= 250)} ({r['p99_ms']:.0f} ms); "
        f"RSS ≤ 1 GB {ok(r['peak_rss_mb'] <= 1024)} ({r['peak_rss_mb']:,.0f} MB)"
    )
text = "\n".join(lines)
print(text)
open(f"{out}/results.md", "w").write(text + "\n")
json.dump(rows, open(f"{out}/results.json", "w"), indent=1)
EOF
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results in $out"
