#!/usr/bin/env python3
"""Generates the query benchmark's corpus: 10 000 request series and some job series over the last hour.

    gen_query_corpus.py --out corpus.ndjson [--services 20] [--routes 500] [--events 600000] [--spread 2700]
    gen_query_corpus.py --live --services 20 --routes 500 --events 500    (one small batch stamped now, stdout)
    gen_query_corpus.py --funnel-day 150000 --out day.ndjson    (funnel steps only, over the last 23 hours)

Request series are services × route templates × GET (default 20 × 500 = 10 000); every series gets events
spread evenly over the last --spread seconds (45 minutes, so the corpus stays inside a 1-hour window while the
benchmark runs; ~60 events a series at the defaults: a 5-minute window holds nearly
every series), latency log-normal per route, ~2.5 % 5xx. Each service also has 3 queues × 2 job types with
enqueued/started/succeeded/failed events, and 2 % of the lines are funnel steps (named events of 10 000 entities
and `succeeded` jobs of queue `assessments`) for the three funnels query_bench.sh configures. Lines are in time
order.

--funnel-day N writes only N funnel steps (the same named events, 20 000 entities) spread evenly over the last
23 hours, so that a funnel window of `1d` holds a day of records, most of them older than Redis keeps
(PostgreSQL's): what a `/metrics` scrape with funnels over `1d` has to evaluate.
"""

import argparse
import math
import random
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="-")
    p.add_argument("--services", type=int, default=20)
    p.add_argument("--routes", type=int, default=500)
    p.add_argument("--events", type=int, default=600_000)
    p.add_argument("--spread", type=float, default=2700.0)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--live", action="store_true", help="stamp every event in the last second")
    p.add_argument("--funnel-day", type=int, default=0, help="only this many funnel steps over the last 23 hours")
    a = p.parse_args()
    rnd = random.Random(a.seed if not a.live else None)
    now_ms = int(time.time() * 1000)
    if a.funnel_day > 0:
        out = sys.stdout if a.out == "-" else open(a.out, "w", buffering=1 << 20)
        span = 23 * 3_600_000
        for i in range(a.funnel_day):
            ts = now_ms - span + int(i * span / a.funnel_day) + 1
            event = ("signed_up", "document_uploaded", "assessment_requested", "report_viewed", "report_shared")[rnd.randrange(5)]
            out.write(f'{{"ts":{ts},"service":"svc-00","kind":"event","event":"{event}",'
                      f'"entity":"day-{rnd.randrange(20_000)}"}}\n')
        if out is not sys.stdout:
            out.close()
        return 0
    series = [(f"svc-{s:02d}", f"/api/v{1 + r % 3}/resource-{r:03d}/:id") for s in range(a.services)
              for r in range(a.routes)]
    shape = [(math.log(3 + (i * 7919) % 300), 0.4 + (i % 7) / 10) for i in range(len(series))]
    out = sys.stdout if a.out == "-" else open(a.out, "w", buffering=1 << 20)
    spread_ms = 1000 if a.live else int(a.spread * 1000)
    start = now_ms - spread_ms
    step = spread_ms / max(1, a.events)
    for i in range(a.events):
        ts = start + int(i * step) + 1
        if i % 50 == 24:  # a funnel step
            funnel_step = ("document_uploaded", "assessment_requested", "report_viewed", "signed_up",
                           "report_shared", "job")[rnd.randrange(6)]
            entity = f"user-{rnd.randrange(10_000)}"
            if funnel_step == "job":
                out.write(f'{{"ts":{ts},"service":"svc-00","kind":"job","queue":"assessments","job":"ai_call",'
                          f'"job_id":"f{i}","event":"succeeded","duration_ms":{rnd.lognormvariate(7, 0.6):.3f},'
                          f'"entity":"{entity}"}}\n')
            else:
                out.write(f'{{"ts":{ts},"service":"svc-00","kind":"event","event":"{funnel_step}",'
                          f'"entity":"{entity}"}}\n')
            continue
        if i % 50 == 49:  # a job event now and then
            service = f"svc-{rnd.randrange(a.services):02d}"
            event = ("enqueued", "started", "succeeded", "succeeded", "failed")[rnd.randrange(5)]
            out.write(f'{{"ts":{ts},"service":"{service}","kind":"job","queue":"q{rnd.randrange(3)}",'
                      f'"job":"j{rnd.randrange(2)}","job_id":"{i}","event":"{event}",'
                      f'"duration_ms":{rnd.lognormvariate(5, 1):.3f}}}\n')
            continue
        k = (i * 7) % len(series) if not a.live else rnd.randrange(len(series))
        service, route = series[k]
        mu, sigma = shape[k]
        status = 500 if rnd.random() < 0.025 else (404 if rnd.random() < 0.05 else 200)
        out.write(f'{{"ts":{ts},"service":"{service}","route":"{route}","method":"GET","status":{status},'
                  f'"duration_ms":{rnd.lognormvariate(mu, sigma):.3f}}}\n')
    if out is not sys.stdout:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
