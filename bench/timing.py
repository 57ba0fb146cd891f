#!/usr/bin/env python3
"""Times whole commands side by side: round 1 runs each command once, then round 2, and so on,
so that a burst of load from other jobs on the machine hits every command alike.

    timing.py --runs 5 --warmup 1 NAME=COMMAND [NAME=COMMAND ...] [--json OUT]

Each COMMAND runs through the shell with stdout discarded. Per command it reports the median
(and min, max) wall time, the median CPU time (user + sys of the process and its children,
from wait4), the largest peak RSS (ru_maxrss) and the load average at the start of each round.
A command that fails stops the benchmark.

    --warm PATH   before every timed run, read each file under PATH (not timed), so that every
                  command starts with the input in the page cache. Some machines (the VMs
                  Backspin is benchmarked on) evict a file's pages within seconds of reading it;
                  without this, each run re-reads a varying part of the input from disk, which
                  weighs on a 0.25 s command far more than on a 1.5 s one.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run_once(command):
    start = time.perf_counter()
    proc = subprocess.Popen(command, shell=True, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"timing.py: {command!r} failed with status {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def warm(paths):
    """Reads every file under `paths`; returns the bytes read and the seconds it took."""
    start, total = time.perf_counter(), 0
    for root in paths:
        files = [root] if os.path.isfile(root) else [
            os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
        for f in files:
            with open(f, "rb", buffering=0) as fh:
                while chunk := fh.read(1 << 20):
                    total += len(chunk)
    return total, time.perf_counter() - start


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--json", help="write the results here too")
    p.add_argument("--warm", action="append", default=[], metavar="PATH",
                   help="read the files under PATH before every timed run")
    p.add_argument("commands", nargs="+", metavar="NAME=COMMAND")
    args = p.parse_args()
    commands = [c.split("=", 1) for c in args.commands]

    for _ in range(args.warmup):
        for _, command in commands:
            run_once(command)
    samples = {name: [] for name, _ in commands}
    loads, warming = [], []
    for round_ in range(args.runs):
        loads.append(load_average())
        for name, command in commands:
            if args.warm:
                warming.append(warm(args.warm)[1])
            samples[name].append(run_once(command))
        line = "  ".join(f"{name} {samples[name][-1][0]:.2f} s" for name, _ in commands)
        print(f"round {round_ + 1}/{args.runs} (load average {loads[-1]}): {line}", file=sys.stderr)

    results = {}
    for name, command in commands:
        walls = [s[0] for s in samples[name]]
        results[name] = {
            "command": command,
            "median_s": statistics.median(walls),
            "min_s": min(walls),
            "max_s": max(walls),
            "cpu_median_s": statistics.median(s[1] for s in samples[name]),
            "peak_rss_bytes": max(s[2] for s in samples[name]),
            "runs": walls,
        }
    results["_load_average_per_round"] = loads
    if warming:
        results["_warm_s"] = warming
        print(f"reading the --warm files before each run: median {statistics.median(warming):.3f} s, "
              f"max {max(warming):.3f} s", file=sys.stderr)
    print(f"{'command':<10} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7} {'peak RSS MB':>12}")
    for name, _ in commands:
        r = results[name]
        print(f"{name:<10} {r['median_s']:>9.3f} {r['min_s']:>7.3f} {r['max_s']:>7.3f} "
              f"{r['cpu_median_s']:>7.3f} {r['peak_rss_bytes'] / 1e6:>12.1f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
