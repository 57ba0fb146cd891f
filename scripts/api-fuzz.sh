#!/usr/bin/env bash
# Schema-driven fuzzing of the JSON API: schemathesis (pinned, installed into a virtual
# environment under ${CARGO_TARGET_DIR:-target}/schemathesis-venv) generates requests from
# the API document the code generates (web/src/openapi.rs, from each handler's description
# and each type's schema), as served at /api/v1/openapi.json by the real `backspin serve` on
# its embedded default (SQLite, a temporary data folder, a free port of 127.0.0.1), and checks
# that every answer is one the document describes (status, content type, headers, body schema),
# that no request gets a 5xx, that what the document calls invalid is refused and what it calls
# valid is accepted. Deterministic: a fixed seed, a bounded number of examples per operation.
# Fails, never skips, when schemathesis cannot be installed or the server cannot start.
#
#   scripts/api-fuzz.sh
#
# State changes need the session cookie and its CSRF token: the script signs up an account and
# takes both from `GET /api/v1/session`, and schemathesis sends them with every request (as
# `-H` headers). Left out: sign-out and sign-out everywhere, which would end that session for
# every later request. Account deletion and password change stay in: they need the account's
# password, which is random and never given to the fuzzer, so they are refused (422) and the
# session lives on. Per-operation expectations and a filter of generated ranges are in
# scripts/api-fuzz.toml and scripts/api_fuzz_hooks.py. The report (JUnit XML) goes to
# ${CARGO_TARGET_DIR:-target}/api-fuzz; failures are printed with a cURL command each.
#
# About a minute with 100 examples per operation. API_FUZZ_MAX_EXAMPLES changes that number and
# API_FUZZ_SEED the seed, to look for more than the fixed one finds.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

SCHEMATHESIS_VERSION=4.32.5
SEED="${API_FUZZ_SEED:-20261206}"
MAX_EXAMPLES="${API_FUZZ_MAX_EXAMPLES:-100}"
SERVER_START_SECONDS=60

step() { printf '\n==> %s\n' "$*"; }
die() { echo "scripts/api-fuzz.sh: $*" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac

step "schemathesis $SCHEMATHESIS_VERSION (a venv under $target)"
venv="$target/schemathesis-venv"
pins="schemathesis==$SCHEMATHESIS_VERSION"
# shellcheck source=scripts/venv.sh
source "$root/scripts/venv.sh"
pinned_venv "$venv" "$pins" st
"$venv/bin/st" --version || die "$venv/bin/st does not run"

step "cargo build -p backspin"
cargo build -p backspin --locked --quiet
bin="$target/debug/backspin"
[ -x "$bin" ] || die "no $bin after cargo build"
report="$target/api-fuzz"
rm -rf "$report"
mkdir -p "$report"

work="$(mktemp -d "${TMPDIR:-/tmp}/backspin-api-fuzz.XXXXXX")"
server_pid=""
cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$status" != 0 ] && [ -s "$work/server.log" ]; then
    echo "---- backspin serve log (last 60 lines) ----" >&2
    tail -n 60 "$work/server.log" >&2
    echo "---- end of backspin serve log ----" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "backspin serve on loopback (embedded default)"
# Only the settings given here: nothing from the caller's environment (a DATABASE_URL, AWS…).
unset_env=()
for v in $(env | sed -n 's/^\(BACKSPIN_[A-Z0-9_]*\)=.*/\1/p') DATABASE_URL; do
  unset_env+=(-u "$v")
done
mkdir -p "$work/data"
env "${unset_env[@]}" BACKSPIN_DATA_DIR="$work/data" "$bin" serve --bind 127.0.0.1:0 \
  >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
base=""
for _ in $(seq $((SERVER_START_SECONDS * 5))); do
  base="$(sed -n 's|.*Backspin is running at \(http://[^/ ]*\)/.*|\1|p' "$work/server.out" | head -n 1)"
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.out" >&2; die "backspin serve exited before it was ready"; }
  sleep 0.2
done
[ -n "$base" ] || { cat "$work/server.out" >&2; die "backspin serve did not print its address within ${SERVER_START_SECONDS} s"; }
echo "server at $base (pid $server_pid)"

step "an account for the fuzzer (its session cookie and CSRF token)"
# Signed in, every operation reaches its handler (settings, stats, export, dashboards), and a
# sign-up or sign-in the fuzzer sends cannot replace the session (already signed in: 400).
mapfile -t auth < <("$venv/bin/python" - "$base" <<'PY'
import http.cookiejar, json, secrets, sys, urllib.request

base = sys.argv[1]
jar = http.cookiejar.CookieJar()
http_ = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

def call(method, path, token=None, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["X-CSRF-Token"] = token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with http_.open(req, timeout=30) as r:
        return json.load(r)

token = call("GET", "/api/v1/session")["csrf_token"]
creds = {"email": "fuzzer@example.com", "password": "fuzz " + secrets.token_hex(16)}
token = call("POST", "/api/v1/signup", token, creds)["csrf_token"]
session = call("GET", "/api/v1/session")
assert session["signed_in"], session
(cookie,) = [c for c in jar if c.name == "bs_session"]
print(f"Cookie: {cookie.name}={cookie.value}")
print(f"X-CSRF-Token: {session['csrf_token']}")
PY
) || die "signing up the fuzzer's account failed"
[ "${#auth[@]}" = 2 ] || die "expected a cookie and a token, got ${#auth[@]} lines"
echo "signed up fuzzer@example.com"

step "schemathesis run (seed $SEED, at most $MAX_EXAMPLES examples per operation)"
started=$SECONDS
# Sign-out and sign-out everywhere would end the session every later request needs. Security
# parameters are not generated: the cookie is the account's, given with -H.
"$venv/bin/st" --config-file scripts/api-fuzz.toml run "$base/api/v1/openapi.json" \
  --url "$base" \
  --seed "$SEED" \
  --generation-database none \
  --max-examples "$MAX_EXAMPLES" \
  --workers 1 \
  --generation-with-security-parameters false \
  --checks all \
  --exclude-operation-id signOut \
  --exclude-operation-id signOutEverywhere \
  --request-timeout 30 \
  -H "${auth[0]}" \
  -H "${auth[1]}" \
  --no-color \
  --report junit \
  --report-dir "$report" \
  || die "schemathesis found answers the document does not describe (report in $report)"
echo "schemathesis passed in $((SECONDS - started)) s"

step "what the server answered (from /metrics)"
# The fuzzer must have reached the handlers with its session: a state change that succeeded
# (settings saved) shows the cookie and the CSRF token were taken, not refused with 403.
"$venv/bin/python" - "$base" <<'PY'
import re, sys, urllib.request

counts = {}
with urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=30) as r:
    for line in r.read().decode().splitlines():
        m = re.match(r'backspin_http_requests_total\{(.*)\} (\d+)', line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            key = (labels["method"], labels["route"])
            counts.setdefault(key, {})[labels["status"]] = int(m.group(2))
for (method, route), statuses in sorted(counts.items()):
    print(f"{method:6} {route:40} " + " ".join(f"{s}×{n}" for s, n in sorted(statuses.items())))
saved = counts.get(("PUT", "/api/v1/settings"), {}).get("200", 0)
if not saved:
    sys.exit("no PUT /api/v1/settings succeeded: the fuzzer's session or token was refused")
PY
