# Sourced by scripts/moto.sh and scripts/api-fuzz.sh: a Python virtual environment under the
# build folder that holds exactly one pinned requirement, made once and reused.
#
#   pinned_venv DIR REQUIREMENT PROGRAM
#
# makes DIR hold REQUIREMENT (installing python3-venv first when python3 cannot make one)
# unless it already does, and checks that DIR/bin/PROGRAM is there. Exits 1 with a message
# when it cannot: the caller fails, never skips.
pinned_venv() {
  local venv="$1" pins="$2" program="$3"
  local fail="pinned_venv $venv"
  if [ "$(cat "$venv/.pins" 2>/dev/null)" != "$pins" ] || [ ! -x "$venv/bin/$program" ]; then
    echo "installing $pins into $venv" >&2
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
      rm -rf "$venv"
      command -v apt-get >/dev/null || { echo "$fail: python3 cannot create a venv and apt-get is not available to install python3-venv" >&2; exit 1; }
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
      python3 -m venv "$venv" || { echo "$fail: python3 -m venv failed" >&2; exit 1; }
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$pins" >&2 || { echo "$fail: pip install $pins failed" >&2; exit 1; }
    echo "$pins" >"$venv/.pins"
  fi
  [ -x "$venv/bin/$program" ] || { echo "$fail: no $program after installing $pins" >&2; exit 1; }
}
