#!/usr/bin/env bash
# Fuzzes the schema crate's parser and zip loader (fuzz/fuzz_targets/parse.rs) with cargo-fuzz.
#
#   tools/fuzz.sh [SECONDS] [libFuzzer flags...]     # default 600 seconds
#
# Installs cargo-fuzz when missing. Works on the stable toolchain: RUSTC_BOOTSTRAP=1 lets
# rustc take the one nightly-only flag cargo-fuzz passes (-Zsanitizer=address). Set
# FUZZ_SANITIZER=none to fuzz without AddressSanitizer (about twice as many runs a second).
# The corpus (fuzz/corpus/parse) is seeded from testdata/samples on each run and kept between
# runs; crashes land in fuzz/artifacts/parse. Both are git-ignored.
# Reproduce a crash:  RUSTC_BOOTSTRAP=1 cargo fuzz run parse fuzz/artifacts/parse/<file>
# Shrink it:          RUSTC_BOOTSTRAP=1 cargo fuzz tmin parse fuzz/artifacts/parse/<file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
shift || true
case "$seconds" in
  '' | *[!0-9]*) echo "usage: tools/fuzz.sh [SECONDS] [libFuzzer flags...]" >&2; exit 2 ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
command -v python3 >/dev/null || { echo "python3 is needed to seed the corpus" >&2; exit 1; }

corpus=fuzz/corpus/parse
mkdir -p "$corpus" fuzz/artifacts/parse

echo "==> seeding $corpus from testdata/samples"
python3 - "$corpus" <<'PY'
"""Seeds: small sample files whole; the first records of big ones, cut at a record boundary
so that each keeps its real layout (minified, pretty, Jackson); and zips of a few of them."""
import hashlib, io, pathlib, sys, zipfile

out = pathlib.Path(sys.argv[1])
seeds = []

def head(data, records):
    """The text up to the end of the `records`-th top-level element, closed with `]`."""
    depth, in_string, escaped, seen = 0, False, False, 0
    for i, b in enumerate(data):
        c = chr(b)
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 1:
                seen += 1
                if seen == records:
                    return data[: i + 1] + b"\n]\n"
    return data

for path in sorted(pathlib.Path("testdata/samples").rglob("*.json")):
    data = path.read_bytes()
    seeds.append(data if len(data) <= 16 << 10 else head(data, 3))

small = [s for s in seeds if len(s) <= 4 << 10][:3]
for method in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr("Spotify Extended Streaming History/ReadMeFirst.pdf", b"%PDF-1.4")
        z.writestr("MyData/Userdata.json", b'{"username":"someone"}')
        for n, s in enumerate(small):
            z.writestr(f"MyData/endsong_{n}.json", s)
    seeds.append(buf.getvalue())

for s in seeds:
    (out / hashlib.sha1(s).hexdigest()).write_bytes(s)
print(f"{len(seeds)} seeds, {sum(map(len, seeds))} bytes")
PY

export RUSTC_BOOTSTRAP=1
echo "==> fuzzing for ${seconds}s"
exec cargo fuzz run --sanitizer "${FUZZ_SANITIZER:-address}" parse "$corpus" -- \
  -max_total_time="$seconds" \
  -dict=fuzz/parse.dict \
  -max_len=65536 \
  -timeout=10 \
  -rss_limit_mb=4096 \
  -print_final_stats=1 \
  "$@"
