#!/usr/bin/env bash
# Dashboard speed (BENCHMARKS.md, issue 5), each beside its floor in the same run:
#
# - a library of the generated 300,000-play lifetime (`backspin generate --plays 300000`), its
#   JSON files uploaded one by one (so "one upload" and "all uploads merged" differ), ingested
#   by a release `backspin serve`;
# - time to first byte of the dashboard for all uploads merged, for one upload, and for a
#   one-month range (bench/ttfb.py, one keep-alive connection, 200 requests each after a
#   warm-up), beside the same server returning a static file of the same size (the dashboard's
#   own HTML copied into `--static-dir`): the floor;
# - under load (wrk, 2 threads, 32 connections, 15 s): requests/s and p99 for the dashboard
#   against the static file;
# - page weight: the dashboard with its stylesheet and script, gzip-compressed as served.
#
#   bench/dashboard.sh            (RUNS=200 requests per URL for the TTFB part)
#
# Installs wrk (Debian) when missing. Results and logs in target/bench-data/dashboard-<date>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

runs="${RUNS:-200}"
cache="$root/target/bench-data"
bin="${CARGO_TARGET_DIR:-$root/target}/release/backspin"
out="$cache/dashboard-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
exec > >(tee "$out/run.log") 2>&1
step() { printf '\n==> %s\n' "$*"; }

step "tools"
if ! command -v wrk >/dev/null; then
  command -v apt-get >/dev/null || { echo "dashboard.sh: wrk is missing and apt-get is not available" >&2; exit 1; }
  apt-get install -y -qq wrk
fi
wrk --version 2>&1 | head -1 || true

step "build (release)"
cargo build --release -p backspin

step "export"
export_dir="$cache/synth-300000-seed-1"
if [ ! -f "$export_dir/expected.json" ]; then
  rm -rf "$export_dir.tmp"
  "$bin" generate --plays 300000 --seed 1 --out "$export_dir.tmp"
  mv "$export_dir.tmp" "$export_dir"
fi
mapfile -t files < <(find "$export_dir" -name '*.json' ! -name expected.json | sort)
echo "${#files[@]} files, $(du -sh "$export_dir" | cut -f1)"

step "machine"
lscpu | grep -E '^(Model name|CPU\(s\))' || true
echo "kernel $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC'); load average: $(cut -d' ' -f1-3 /proc/loadavg)"

step "server and library"
data="$(mktemp -d "$cache/dash-data.XXXXXX")"
static="$data/static"
mkdir -p "$static"
"$bin" serve --bind 127.0.0.1:0 --data-dir "$data" --static-dir "$static" >"$out/serve.out" 2>"$out/serve.err" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  grep -q "running at" "$out/serve.out" 2>/dev/null && break
  sleep 0.1
done
base="$(sed -n 's/.*running at \(http:[^ ]*\)\/ .*/\1/p' "$out/serve.out")"
[ -n "$base" ] || { cat "$out/serve.err"; echo "dashboard.sh: the server did not start" >&2; exit 1; }
jar="$out/cookies"
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
token="$(curl -sf -c "$jar" -b "$jar" "$base/api/v1/session" | field 'd["csrf_token"]')"
token="$(curl -sf -c "$jar" -b "$jar" -H "X-CSRF-Token: $token" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery"}' "$base/api/v1/signup" | field 'd["csrf_token"]')"
start=$(date +%s.%N)
for f in "${files[@]}"; do
  name="$(basename "$f")"
  curl -sf -o /dev/null -b "$jar" -H "X-CSRF-Token: $token" -H 'Content-Type: application/octet-stream' \
    -X POST -T "$f" "$base/api/v1/uploads?name=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$name")"
done
while :; do
  states="$(curl -sf -b "$jar" "$base/api/v1/uploads" | field '" ".join(sorted(set(u["state"] for u in d)))')"
  [ "$states" = "ready" ] && break
  case "$states" in *failed*) echo "an upload failed" >&2; exit 1 ;; esac
  sleep 1
done
echo "${#files[@]} uploads ready in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
one="$(curl -sf -b "$jar" "$base/api/v1/uploads" | field 'max(d, key=lambda u: u["size_bytes"])["id"]')"
month="$(curl -sf -b "$jar" "$base/api/v1/uploads" | field 'sorted(u["summary"]["last_ts"] for u in d)[len(d)//2][:7]')"
cookie="bs_session=$(awk '$6 == "bs_session" { print $7 }' "$jar")"
all_url="/dashboard"
one_url="/dashboard?u=$one"
month_url="/dashboard?range=custom&from=$month-01&to=$month-28"
curl -sf -H "Cookie: $cookie" "$base$all_url" -o "$static/floor.html"
echo "dashboard: $(stat -c %s "$static/floor.html") bytes; one upload: $one; month: $month"

step "time to first byte: $runs requests per URL, interleaved, one keep-alive connection"
python3 bench/ttfb.py --base "$base" --cookie "$cookie" --runs "$runs" --json "$out/ttfb.json" \
  "floor=/static/floor.html" "all=$all_url" "one=$one_url" "month=$month_url"

step "under load: wrk -t2 -c32 -d15s"
for target in "floor=/static/floor.html" "dashboard=$all_url"; do
  name="${target%%=*}"; path="${target#*=}"
  wrk -t2 -c32 -d15s --latency -H "Cookie: $cookie" "$base$path" | tee "$out/wrk-$name.txt"
done
python3 - "$out" <<'EOF'
import re, sys
out = sys.argv[1]
def read(name):
    t = open(f"{out}/wrk-{name}.txt").read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", t)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    return rps, p99, int(errors.group(1)) if errors else 0
f, d = read("floor"), read("dashboard")
print(f"floor      {f[0]:>9.0f} req/s  p99 {f[1]:.2f} ms  non-2xx {f[2]}")
print(f"dashboard  {d[0]:>9.0f} req/s  p99 {d[1]:.2f} ms  non-2xx {d[2]}")
print(f"dashboard / floor: {d[0] / f[0]:.2f}x the requests/s, {d[1] / f[1]:.2f}x the p99")
EOF

step "page weight (gzip, as served)"
total=0
for path in "$all_url" $(grep -o '/static/app\.[a-z]*?v=[0-9a-f]*' "$static/floor.html" | sort -u); do
  size="$(curl -sf --compressed -H "Cookie: $cookie" -o /dev/null -w '%{size_download}' "$base$path")"
  echo "$path: $size bytes compressed"
  total=$((total + size))
done
echo "page weight: $total bytes compressed"
echo "results in $out"
