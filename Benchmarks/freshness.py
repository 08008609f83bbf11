#!/usr/bin/env python3
"""Freshness probe for the Opsight benchmarks (SPEC §11: event acknowledged → visible in the API at the current
time, p99 ≤ 1 s). Run it while other load is going (Benchmarks/run.sh runs wrk at 80 % of the measured maximum).

    freshness.py --url http://HOST:PORT --token T [--seconds 30] [--service fresh-probe-XXXX]

Every probe POSTs one request event without `ts` (it takes its arrival time) for a service of its own, notes when
the 200 came back, then polls GET /api/v1/latency?service=S&window=5m (the current time) every 5 ms until the
count has grown by that one event; the probe's freshness is the time from the acknowledgement to the end of the
first poll that saw it. Probes run one after another for --seconds. Prints one line:
`freshness probes=N p50_ms=… p99_ms=… max_ms=…`. Exits 1 when a probe is not visible within 30 s, or the count
ever overshoots (an event counted twice).
"""

import argparse
import json
import secrets
import statistics
import sys
import time
import urllib.request


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--service", default="fresh-probe-" + secrets.token_hex(3))
    a = p.parse_args()
    auth = {"Authorization": "Bearer " + a.token}
    line = json.dumps({"service": a.service, "route": "/probe", "method": "GET", "status": 200,
                       "duration_ms": 1.0}).encode() + b"\n"

    def count() -> int:
        req = urllib.request.Request(f"{a.url}/api/v1/latency?service={a.service}&window=5m&q=0.5", headers=auth)
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(json.load(r).get("count", 0))

    samples = []
    expected = 0
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        req = urllib.request.Request(a.url + "/v1/ingest", data=line, method="POST",
                                     headers={**auth, "Content-Type": "application/x-ndjson"})
        with urllib.request.urlopen(req, timeout=30) as r:
            if json.load(r).get("accepted") != 1:
                print("freshness: the probe event was not accepted", file=sys.stderr)
                return 1
        acked = time.monotonic()
        expected += 1
        while True:
            n = count()
            if n >= expected:
                samples.append(time.monotonic() - acked)
                break
            if time.monotonic() - acked > 30:
                print(f"freshness: probe {expected} not visible after 30 s (count {n})", file=sys.stderr)
                return 1
            time.sleep(0.005)
        if n > expected:
            print(f"freshness: count {n} is past the {expected} events sent", file=sys.stderr)
            return 1
    samples.sort()
    q = lambda f: samples[min(len(samples) - 1, int(f * (len(samples) - 1) + 0.5))] * 1000
    print(f"freshness probes={len(samples)} p50_ms={statistics.median(samples) * 1000:.1f} p99_ms={q(0.99):.1f} "
          f"max_ms={samples[-1] * 1000:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
