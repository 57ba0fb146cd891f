#!/usr/bin/env bash
# End-to-end browser tests: Debian's Chromium, driven by playwright-core, against the real
# `backspin serve` on loopback, with a zip made of real sample exports (testdata/samples):
# first on the embedded default (tests/browser/e2e.mjs, issue #4), then once in AWS mode
# (tests/browser/e2e_aws.mjs, issue #6) with S3, SQS, SNS and Cognito on moto's server
# (installed by scripts/moto.sh; BACKSPIN_MOTO_SERVER when set).
# Installs what it needs when missing (chromium, node and npm through apt; playwright-core
# through npm, never a browser download) and fails (never skips) when something cannot start.
#
#   scripts/browser-test.sh
#
# Screenshots of every page visited go to ${CARGO_TARGET_DIR:-target}/browser.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

step() { printf '\n==> %s\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1; }
die() { echo "scripts/browser-test.sh: $*" >&2; exit 1; }

CHROMIUM=/usr/bin/chromium
SERVER_START_SECONDS=60

# apt-get install, as root or through sudo.
apt_install() {
  local as=()
  need apt-get || die "$* missing and apt-get is not available to install it"
  if [ "$(id -u)" != 0 ]; then
    need sudo || die "$* missing; installing it needs root and sudo is not available"
    as=(sudo)
  fi
  echo "installing $* (apt-get install)" >&2
  "${as[@]}" apt-get update -qq >&2 || die "apt-get update failed while installing $*"
  DEBIAN_FRONTEND=noninteractive "${as[@]}" apt-get install -y -qq "$@" >/dev/null \
    || die "apt-get install $* failed"
}

step "tools for the browser test"
if [ ! -x "$CHROMIUM" ]; then
  apt_install chromium
  [ -x "$CHROMIUM" ] || die "apt-get install chromium gave no $CHROMIUM"
fi
if ! need node || ! need npm; then
  apt_install nodejs npm
  need node && need npm || die "apt-get install nodejs npm gave no node or npm on PATH"
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old: playwright-core needs node 20 or newer (install it from nodesource or with nvm)"
"$CHROMIUM" --version 2>/dev/null || die "$CHROMIUM does not run"
echo "node $(node --version), npm $(npm --version)"

step "playwright-core (npm ci in tests/browser)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
stamp=tests/browser/node_modules/.backspin-package-lock.json
if [ -f tests/browser/node_modules/playwright-core/package.json ] \
  && cmp -s tests/browser/package-lock.json "$stamp"; then
  echo "node_modules is up to date with package-lock.json"
else
  (cd tests/browser && npm ci --no-audit --no-fund) || die "npm ci in tests/browser failed"
  cp tests/browser/package-lock.json "$stamp"
fi

step "cargo build -p backspin"
cargo build -p backspin --locked --quiet
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
bin="$target/debug/backspin"
[ -x "$bin" ] || die "no $bin after cargo build"
shots="$target/browser"
rm -rf "$shots"
mkdir -p "$shots"

work="$(mktemp -d "${TMPDIR:-/tmp}/backspin-browser.XXXXXX")"
server_pid=""
moto_pid=""
stop() {
  local pid="$1"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
cleanup() {
  local status=$?
  stop "$server_pid"
  stop "$moto_pid"
  if [ "$status" != 0 ] && [ -s "$work/server.log" ]; then
    echo >&2
    echo "---- backspin serve log (stderr) ----" >&2
    cat "$work/server.log" >&2
    echo "---- end of backspin serve log ----" >&2
  fi
  if [ "$status" != 0 ] && [ -s "$work/moto.log" ]; then
    echo "---- moto log (last 40 lines) ----" >&2
    tail -n 40 "$work/moto.log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "sample zip from testdata/samples"
# Laid out like Spotify's zip: a real extended-history audio file (552 streams) and a video file.
python3 - "$work/my_spotify_data.zip" <<'EOF'
import sys, zipfile
files = {
    "testdata/samples/extended/Streaming_History_Audio_2023_2.json":
        "Spotify Extended Streaming History/Streaming_History_Audio_2023_2.json",
    "testdata/samples/extended/Streaming_History_Video_2026.json":
        "Spotify Extended Streaming History/Streaming_History_Video_2026.json",
}
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for src, name in files.items():
        z.write(src, name)
EOF
ls -l "$work/my_spotify_data.zip"

# start_server LOG_NAME ARGS...: backspin serve on a free port, with only the settings given
# (nothing from the caller's environment: a DATABASE_URL, Secure cookies, no workers…); sets
# base and server_pid.
start_server() {
  local unset_env=()
  for v in DATABASE_URL BACKSPIN_ADMIN_EMAILS BACKSPIN_ANONYMOUS_TTL_HOURS BACKSPIN_BIND BACKSPIN_DATA_DIR \
    BACKSPIN_MAX_UPLOAD_MIB BACKSPIN_NO_WORKERS BACKSPIN_SECRET BACKSPIN_SECURE_COOKIES \
    BACKSPIN_SESSION_DAYS BACKSPIN_TRUST_FORWARDED_FOR BACKSPIN_VISIBILITY_TIMEOUT_SECS \
    BACKSPIN_S3_BUCKET BACKSPIN_SQS_QUEUE_URL BACKSPIN_SQS_DEAD_LETTER_QUEUE_URL BACKSPIN_SNS_TOPIC_ARN \
    BACKSPIN_AWS_ENDPOINT_URL BACKSPIN_COGNITO_USER_POOL_ID BACKSPIN_COGNITO_CLIENT_ID \
    BACKSPIN_COGNITO_CLIENT_SECRET BACKSPIN_COGNITO_ISSUER BACKSPIN_COGNITO_JWKS_URL; do
    unset_env+=(-u "$v")
  done
  env "${unset_env[@]}" "$@" "$bin" serve --bind 127.0.0.1:0 >"$work/server.out" 2>"$work/server.log" &
  server_pid=$!
  base=""
  for _ in $(seq $((SERVER_START_SECONDS * 5))); do
    base="$(sed -n 's|.*Backspin is running at \(http://[^/ ]*\)/.*|\1|p' "$work/server.out" | head -n 1)"
    [ -n "$base" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.out" "$work/server.log" >&2; die "backspin serve exited before it was ready"; }
    sleep 0.2
  done
  [ -n "$base" ] || { cat "$work/server.out" >&2; die "backspin serve did not print its address within ${SERVER_START_SECONDS} s"; }
  echo "server at $base (pid $server_pid)"
}

step "backspin serve on loopback (embedded default)"
mkdir -p "$work/data"
start_server BACKSPIN_DATA_DIR="$work/data"

step "browser test (node --test tests/browser/e2e.mjs)"
started=$SECONDS
BASE_URL="$base" SAMPLE_ZIP="$work/my_spotify_data.zip" SHOTS_DIR="$shots" CHROMIUM="$CHROMIUM" \
  node --test --test-reporter=spec tests/browser/e2e.mjs
echo "browser test passed in $((SECONDS - started)) s; screenshots in $shots"

step "moto's server for the AWS-mode browser test"
moto="${BACKSPIN_MOTO_SERVER:-$(scripts/moto.sh)}" || die "moto's server could not be installed (scripts/moto.sh)"
[ -x "$moto" ] || die "$moto is not a program"
moto_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$moto" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
moto_url="http://127.0.0.1:$moto_port"
for _ in $(seq 150); do
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$moto_url/moto-api/" 2>/dev/null && break
  kill -0 "$moto_pid" 2>/dev/null || die "moto's server exited before it answered"
  sleep 0.2
done
python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$moto_url/moto-api/" || die "moto's server did not answer on $moto_url within 30 s"
"$(dirname "$moto")/python" tests/browser/aws_setup.py "$moto_url" >"$work/aws.env" \
  || die "making the AWS resources on moto failed (tests/browser/aws_setup.py)"
echo "S3, SQS, SNS and a Cognito user pool on $moto_url"

step "backspin serve on loopback (AWS mode: S3, SQS, SNS, Cognito on moto)"
stop "$server_pid"
mkdir -p "$work/data-aws"
mapfile -t aws_env <"$work/aws.env"
start_server BACKSPIN_DATA_DIR="$work/data-aws" "${aws_env[@]}"

step "browser test in AWS mode (node --test tests/browser/e2e_aws.mjs)"
started=$SECONDS
BASE_URL="$base" SAMPLE_ZIP="$work/my_spotify_data.zip" SHOTS_DIR="$shots" CHROMIUM="$CHROMIUM" S3_ORIGIN="$moto_url" \
  node --test --test-reporter=spec tests/browser/e2e_aws.mjs
echo "AWS-mode browser test passed in $((SECONDS - started)) s; screenshots in $shots"
