#!/usr/bin/env bash
# The whole test suite: formatting, lints, docs, unit, integration and property tests.
# Installs what it needs when missing and fails (never skips) when something cannot start.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1; }

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

step "cargo test"
cargo test --workspace --locked
