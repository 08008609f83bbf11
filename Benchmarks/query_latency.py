#!/usr/bin/env python3
"""Measures the latency of one API query with a few concurrent keep-alive clients (query benchmark).

    query_latency.py --url http://HOST:PORT --token T --path '/api/v1/services?window=5m' --name services_5m
        [--clients 4] [--min-requests 1000] [--min-seconds 10] [--max-seconds 30] [--expect-series 20]
        [--expect-text 'opsight_funnel_entered{funnel="activation",window="1d"}']

Each client sends the query again as soon as the previous answer arrived, until at least --min-requests
answers and --min-seconds have passed, or --max-seconds (whichever ends first; in-flight queries finish).
Every answer must be 200 and hold --expect-series results (services, or PromQL vector samples), or contain
--expect-text (for the /metrics exposition).
Prints one line: `query name=… requests=N seconds=S p50_ms=… p90_ms=… p99_ms=… max_ms=… qps=… verdict=ok|FAIL(…)`.
Percentiles are exact order statistics of the measured latencies (time to the last byte of the body).

A path holding `{start}` and `{end}` is a range over the last --span seconds that moves with the clock, as
Grafana asks a "last hour" panel: each request's end is the current time rounded down to the path's `step=`
(seconds), its start --span seconds before.
"""

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--min-requests", type=int, default=1000)
    p.add_argument("--min-seconds", type=float, default=10)
    p.add_argument("--max-seconds", type=float, default=30)
    p.add_argument("--expect-series", type=int)
    p.add_argument("--expect-text")
    p.add_argument("--span", type=int, default=3600)
    a = p.parse_args()
    step = int(urllib.parse.parse_qs(urllib.parse.urlparse(a.path).query).get("step", ["15"])[0])

    def path() -> str:
        if "{end}" not in a.path:
            return a.path
        end = int(time.time()) // step * step
        return a.path.replace("{start}", str(end - a.span)).replace("{end}", str(end))

    u = urllib.parse.urlparse(a.url)
    headers = {"Authorization": "Bearer " + a.token}
    latencies: list[float] = []
    problems: list[str] = []
    lock = threading.Lock()
    start = time.monotonic()
    stop_at = start + a.max_seconds

    def done() -> bool:
        now = time.monotonic()
        if now >= stop_at:
            return True
        with lock:
            return len(latencies) >= a.min_requests and now - start >= a.min_seconds

    def client() -> None:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=a.max_seconds + 30)
        while not done():
            t0 = time.monotonic()
            try:
                conn.request("GET", path(), headers=headers)
                r = conn.getresponse()
                body = r.read()
            except Exception as e:  # noqa: BLE001 - any failure is reported
                with lock:
                    problems.append(f"error_{type(e).__name__}")
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=a.max_seconds + 30)
                continue
            elapsed = time.monotonic() - t0
            problem = None
            if r.status != 200:
                problem = f"status_{r.status}"
            elif a.expect_series is not None:
                doc = json.loads(body)
                n = len(doc["services"]) if "services" in doc else len(doc.get("data", {}).get("result", []))
                if n != a.expect_series:
                    problem = f"series_{n}_not_{a.expect_series}"
            elif a.expect_text is not None and a.expect_text.encode() not in body:
                problem = "text_missing"
            with lock:
                latencies.append(elapsed)
                if problem:
                    problems.append(problem)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    lat = sorted(latencies)
    n = len(lat)

    def pct(q: float) -> float:
        return lat[min(n - 1, int(q * (n - 1)))] * 1000 if n else float("nan")

    verdict = "ok"
    if problems:
        verdict = f"FAIL({problems[0]}_x{len(problems)})"
    elif n < a.min_requests:
        verdict = f"short({n}_of_{a.min_requests}_in_{a.max_seconds:.0f}s)"
    print(f"query name={a.name} requests={n} seconds={seconds:.1f} p50_ms={pct(0.5):.2f} p90_ms={pct(0.9):.2f} "
          f"p99_ms={pct(0.99):.2f} max_ms={(lat[-1] * 1000 if n else float('nan')):.2f} "
          f"mean_ms={(statistics.mean(lat) * 1000 if n else float('nan')):.2f} qps={n / seconds:.1f} verdict={verdict}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
