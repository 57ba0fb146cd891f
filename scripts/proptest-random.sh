#!/usr/bin/env bash
# The property tests with new random seeds and many more cases than the test command runs
# (which uses a fixed seed, so that it gives the same answer every time). Run it by hand
# before a release or after touching the parser; a failure prints the seed and the minimal
# input: keep that input as a plain test in schema/tests/properties.rs.
#
#   scripts/proptest-random.sh            20,000 cases per property, release build
#   PROPTEST_CASES=200000 scripts/proptest-random.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/backspin/target}"
export PROPTEST_CASES="${PROPTEST_CASES:-20000}"
export PROPTEST_RNG_SEED=random
exec cargo test --release --locked -p schema --test properties
