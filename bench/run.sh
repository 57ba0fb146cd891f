#!/usr/bin/env bash
# Backspin's speed benchmark (BENCHMARKS.md): `backspin inspect --json` on a generated
# 300,000-play lifetime export (21 files, 242 MB) beside polars and pandas doing the same
# work, in the same run, plus simd-json's parse paths, the time per phase, peak memory and a
# correctness check against the generator's expected.json.
#
#   bench/run.sh               everything (RUNS=5 timed runs per command by default)
#   RUNS=10 bench/run.sh       more runs
#
# Installs what it needs when missing: the export (generated once into target/bench-data/),
# a virtualenv with polars and pandas from PyPI (target/bench-venv/), and Debian's `time`
# for /usr/bin/time. Results and logs go to target/bench-data/results-<date>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

runs="${RUNS:-5}"
plays=300000
seed=1
polars_version=2.1.0
pandas_version=3.1.1
cache="$root/target/bench-data"
data="$cache/plays-$plays-seed-$seed"
venv="$root/target/bench-venv"
bin="${CARGO_TARGET_DIR:-$root/target}/release"
out="$cache/results-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
exec > >(tee "$out/run.log") 2>&1

step() { printf '\n==> %s\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1; }

step "export: $data"
if [ ! -f "$data/expected.json" ]; then
  rm -rf "$data.tmp"
  python3 tools/gen_history.py --plays "$plays" --seed "$seed" --out "$data.tmp"
  mv "$data.tmp" "$data"
fi
largest="$(find "$data" -name '*.json' ! -name expected.json -printf '%s\n' | sort -n | tail -n 1)"
total="$(find "$data" -name '*.json' ! -name expected.json -printf '%s\n' | awk '{s += $1} END {print s}')"
echo "$(find "$data" -name '*.json' ! -name expected.json | wc -l) files, $total bytes, largest $largest bytes"

step "tools"
if [ ! -x /usr/bin/time ]; then
  need apt-get || { echo "run.sh: /usr/bin/time is missing and apt-get is not available" >&2; exit 1; }
  apt-get update -qq && apt-get install -y -qq time
fi
if ! "$venv/bin/python" -c "import polars, pandas; assert polars.__version__ == '$polars_version' and pandas.__version__ == '$pandas_version'" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "polars==$polars_version" "pandas==$pandas_version"
fi
"$venv/bin/python" -c "import sys, polars, pandas; print('python', sys.version.split()[0], '| polars', polars.__version__, '| pandas', pandas.__version__)"

step "build (release; backspin on its own so that the bench crate's simd-json features stay out of it)"
cargo build --release -p backspin
cp "$bin/backspin" "$out/backspin"
cargo build --release -p bench
inspect="$out/backspin inspect --json '$data'"

step "machine"
lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core)' || true
free -h | head -n 2
echo "kernel $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC'); load average: $(cut -d' ' -f1-3 /proc/loadavg)"

step "correctness: inspect and both baselines against expected.json"
eval "$inspect" > "$out/inspect.json"
python3 - "$out/inspect.json" "$data/expected.json" <<'EOF'
import json, sys
got, want = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
# expected.json counts tracks by Spotify URI, which inspect gives as distinct_track_uris (its
# distinct_tracks count artist and title: docs/DESIGN.md, "Identity").
got["distinct_tracks"] = got["distinct_track_uris"]
bad = [k for k in ["total_ms_played", "distinct_artists", "distinct_tracks", "first_ts", "last_ts", "ms_played_by_year"]
       if got[k] != want[k]]
for k in ["total_ms_played", "distinct_artists", "first_ts", "last_ts"]:
    print(f"  {k:<18} inspect {got[k]!s:<24} expected {want[k]}")
if bad:
    sys.exit(f"inspect differs from expected.json in {bad}")
print("inspect matches expected.json")
EOF
for lib in polars pandas; do
  "$venv/bin/python" bench/baseline.py "$lib" "$data" --check > "$out/$lib.json"
done
echo "both baselines match expected.json"

step "whole runs, interleaved: inspect, polars, pandas ($runs runs each after a warm-up)"
# --warm reads the export before every timed run: this VM evicts a file's pages from the page
# cache within seconds of reading it, so that without it each run re-reads a varying share of
# the export from disk (BENCHMARKS.md, "Session 6").
python3 bench/timing.py --runs "$runs" --warmup 1 --warm "$data" --json "$out/timing.json" \
  "inspect=$inspect" \
  "polars=$venv/bin/python bench/baseline.py polars '$data'" \
  "pandas=$venv/bin/python bench/baseline.py pandas '$data'"

step "parse throughput, files in memory, one thread"
"$bin/bench" parse "$data" --runs 7

step "inspect phase by phase, files in memory"
"$bin/bench" phases "$data" --runs 5

step "peak memory of inspect (/usr/bin/time -v)"
/usr/bin/time -v "$out/backspin" inspect --json "$data" 2> "$out/time-v.txt" > /dev/null
grep -E 'Maximum resident set size|Elapsed \(wall clock\)' "$out/time-v.txt"

step "summary"
python3 - "$out/timing.json" "$out/time-v.txt" "$largest" <<'EOF'
import json, re, sys
timing = json.load(open(sys.argv[1]))
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(sys.argv[2]).read()).group(1))
largest = int(sys.argv[3])
inspect, polars, pandas = (timing[k]["median_s"] for k in ("inspect", "polars", "pandas"))
cpu = {k: timing[k]["cpu_median_s"] for k in ("inspect", "polars", "pandas")}
print(f"load average at each round: {', '.join(timing['_load_average_per_round'])}")
print(f"inspect {inspect:.3f} s | polars {polars:.3f} s | pandas {pandas:.3f} s (medians, wall)")
rounds = sorted(p / i for p, i in zip(timing["polars"]["runs"], timing["inspect"]["runs"]))
print(f"polars / inspect round by round: min {rounds[0]:.2f}x, median {rounds[len(rounds) // 2]:.2f}x, "
      f"max {rounds[-1]:.2f}x")
print(f"polars / inspect = {polars / inspect:.2f}x wall, {cpu['polars'] / cpu['inspect']:.2f}x CPU; "
      f"pandas / inspect = {pandas / inspect:.2f}x wall, {cpu['pandas'] / cpu['inspect']:.2f}x CPU")
speed_ok = polars / inspect >= 5
print(f"target inspect >= 5x faster than polars: {'MET' if speed_ok else 'NOT MET'} ({polars / inspect:.2f}x)")
limit = 2 * largest + 200e6
rss = rss_kb * 1024
print(f"peak RSS {rss / 1e6:.1f} MB vs limit 2 x {largest / 1e6:.1f} MB + 200 MB = {limit / 1e6:.1f} MB: "
      f"{'MET' if rss < limit else 'NOT MET'}")
EOF
echo "results and logs: $out"
