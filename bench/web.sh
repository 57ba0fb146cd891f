#!/usr/bin/env bash
# The web tier's benchmarks (BENCHMARKS.md, issue 4), each beside its floor in the same run:
#
# 1. Upload throughput: a 250 MB my_spotify_data.zip (the generated 300,000-play lifetime,
#    stored uncompressed) sent with curl to `POST /api/v1/uploads` of a release `backspin
#    serve --no-workers` on loopback (so that ingestion does not compete), against `cp` of the
#    same file into the same data folder (the floor), and `cp` + fsync (the store fsyncs each
#    object before it is visible).
# 2. Sign-in latency: sequential `POST /api/v1/signin` over one keep-alive curl process,
#    against `GET /healthz` the same way (the floor: the HTTP round trip and the middleware).
#    argon2id with the server's parameters dominates.
#
#   bench/web.sh              RUNS=5 rounds by default
#
# Results and logs go to target/bench-data/web-<date>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

runs="${RUNS:-5}"
signins="${SIGNINS:-20}"
cache="$root/target/bench-data"
bin="${CARGO_TARGET_DIR:-$root/target}/release/backspin"
out="$cache/web-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
exec > >(tee "$out/run.log") 2>&1
step() { printf '\n==> %s\n' "$*"; }

step "build (release)"
cargo build --release -p backspin

step "the 250 MB zip"
export_dir="$cache/plays-300000-seed-1"
zip="$cache/lifetime-300000-stored.zip"
if [ ! -f "$zip" ]; then
  if [ ! -f "$export_dir/expected.json" ]; then
    rm -rf "$export_dir.tmp"
    python3 tools/gen_history.py --plays 300000 --seed 1 --out "$export_dir.tmp"
    mv "$export_dir.tmp" "$export_dir"
  fi
  python3 - "$export_dir" "$zip.tmp" <<'EOF'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
    for dirpath, _, files in os.walk(src):
        for f in sorted(files):
            if f.endswith(".json") and f != "expected.json":
                full = os.path.join(dirpath, f)
                z.write(full, os.path.join("Spotify Extended Streaming History", f))
EOF
  mv "$zip.tmp" "$zip"
fi
ls -l "$zip"

step "machine"
lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core)' || true
echo "kernel $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC'); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
df -h "$cache" | tail -1

step "server"
data="$(mktemp -d "$cache/web-data.XXXXXX")"
"$bin" serve --no-workers --trust-forwarded-for --bind 127.0.0.1:0 --data-dir "$data" \
  --max-upload-mib 1024 >"$out/serve.out" 2>"$out/serve.err" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  grep -q "running at" "$out/serve.out" 2>/dev/null && break
  sleep 0.1
done
base="$(sed -n 's/.*running at \(http:[^ ]*\)\/ .*/\1/p' "$out/serve.out")"
[ -n "$base" ] || { cat "$out/serve.err"; echo "web.sh: the server did not start" >&2; exit 1; }
echo "server at $base"

jar="$out/cookies"
csrf() { curl -sf -c "$jar" -b "$jar" "$base/api/v1/session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])'; }
token="$(csrf)"
curl -sf -c "$jar" -b "$jar" -H "X-CSRF-Token: $token" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery"}' "$base/api/v1/signup" >/dev/null
token="$(csrf)"

step "upload throughput: $(stat -c %s "$zip") bytes, $runs rounds"
upload="curl -sf -o /dev/null -b '$jar' -H 'X-CSRF-Token: $token' -H 'Content-Type: application/octet-stream' -X POST -T '$zip' '$base/api/v1/uploads?name=my_spotify_data.zip'"
python3 bench/timing.py --runs "$runs" --warmup 1 --json "$out/upload.json" \
  "cp=cp '$zip' '$data/floor-copy' && rm '$data/floor-copy'" \
  "cp+fsync=cp '$zip' '$data/floor-copy' && sync '$data/floor-copy' && rm '$data/floor-copy'" \
  "upload=$upload"
uploads="$(curl -sf -b "$jar" "$base/api/v1/uploads" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
echo "uploads stored: $uploads (1 warm-up + $runs rounds)"

step "sign-in latency: $signins sequential requests per command, $runs rounds"
# One curl process, keep-alive, $signins requests; each from its own X-Forwarded-For address
# so that the per-address limit (30 per 15 minutes) does not refuse the benchmark.
python3 - "$base" "$signins" "$out/signin.sh" <<'EOF'
import sys
base, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("#!/usr/bin/env bash\nset -e\nkind=$1; run=$RANDOM$RANDOM\nargs=()\n")
    f.write(f'for i in $(seq 1 {n}); do\n')
    f.write('  if [ "$kind" = signin ]; then\n')
    f.write(f'    args+=(--next -s -o /dev/null -w "%{{http_code}}\\n" -H "X-Forwarded-For: 10.$((run % 250)).$((i / 250)).$((i % 250))" -H "X-CSRF-Token: $TOKEN" -H "Cookie: bs_session=$COOKIE" -H "Content-Type: application/json" -d "{{\\"email\\":\\"bench@example.com\\",\\"password\\":\\"correct horse battery\\"}}" {base}/api/v1/signin)\n')
    f.write('  else\n')
    f.write(f'    args+=(--next -s -o /dev/null -w "%{{http_code}}\\n" {base}/healthz)\n')
    f.write('  fi\ndone\n')
    f.write('codes=$(curl "${args[@]}")\n')
    f.write('bad=$(echo "$codes" | grep -vc "^200$" || true)\n')
    f.write('[ "$bad" = 0 ] || { echo "$codes" | sort | uniq -c >&2; exit 1; }\n')
EOF
chmod +x "$out/signin.sh"
# Each sign-in answers with a new session cookie. Every request sends the same pre-session
# cookie (as a header: curl's cookie engine would take up the new one) with its CSRF token,
# so each is a first sign-in from a browser that has only visited the sign-in page.
jar2="$out/cookies-signin"
token2="$(curl -sf -c "$jar2" "$base/api/v1/session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')"
cookie2="$(awk '$6 == "bs_session" { print $7 }' "$jar2")"
COOKIE="$cookie2" TOKEN="$token2" python3 bench/timing.py --runs "$runs" --warmup 1 --json "$out/signin.json" \
  "healthz=$out/signin.sh healthz" \
  "signin=$out/signin.sh signin"
python3 - "$out" "$signins" "$(stat -c %s "$zip")" <<'EOF'
import json, sys
out, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
u = json.load(open(f"{out}/upload.json"))
s = json.load(open(f"{out}/signin.json"))
mb = size / 1e6
print()
for k in ("cp", "cp+fsync", "upload"):
    print(f"{k:<9} {u[k]['median_s']:.3f} s  {mb / u[k]['median_s']:.0f} MB/s")
print(f"upload / cp = {u['upload']['median_s'] / u['cp']['median_s']:.2f}x, upload / (cp+fsync) = {u['upload']['median_s'] / u['cp+fsync']['median_s']:.2f}x")
h, si = s["healthz"]["median_s"] / n * 1000, s["signin"]["median_s"] / n * 1000
print(f"healthz {h:.1f} ms/request, sign-in {si:.1f} ms/request, sign-in / healthz = {si / h:.0f}x")
EOF
echo "results in $out"
