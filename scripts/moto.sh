#!/usr/bin/env bash
# Installs moto's server (pinned) into a virtual environment under
# ${CARGO_TARGET_DIR:-target}/moto-venv, reusing it when it is there, and prints the path of
# its `moto_server` (the tests read it from BACKSPIN_MOTO_SERVER). Fails, never skips.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION=5.2.6
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
venv="$target/moto-venv"
pins="moto[server]==$MOTO_VERSION"
# shellcheck source=scripts/venv.sh
source scripts/venv.sh
pinned_venv "$venv" "$pins" moto_server
echo "$venv/bin/moto_server"
