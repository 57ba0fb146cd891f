#!/usr/bin/env bash
# The failure drill (issue 19): scripts/drill.py against a cluster of real processes on
# loopback: HAProxy in front of two `backspin serve --no-workers`, two `backspin worker`, one
# PostgreSQL database. Prints the drill's JSON summary; exits non-zero when a promise fails.
#
#   scripts/drill.sh            # PostgreSQL from TEST_DATABASE_URL, else 127.0.0.1:5432
#
# Installs HAProxy from Debian's packages when it is missing; fails, never skips, when it or
# PostgreSQL cannot be had. Builds the binary (debug) into CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "scripts/drill.sh: $*" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/backspin/target}"

if ! command -v haproxy >/dev/null; then
  echo "installing haproxy (Debian)"
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get install -y -qq haproxy >/dev/null || die "apt-get install haproxy failed"
fi
haproxy="$(command -v haproxy)" || die "no haproxy on PATH after installing it"
command -v psql >/dev/null || die "psql is missing (scripts/test.sh provisions PostgreSQL)"

admin="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="backspin_drill_$$"
psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null || die "cannot create database $db at $admin"
trap 'psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
url="${admin%/*}/$db"

cargo build -p backspin --locked --quiet
python3 scripts/drill.py --binary "$CARGO_TARGET_DIR/debug/backspin" --database-url "$url" --haproxy "$haproxy" "$@"
