#!/usr/bin/env python3
"""Sums `requests` over GET /api/v1/services?window=1h (what the API shows) for the Opsight benchmarks.

    api_count.py --url http://HOST:PORT --token T                      print the current sum
    api_count.py --url ... --token T --target N [--timeout 120] [--since MONO_NS]
        poll every 20 ms until the sum reaches N; print `count=<sum> seconds=<t>` where t is the time from
        --since (wall-clock epoch ns, e.g. `date +%s%N` taken before a shipment started) or from the start of
        polling, to the end of the first poll that saw N, `query_seconds=<q>`, how long that query took, and
        `query_began_seconds`, when it began (the events became visible between the two).
        Exits 1 on timeout or when the sum overshoots N.
    api_count.py --url ... --token T --probe 5
        time 5 queries one after another; print `median_s=… max_s=… requests=<sum>`.
"""

import argparse
import json
import statistics
import sys
import time
import urllib.request


def count(url: str, token: str) -> int:
    req = urllib.request.Request(url + "/api/v1/services?window=1h", headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as r:
        doc = json.load(r)
    return int(sum(s.get("requests", 0) for s in doc.get("services", [])))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--target", type=int)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--since", type=int, help="epoch nanoseconds (date +%%s%%N) the time is measured from")
    p.add_argument("--interval", type=float, default=0.02)
    p.add_argument("--probe", type=int)
    a = p.parse_args()
    if a.probe:
        times = []
        for _ in range(a.probe):
            t0 = time.monotonic()
            n = count(a.url, a.token)
            times.append(time.monotonic() - t0)
        print(f"median_s={statistics.median(times):.3f} max_s={max(times):.3f} requests={n}")
        return 0
    if a.target is None:
        print(count(a.url, a.token))
        return 0
    start = a.since / 1e9 if a.since else time.time()
    deadline = time.monotonic() + a.timeout
    n = -1
    q = 0.0
    began = start
    last_error = 0.0
    while True:
        try:
            t0 = time.monotonic()
            began = time.time()
            n = count(a.url, a.token)
            q = time.monotonic() - t0
        except Exception as e:  # the collector may be busy; keep polling until the deadline
            if time.monotonic() - last_error > 5:
                print(f"api_count: {e}", file=sys.stderr)
                last_error = time.monotonic()
        if n >= a.target:
            elapsed = time.time() - start
            print(f"count={n} seconds={elapsed:.3f} query_seconds={q:.3f} query_began_seconds={began - start:.3f}")
            return 0 if n == a.target else 1
        if time.monotonic() > deadline:
            print(f"count={n} seconds=timeout")
            return 1
        time.sleep(a.interval)


if __name__ == "__main__":
    sys.exit(main())
