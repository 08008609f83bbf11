#!/usr/bin/env python3
"""Generates realistic NDJSON request events (~250 bytes a line) for the Opsight benchmarks.

    gen_events.py --count 1000 --out body.ndjson [--spread 60] [--seed 1] [--now-ms MS]

Every line is one request event in the field order the mtail program (Benchmarks/mtail/opsight.mtail)
expects: ts (epoch ms, within the last --spread seconds, ascending), service, route (from a set of 50
templates over 8 services), method, status (mostly 2xx, some 4xx, ~2.5 % 5xx), duration_ms (log-normal
per route, heavy tail), and request_id / user_agent / bytes to reach ~250 bytes like a real access log.

With --funnel-share F, that share of the lines (spread evenly) are funnel steps instead: named events
(document_uploaded, assessment_requested, report_viewed, signed_up, report_shared) and `succeeded` jobs of
queue `assessments`, each with an `entity` from 10 000 users and **no `ts`**, so they take their arrival
time: a body posted again and again keeps producing new step facts, as live traffic would.
"""

import argparse
import math
import random
import sys
import time
import uuid

SERVICES = {
    "checkout": ["/api/v1/cart", "/api/v1/cart/items/:id", "/api/v1/checkout", "/api/v1/checkout/:id/confirm",
                 "/api/v1/payments", "/api/v1/payments/:id", "/api/v1/coupons/:code"],
    "catalog": ["/api/v1/products", "/api/v1/products/:id", "/api/v1/products/:id/reviews", "/api/v1/categories",
                "/api/v1/categories/:id/products", "/api/v1/search", "/api/v1/recommendations"],
    "accounts": ["/api/v1/login", "/api/v1/logout", "/api/v1/users/:id", "/api/v1/users/:id/preferences",
                 "/api/v1/password/reset", "/api/v1/sessions/:id"],
    "orders": ["/api/v1/orders", "/api/v1/orders/:id", "/api/v1/orders/:id/items", "/api/v1/orders/:id/cancel",
               "/api/v1/orders/:id/invoice", "/api/v1/returns", "/api/v1/returns/:id"],
    "shipping": ["/api/v1/shipments", "/api/v1/shipments/:id", "/api/v1/shipments/:id/track", "/api/v1/rates",
                 "/api/v1/addresses/validate", "/api/v1/carriers"],
    "inventory": ["/api/v1/stock/:sku", "/api/v1/stock/reserve", "/api/v1/stock/release", "/api/v1/warehouses",
                  "/api/v1/warehouses/:id/stock", "/internal/reindex"],
    "notifications": ["/api/v1/emails", "/api/v1/sms", "/api/v1/push", "/api/v1/templates/:id",
                      "/api/v1/subscriptions/:id"],
    "assessments": ["/api/v1/assessments", "/api/v1/assessments/:id", "/api/v1/assessments/:id/submit",
                    "/api/v1/assessments/:id/results", "/healthz", "/metrics"],
}

METHODS = ["GET"] * 70 + ["POST"] * 20 + ["PUT"] * 6 + ["DELETE"] * 4
STATUSES = ([200] * 820 + [201] * 40 + [204] * 20 + [304] * 20 + [400] * 20 + [401] * 10 + [403] * 5
            + [404] * 30 + [429] * 10 + [500] * 15 + [502] * 5 + [503] * 5)
USER_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1",
    "okhttp/4.12.0 (android 14; shop-app 7.3.1)",
    "python-requests/2.32.3 internal-batch/1.4",
    "Go-http-client/1.1 order-sync/2.0.11",
    "curl/8.5.0",
]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--out", required=True, help="output file, - for stdout")
    p.add_argument("--spread", type=float, default=60.0, help="seconds of event time the lines span, ending now")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--now-ms", type=int, default=None)
    p.add_argument("--funnel-share", type=float, default=0.0, help="share of lines that are funnel steps (no ts)")
    a = p.parse_args()

    rnd = random.Random(a.seed)
    now_ms = a.now_ms if a.now_ms is not None else int(time.time() * 1000)
    routes = [(s, r) for s, rs in SERVICES.items() for r in rs]
    # Each route has its own typical latency (median 3 ms .. 300 ms) and spread.
    shape = {sr: (math.log(rnd.uniform(3, 300)), rnd.uniform(0.5, 1.2)) for sr in routes}
    # Some routes are hot, most are not (Zipf-like).
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(routes))]
    rnd.shuffle(weights)

    start_ms = now_ms - int(a.spread * 1000)
    step = (now_ms - start_ms) / max(1, a.count)
    out = sys.stdout if a.out == "-" else open(a.out, "w", buffering=1 << 20)
    chosen = rnd.choices(routes, weights=weights, k=a.count)
    total = 0
    funnel_every = 1.0 / a.funnel_share if a.funnel_share > 0 else 0.0
    funnel_lines = 0
    for i, (service, route) in enumerate(chosen):
        if funnel_every and int((i + 1) / funnel_every) > int(i / funnel_every):
            user = f"user-{rnd.randrange(10_000)}"
            kind = rnd.choice(["document_uploaded", "assessment_requested", "job", "report_viewed", "signed_up",
                               "report_shared"])
            if kind == "job":
                line = (
                    f'{{"service":"assessments","kind":"job","queue":"assessments","job":"ai_call",'
                    f'"job_id":"{uuid.UUID(int=rnd.getrandbits(128), version=4)}","event":"succeeded",'
                    f'"duration_ms":{rnd.lognormvariate(7, 0.6):.3f},"attempt":1,"entity":"{user}"}}\n'
                )
            else:
                line = (
                    f'{{"service":"assessments","kind":"event","event":"{kind}","entity":"{user}",'
                    f'"request_id":"{uuid.UUID(int=rnd.getrandbits(128), version=4)}","plan":"team"}}\n'
                )
            funnel_lines += 1
            total += len(line)
            out.write(line)
            continue
        mu, sigma = shape[(service, route)]
        status = rnd.choice(STATUSES)
        duration = rnd.lognormvariate(mu, sigma)
        if status >= 500:
            duration *= 3
        line = (
            f'{{"ts":{start_ms + int(i * step)},"service":"{service}","route":"{route}",'
            f'"method":"{rnd.choice(METHODS)}","status":{status},"duration_ms":{duration:.3f},'
            f'"request_id":"{uuid.UUID(int=rnd.getrandbits(128), version=4)}",'
            f'"user_agent":"{rnd.choice(USER_AGENTS)}","bytes":{int(rnd.lognormvariate(7, 1.5))}}}\n'
        )
        total += len(line)
        out.write(line)
    if out is not sys.stdout:
        out.close()
    print(f"gen_events: {a.count} lines ({a.count - funnel_lines} requests, {funnel_lines} funnel steps), "
          f"{total} bytes, {total / max(1, a.count):.0f} B/line", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
