#!/usr/bin/env bash
# The first (cold) and warm views of a big history, at 300,000 and 1,000,000 plays, on SQLite
# and PostgreSQL, each beside its baselines in the same run (bench/first_view.py says which):
# `backspin inspect` on the same export, the static-file floor, and the same first view read
# from the play rows as before the worker's artifact.
#
#   bench/first-view.sh                          everything (about 15 minutes here)
#   bench/first-view.sh --plays 300000 --engine sqlite --restarts 3
#
# PostgreSQL: BENCH_DATABASE_URL, else the server on 127.0.0.1:5432 (a database is created and
# dropped). Results in target/bench-data/first-view-<date>/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/backspin/target}"
echo "==> build (release)"
cargo build --release --locked -p backspin
echo "==> machine"
lscpu | grep -E '^(Model name|CPU\(s\))' || true
echo "kernel $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC'); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exec python3 bench/first_view.py --bin "$CARGO_TARGET_DIR/release/backspin" "$@"
