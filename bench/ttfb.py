#!/usr/bin/env python3
"""Time to first byte of GET requests on one keep-alive connection, URLs interleaved round by
round so that load from other work hits each alike.

    ttfb.py --base http://127.0.0.1:8080 --cookie 'bs_session=…' --runs 200 NAME=PATH [NAME=PATH ...]

Per URL: p50, p90, p99 and max of the time from sending the request to the first byte of the
answer (status line), the full-body time, and the body size. A non-200 answer stops it.
"""

import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse


def percentile(values, p):
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--cookie", default="")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("urls", nargs="+", metavar="NAME=PATH")
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    headers = {"Cookie": args.cookie} if args.cookie else {}
    targets = [x.split("=", 1) for x in args.urls]

    def one(path):
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()  # returns once the status line and headers are read
        first = time.perf_counter() - start
        body = r.read()
        total = time.perf_counter() - start
        if r.status != 200:
            sys.exit(f"ttfb.py: {path} answered {r.status}: {body[:300]!r}")
        return first, total, len(body)

    for _ in range(args.warmup):
        for _, path in targets:
            one(path)
    samples = {name: [] for name, _ in targets}
    for _ in range(args.runs):
        for name, path in targets:
            samples[name].append(one(path))
    results = {}
    print(f"{'url':<12} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'full p50':>9} {'bytes':>9}")
    for name, path in targets:
        first = [s[0] * 1000 for s in samples[name]]
        total = [s[1] * 1000 for s in samples[name]]
        size = samples[name][-1][2]
        results[name] = {
            "path": path, "p50_ms": percentile(first, 50), "p90_ms": percentile(first, 90),
            "p99_ms": percentile(first, 99), "max_ms": max(first),
            "full_p50_ms": statistics.median(total), "bytes": size, "runs": len(first),
        }
        r = results[name]
        print(f"{name:<12} {r['p50_ms']:>8.2f} {r['p90_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.2f} {r['full_p50_ms']:>9.2f} {size:>9}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
