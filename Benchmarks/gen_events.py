#!/usr/bin/env python3
"""Generates realistic NDJSON events (~250 bytes a line) for the Opsight benchmarks.

    gen_events.py --count 1000 --out body.ndjson [--shape spec11|legacy] [--spread S] [--seed 1] [--now-ms MS]
                  [--summary FILE]

--shape spec11 (the default) is the shape SPEC §11 asks benchmark inputs to have:

- event times spread over the last hour (--spread 3300 by default: 55 minutes ending now, so a 1-hour count
  made up to 5 minutes later still holds every line and the benchmark's exact checks stay exact), in time
  order except for the job pairs below;
- ~12 fields a line, ~290 B (ts, service, route, method, status, duration_ms, request_id, trace_id,
  user_agent, bytes, client_ip, host), **in a different order on every line** (a seeded shuffle);
- 10 000 request series: 20 services x 250 route templates x 2 methods, drawn Zipf-like (s = 0.6) so every
  series of a 1M-line file is hit while some are hot;
- 8 % job lines (queue `assessments` / `billing` / `mail`): an `enqueued`, a `started` 0.2-3 s later and a
  `succeeded` or `failed`; in 30 % of the jobs the `started` line comes **before** its `enqueued` line;
- 4 % funnel steps with an `entity` (document_uploaded, assessment_requested, report_viewed, signed_up,
  report_shared) for the three funnels Benchmarks/run.sh configures.

Every body of --count lines has the same number of request lines (run.sh's exact check counts requests);
--summary FILE writes `requests=N jobs=N funnel=N bytes=N` there. --shape legacy is the shape of the
benchmarks before issue 15 (request lines only, one fixed field order, times within --spread seconds, ~200
series), kept so old and new figures can be measured by the same scripts.

Legacy shape:

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


SPEC11_SERVICES = [f"svc-{name}" for name in (
    "checkout", "catalog", "accounts", "orders", "shipping", "inventory", "notifications", "assessments", "search",
    "billing", "reports", "uploads", "auth", "gateway", "pricing", "reviews", "media", "exports", "audit", "admin")]
SPEC11_RESOURCES = ["users", "orders", "items", "carts", "invoices", "payments", "products", "reviews", "reports",
                    "documents", "sessions", "teams", "shipments", "assessments", "coupons", "exports", "files",
                    "webhooks", "tokens", "addresses", "stock", "rates", "templates", "subscriptions", "events"]
SPEC11_SUFFIXES = ["", "/:id", "/:id/items", "/:id/history", "/:id/status", "/search", "/bulk", "/:id/export",
                   "/:id/comments", "/:id/attachments"]
SPEC11_FUNNEL_EVENTS = ["document_uploaded", "assessment_requested", "report_viewed", "signed_up", "report_shared"]
SPEC11_QUEUES = [("assessments", "ai_call"), ("billing", "charge"), ("mail", "send_email")]
JOB_SHARE, FUNNEL_SHARE = 0.08, 0.04


def spec11(a, out) -> dict:
    """The SPEC §11 shape (see the module docstring); returns the line counts."""
    rnd = random.Random(a.seed)
    now_ms = a.now_ms if a.now_ms is not None else int(time.time() * 1000)
    spread = a.spread if a.spread is not None else 3300.0
    routes = [f"/api/v{1 + i % 2}/{res}{suf}" for i, (res, suf) in
              enumerate((r, s) for r in SPEC11_RESOURCES for s in SPEC11_SUFFIXES)]  # 250 templates
    series = [(svc, route, method) for svc in SPEC11_SERVICES for route in routes for method in ("GET", "POST")]
    weights = [1.0 / (i + 1) ** 0.6 for i in range(len(series))]
    rnd.shuffle(weights)
    shape = [(math.log(rnd.uniform(2, 250)), rnd.uniform(0.4, 1.1)) for _ in series]
    hosts = [f"web-{i:02d}" for i in range(40)]
    start_ms = now_ms - int(spread * 1000)
    step = spread * 1000 / max(1, a.count)
    # A fixed number of job and funnel lines per body: job lines come in 3s (enqueued, started, end).
    jobs_n = int(a.count * JOB_SHARE) // 3
    funnel_n = int(a.count * FUNNEL_SHARE)
    kinds = ["job"] * jobs_n + ["funnel"] * funnel_n + ["request"] * (a.count - 3 * jobs_n - funnel_n)
    rnd.shuffle(kinds)
    lines: list[str] = []
    pending: list[tuple[int, str]] = []  # (line index, text): job lines placed ahead in the stream
    counts = {"requests": 0, "jobs": 0, "funnel": 0, "bytes": 0}

    def emit(fields: list[tuple[str, str]]) -> str:
        rnd.shuffle(fields)
        return "{" + ",".join(f'"{k}":{v}' for k, v in fields) + "}\n"

    def common(ts: int) -> list[tuple[str, str]]:
        return [("ts", str(ts)), ("request_id", f'"{rnd.getrandbits(64):016x}"'),
                ("host", f'"{rnd.choice(hosts)}"')]

    def quoted(v: str) -> str:
        return f'"{v}"'

    picks = iter(rnd.choices(range(len(series)), weights=weights, k=a.count))
    for i, kind in enumerate(kinds):
        ts = start_ms + int(i * step)
        if kind == "request":
            k = next(picks)
            service, route, method = series[k]
            mu, sigma = shape[k]
            status = rnd.choice(STATUSES)
            duration = rnd.lognormvariate(mu, sigma) * (3 if status >= 500 else 1)
            f = common(ts) + [
                ("service", quoted(service)), ("route", quoted(route)), ("method", quoted(method)),
                ("status", str(status)), ("duration_ms", f"{duration:.3f}"),
                ("trace_id", quoted(f"{rnd.getrandbits(32):08x}")), ("user_agent", quoted(rnd.choice(USER_AGENTS))),
                ("bytes", str(int(rnd.lognormvariate(7, 1.5)))),
                ("client_ip", quoted(f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"))]
            lines.append(emit(f))
            counts["requests"] += 1
        elif kind == "funnel":
            f = common(ts) + [("service", quoted("svc-assessments")), ("kind", quoted("event")),
                              ("event", quoted(rnd.choice(SPEC11_FUNNEL_EVENTS))),
                              ("entity", quoted(f"user-{rnd.randrange(10_000)}")), ("plan", quoted("team"))]
            lines.append(emit(f))
            counts["funnel"] += 1
        else:
            queue, job = rnd.choice(SPEC11_QUEUES)
            job_id = quoted(str(uuid.UUID(int=rnd.getrandbits(128), version=4)))
            started_ms = ts + rnd.randrange(200, 3000)
            done_ms = started_ms + int(rnd.lognormvariate(6, 0.8))
            end = "failed" if rnd.random() < 0.05 else "succeeded"

            def job_line(event: str, at: int, extra: list[tuple[str, str]]) -> str:
                return emit(common(at) + [("service", quoted("svc-" + queue)), ("kind", quoted("job")),
                                          ("queue", quoted(queue)), ("job", quoted(job)), ("job_id", job_id),
                                          ("event", quoted(event)), ("attempt", "1"),
                                          ("entity", quoted(f"user-{rnd.randrange(10_000)}"))] + extra)

            enq = job_line("enqueued", ts, [])
            sta = job_line("started", started_ms, [])
            fin = job_line(end, done_ms, [("duration_ms", f"{done_ms - started_ms:.3f}")])
            if rnd.random() < 0.3:  # the worker's log line reached the file before the enqueuer's
                lines += [sta, enq, fin]
            else:
                lines += [enq, sta, fin]
            counts["jobs"] += 3
    for line in lines:
        counts["bytes"] += len(line)
        out.write(line)
    return counts


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--out", required=True, help="output file, - for stdout")
    p.add_argument("--shape", choices=["spec11", "legacy"], default="spec11")
    p.add_argument("--spread", type=float, default=None,
                   help="seconds of event time the lines span, ending now (spec11: 3300, legacy: 60)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--now-ms", type=int, default=None)
    p.add_argument("--funnel-share", type=float, default=0.0, help="legacy: share of lines that are funnel steps (no ts)")
    p.add_argument("--summary", help="write `requests=N jobs=N funnel=N bytes=N` to this file")
    a = p.parse_args()
    if a.shape == "spec11":
        out = sys.stdout if a.out == "-" else open(a.out, "w", buffering=1 << 20)
        c = spec11(a, out)
        if out is not sys.stdout:
            out.close()
        print(f"gen_events: {a.count} lines ({c['requests']} requests, {c['jobs']} job lines, {c['funnel']} funnel "
              f"steps), {c['bytes']} bytes, {c['bytes'] / max(1, a.count):.0f} B/line", file=sys.stderr)
        if a.summary:
            with open(a.summary, "w") as f:
                f.write(" ".join(f"{k}={v}" for k, v in c.items()) + "\n")
        return 0
    if a.spread is None:
        a.spread = 60.0

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
    if a.summary:
        with open(a.summary, "w") as f:
            f.write(f"requests={a.count - funnel_lines} jobs=0 funnel={funnel_lines} bytes={total}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
