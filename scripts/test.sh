#!/usr/bin/env bash
# The whole test suite: formatting, lints, docs, unit, integration and property tests, the
# end-to-end tests on SQLite and PostgreSQL, the browser test (scripts/browser-test.sh), the
# API fuzzing against its OpenAPI document (scripts/api-fuzz.sh), the checks on stack.yaml
# (scripts/stack-checks.sh) and the failure drill of several processes (scripts/drill.sh
# --short, issue 19's drill with a smaller backlog and library).
# Installs what it needs when missing and fails (never skips) when something cannot start.
#
#   scripts/test.sh        everything
#   scripts/test.sh e2e    only PostgreSQL provisioning and the end-to-end tests (crate e2e)
#
# AWS (S3, SQS, SNS, Cognito): moto's server, installed by scripts/moto.sh into a virtual
# environment under the target folder (or BACKSPIN_MOTO_SERVER when set); each test starts its
# own on a free port of 127.0.0.1.
#
# PostgreSQL: TEST_DATABASE_URL when set; else the server on 127.0.0.1:5432 when one answers;
# else a throwaway cluster started here and stopped on exit. BACKSPIN_TEST_FORCE_OWN_PG=1
# starts the throwaway cluster even when 5432 answers.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1; }
die() { echo "scripts/test.sh: $*" >&2; exit 1; }

only="${1:-all}"
case "$only" in
  all|e2e) ;;
  *) die "unknown argument '$only' (expected nothing or 'e2e')" ;;
esac

# Whether a PostgreSQL server accepts connections on 127.0.0.1:$1.
pg_answers() {
  if need pg_isready; then
    pg_isready -q -h 127.0.0.1 -p "$1" -t 3
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# The newest installed server's bin folder (initdb, pg_ctl), installing the server if missing.
pg_bin() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    need apt-get || die "the PostgreSQL server binaries are missing and apt-get is not available to install them"
    echo "installing the PostgreSQL server (apt-get install postgresql)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$bin" ] && [ -x "$bin/initdb" ] || die "apt-get install postgresql gave no initdb under /usr/lib/postgresql/*/bin"
  fi
  echo "$bin"
}

# Starts a throwaway cluster (trust auth, fsync off) on the first free port from 55432,
# exports TEST_DATABASE_URL and stops the cluster when this script exits.
own_pg() {
  local bin port dir as=()
  bin="$(pg_bin)"
  port="${BACKSPIN_TEST_PG_PORT:-55432}"
  while pg_answers "$port"; do
    port=$((port + 1))
    [ "$port" -lt 55532 ] || die "no free port for a throwaway PostgreSQL between 55432 and 55531"
  done
  dir="$(mktemp -d "${TMPDIR:-/tmp}/backspin-pg.XXXXXX")"
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root; the server's package creates the postgres user.
    id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user to own the cluster"
    chown postgres: "$dir"
    as=(runuser -u postgres --)
  fi
  PG_STOP=("${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop)
  PG_DIR="$dir"
  trap 'status=$?; "${PG_STOP[@]}" >/dev/null 2>&1 || true; rm -rf "$PG_DIR"; exit $status' EXIT
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync --no-instructions \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # A self-signed certificate, so that the server speaks TLS as managed PostgreSQL does (the
  # tests check that a URL asking for TLS gets it).
  if ! need openssl; then
    need apt-get || die "openssl is missing (to give the throwaway PostgreSQL a certificate) and apt-get is not available"
    apt-get install -y -qq openssl >/dev/null
  fi
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -keyout "$dir/data/server.key" -out "$dir/data/server.crt" >/dev/null 2>&1 \
    || die "openssl could not make a certificate for the throwaway PostgreSQL"
  chmod 600 "$dir/data/server.key"
  [ "${#as[@]}" = 0 ] || chown postgres: "$dir/data/server.key" "$dir/data/server.crt"
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
    "-p $port -k $dir -c listen_addresses=127.0.0.1 -c ssl=on -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { cat "$dir/server.log" >&2; die "the throwaway PostgreSQL did not start"; }
  pg_answers "$port" || { cat "$dir/server.log" >&2; die "the throwaway PostgreSQL does not answer on 127.0.0.1:$port"; }
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "started a throwaway PostgreSQL ($("$bin/postgres" --version)) in $dir on 127.0.0.1:$port"
}

provision_pg() {
  step "PostgreSQL for the end-to-end tests"
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "using TEST_DATABASE_URL"
  elif [ "${BACKSPIN_TEST_FORCE_OWN_PG:-0}" != 1 ] && pg_answers 5432; then
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    echo "using the server on 127.0.0.1:5432"
  else
    own_pg
  fi
}

provision_moto() {
  step "moto's server for the AWS tests (scripts/moto.sh)"
  if [ -z "${BACKSPIN_MOTO_SERVER:-}" ]; then
    BACKSPIN_MOTO_SERVER="$(scripts/moto.sh)" || die "moto's server could not be installed"
  fi
  [ -x "$BACKSPIN_MOTO_SERVER" ] || die "BACKSPIN_MOTO_SERVER=$BACKSPIN_MOTO_SERVER is not a program"
  export BACKSPIN_MOTO_SERVER
  echo "using $BACKSPIN_MOTO_SERVER"
}

if [ "$only" = e2e ]; then
  provision_pg
  provision_moto
  step "cargo test -p e2e"
  # The tests run the real `backspin` binary: build it first.
  cargo build -p backspin --locked --quiet
  cargo test -p e2e --locked
  exit 0
fi

step "tools"
need cargo || { echo "cargo is missing: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
if ! need python3; then
  need apt-get || { echo "python3 is missing and apt-get is not available to install it" >&2; exit 1; }
  apt-get update -qq && apt-get install -y -qq python3 >/dev/null
fi
cargo --version
python3 --version

export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "stack.yaml checks (scripts/stack-checks.sh)"
scripts/stack-checks.sh

provision_pg
provision_moto

step "cargo test"
cargo test --workspace --locked

step "browser test (scripts/browser-test.sh)"
scripts/browser-test.sh

step "API fuzzing against the document (scripts/api-fuzz.sh)"
scripts/api-fuzz.sh

step "failure drill: HAProxy, two web processes, two workers (scripts/drill.sh --short)"
scripts/drill.sh --short
