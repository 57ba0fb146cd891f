#!/usr/bin/env bash
# Builds the release binary for the AWS stack (stack.yaml): `backspin` for x86_64 Linux,
# linked against glibc 2.34 so it runs on Amazon Linux 2023 whatever glibc this machine has.
#
#   ARTIFACT="$(scripts/release.sh)"   build and check; the artifact's path is the only line
#                                      on stdout, everything else (its SHA-256 too) on stderr
#
# How: cargo-zigbuild with zig as the C compiler and linker, for the target
# x86_64-unknown-linux-gnu.2.34 (zig ships the glibc 2.34 symbol versions to link against).
# Both come from PyPI as prebuilt wheels (ziglang, cargo-zigbuild), pinned below, into a venv
# under the tools folder; a second run reuses them. Then the binary is checked: no dynamic
# symbol may need a GLIBC version above 2.34, and it must start (`backspin --version`).
#
# Environment:
#   BACKSPIN_RELEASE_TOOLS  where the venv goes     (default ~/.cache/backspin/release-tools)
#   CARGO_TARGET_DIR        cargo's target folder   (default ~/.cache/backspin/release-target,
#                           kept apart from the workspace's target/ so a release build neither
#                           waits for nor disturbs the debug builds there)
#   BACKSPIN_RELEASE_OUT    where the artifact is copied (default $CARGO_TARGET_DIR/dist, outside
#                           the work tree so nothing built lands in a commit)
set -euo pipefail

ZIG_VERSION=0.15.2             # PyPI ziglang
CARGO_ZIGBUILD_VERSION=0.24.1  # PyPI cargo-zigbuild (the same release as the crate)
GLIBC_MAX=2.34                 # Amazon Linux 2023
TARGET=x86_64-unknown-linux-gnu

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools="${BACKSPIN_RELEASE_TOOLS:-$HOME/.cache/backspin/release-tools}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/backspin/release-target}"
out_dir="${BACKSPIN_RELEASE_OUT:-$CARGO_TARGET_DIR/dist}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'release.sh: %s\n' "$*" >&2; exit 1; }

for tool in python3 cargo objdump sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is needed (objdump: apt-get install binutils)"
done

# --- Tools: zig and cargo-zigbuild, pinned, in a venv -------------------------------------
venv="$tools/venv-zig$ZIG_VERSION-czb$CARGO_ZIGBUILD_VERSION"
have_tools() {
  [ -x "$venv/bin/cargo-zigbuild" ] &&
    "$venv/bin/python" -m ziglang version 2>/dev/null | grep -qx "$ZIG_VERSION" &&
    "$venv/bin/cargo-zigbuild" --version 2>/dev/null | grep -q " $CARGO_ZIGBUILD_VERSION\$"
}
if have_tools; then
  say "reusing zig $ZIG_VERSION and cargo-zigbuild $CARGO_ZIGBUILD_VERSION in $venv"
else
  say "installing zig $ZIG_VERSION and cargo-zigbuild $CARGO_ZIGBUILD_VERSION into $venv"
  rm -rf "$venv"
  mkdir -p "$tools"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "ziglang==$ZIG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION" >&2
  have_tools || die "zig $ZIG_VERSION / cargo-zigbuild $CARGO_ZIGBUILD_VERSION did not install into $venv"
fi
# cargo-zigbuild finds zig through `python -m ziglang` of the python on PATH.
export PATH="$venv/bin:$PATH"

# --- Build ----------------------------------------------------------------------------------
version="$(cargo metadata --no-deps --format-version 1 |
  python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="backspin"))')"
commit="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
dirty=""
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then dirty="-dirty"; fi
say "building backspin $version ($commit$dirty) for $TARGET with glibc $GLIBC_MAX into $CARGO_TARGET_DIR"
start=$(date +%s)
cargo zigbuild --release --locked -p backspin --target "$TARGET.$GLIBC_MAX" >&2
say "built in $(( $(date +%s) - start )) s"
bin="$CARGO_TARGET_DIR/$TARGET/release/backspin"
[ -x "$bin" ] || die "no binary at $bin"

# --- Checks ---------------------------------------------------------------------------------
# 1. Linked for glibc <= GLIBC_MAX: the highest GLIBC_x.y among the dynamic symbols.
max_glibc="$(objdump -T "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -uV | tail -n1)"
[ -n "$max_glibc" ] || die "objdump -T found no GLIBC symbol versions in $bin (not a glibc binary?)"
if [ "$(printf '%s\n%s\n' "$max_glibc" "$GLIBC_MAX" | sort -V | tail -n1)" != "$GLIBC_MAX" ]; then
  objdump -T "$bin" | grep -E "GLIBC_$max_glibc" >&2 || true
  die "the binary needs GLIBC_$max_glibc, newer than Amazon Linux 2023's $GLIBC_MAX"
fi
say "highest glibc symbol version needed: GLIBC_$max_glibc (limit $GLIBC_MAX)"
# 2. Only the usual shared libraries (no libssl, libsqlite3… from this machine).
needed="$(objdump -p "$bin" | awk '/NEEDED/ {print $2}' | sort | tr '\n' ' ')"
say "shared libraries needed: $needed"
for lib in $needed; do
  case "$lib" in
    libc.so.6 | libm.so.6 | libgcc_s.so.1 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux-x86-64.so.2) ;;
    *) die "the binary needs $lib, which Amazon Linux 2023 may not have" ;;
  esac
done
# 3. It starts.
"$bin" --version >&2 || die "$bin --version failed"

# --- Artifact -------------------------------------------------------------------------------
mkdir -p "$out_dir"
artifact="$out_dir/backspin-$version-$commit$dirty-x86_64"
cp "$bin" "$artifact"
sha="$(sha256sum "$artifact" | cut -d' ' -f1)"
printf '%s  %s\n' "$sha" "$(basename "$artifact")" >"$artifact.sha256"
size="$(du -h "$artifact" | cut -f1)"
cat >&2 <<EOF

artifact: $artifact ($size)
sha256:   $sha
upload:   aws s3 cp $artifact s3://ARTIFACT_BUCKET/releases/$(basename "$artifact")
          then deploy with ArtifactKey=releases/$(basename "$artifact") (DEPLOY.md)
EOF
echo "$artifact"
