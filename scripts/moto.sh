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
die() { echo "scripts/moto.sh: $*" >&2; exit 1; }
if [ "$(cat "$venv/.pins" 2>/dev/null)" != "$pins" ] || [ ! -x "$venv/bin/moto_server" ]; then
  echo "installing $pins into $venv" >&2
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    command -v apt-get >/dev/null || die "python3 cannot create a venv and apt-get is not available to install python3-venv"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
    python3 -m venv "$venv" || die "python3 -m venv $venv failed"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$pins" >&2 || die "pip install $pins failed"
  echo "$pins" >"$venv/.pins"
fi
echo "$venv/bin/moto_server"
