#!/usr/bin/env bash
# The failure drill (issue 19): scripts/drill.py against a cluster of real processes on
# loopback: HAProxy in front of two `backspin serve --no-workers`, two `backspin worker`, and a
# PostgreSQL server of the drill's own (the drill stops and starts it, drops and restores its
# database), and moto's server for stack.yaml and the AWS mode. Prints the drill's JSON
# summary; exits non-zero when a promise fails.
#
#   scripts/drill.sh             the full drill (DEPLOY.md's figures; about 10 minutes)
#   scripts/drill.sh --short     the test suite's form (a smaller backlog and library)
#
# Installs HAProxy and the PostgreSQL server from Debian's packages, and moto (scripts/moto.sh),
# when missing; fails, never skips, when one cannot be had or started. Builds the binary
# (debug) into CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "scripts/drill.sh: $*" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/backspin/target}"
apt_install() {
  command -v apt-get >/dev/null || die "$1 is missing and apt-get is not available to install it"
  echo "installing $1 (Debian)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null || die "apt-get install $1 failed"
}

command -v haproxy >/dev/null || apt_install haproxy
haproxy="$(command -v haproxy)" || die "no haproxy on PATH after installing it"

# A PostgreSQL server of the drill's own, on a free port, fsync off, stopped on exit.
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$bin" ] && [ -x "$bin/initdb" ] || { apt_install postgresql; bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"; }
[ -x "$bin/initdb" ] || die "no initdb under /usr/lib/postgresql/*/bin"
dir="$(mktemp -d "${TMPDIR:-/tmp}/backspin-drill-pg.XXXXXX")"
as=""
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user to own the cluster"
  chown postgres: "$dir"
  as="runuser -u postgres --"
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
pg_ctl="$as $bin/pg_ctl -D $dir/data -l $dir/server.log -w -t 60"
start="$pg_ctl -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200' start"
stop="$pg_ctl -m immediate stop"
trap 'eval "$stop" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
$as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync --no-instructions >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
eval "$start" >/dev/null || { cat "$dir/server.log" >&2; die "the drill's PostgreSQL did not start"; }
# The app's database: one the drill can drop (step 6) while the server and its `postgres` stay.
"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres backspin || die "createdb backspin failed"

cargo build -p backspin --locked --quiet
moto_server="$(scripts/moto.sh)" || die "moto's server (scripts/moto.sh) could not be installed"
PYTHONDONTWRITEBYTECODE=1 python3 scripts/drill.py --binary "$CARGO_TARGET_DIR/debug/backspin" \
  --database-url "postgres://postgres@127.0.0.1:$port/backspin" --haproxy "$haproxy" \
  --pg-stop "$stop" --pg-start "$start" --pg-bin "$bin" --moto-server "$moto_server" "$@"
