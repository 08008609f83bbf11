#!/usr/bin/env python3
"""Redis CPU of a hot commit in today's layout against one blob per hash key (issue 15, a design measurement).

Shipping a file of the last hour, what "visible" waits for is the chain of hot commits, each one `MULTI` of
~26 000 `HINCRBY`s (a one-request cell is one field: its sketch bucket standing for the class) over ~160
(service, 10 s bucket) hashes, executed by Redis one after another (docs/benchmarks.md, "part five"). This measures,
on the same Redis and the same cells, what Redis spends on such commits against two layouts that write each hash
key's share of a commit as one value a reader would merge:

    hincrby  today's: one HINCRBY per (key, field), in MULTI/EXEC
    append   one APPEND per key of the commit's fields and increments, packed (a log per key)
    hset     one HSET per key of a field named after the commit holding the packed fields (parts per key)

Each mode sends COMMITS commits with `redis-cli --pipe` into database DB of the Redis on PORT (flushed before and
after each run: use a database nothing else uses) and prints Redis's CPU seconds (INFO cpu, user + sys) and the
wall time of the pipe, per round, then the medians. The fields are the shape the collector writes (`r<US>route<US>
GET<US>b<sketch bucket>`, 20 services x 500 routes, 8 buckets a commit).

    python3 Benchmarks/redis_layout_cost.py --port 6379 [--db 15] [--commits 20] [--fields 26000] [--rounds 3]
"""
import argparse
import random
import statistics
import subprocess
import time


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def commits(mode, count, fields, seed=1):
    rng = random.Random(seed)
    out = []
    for c in range(count):
        cells = {}
        for _ in range(fields):
            key = "layout:{svc-%02d}:%d" % (rng.randrange(20), 179_000_000 + rng.randrange(8))
            field = "r\x1f/api/v1/route/%d\x1fGET\x1fb%d" % (rng.randrange(500), rng.randrange(40, 90))
            cells.setdefault(key, []).append((field, rng.randrange(1, 3)))
        out.append(resp("MULTI"))
        for key, pairs in cells.items():
            if mode == "hincrby":
                for field, value in pairs:
                    out.append(resp("HINCRBY", key, field, str(value)))
            else:
                blob = b"".join(f.encode() + b"\x1e" + str(v).encode() + b"\x1d" for f, v in pairs)
                if mode == "append":
                    out.append(resp("APPEND", key + ":log", blob))
                else:
                    out.append(resp("HSET", key + ":parts", "c%d" % c, blob))
        out.append(resp("EXEC"))
    return b"".join(out)


def redis_cpu(port):
    info = subprocess.run(["redis-cli", "-p", str(port), "INFO", "cpu"], capture_output=True, text=True,
                          check=True, timeout=30).stdout
    return sum(float(line.split(":")[1]) for line in info.splitlines()
               if line.startswith("used_cpu_user:") or line.startswith("used_cpu_sys:"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", type=int, default=15)
    ap.add_argument("--commits", type=int, default=20)
    ap.add_argument("--fields", type=int, default=26_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.commits < 1 or args.fields < 1 or args.rounds < 1:
        ap.error("--commits, --fields and --rounds must be at least 1")
    modes = ["hincrby", "append", "hset"]
    payloads = {m: commits(m, args.commits, args.fields) for m in modes}
    cli = ["redis-cli", "-p", str(args.port), "-n", str(args.db)]
    results = {m: [] for m in modes}
    for r in range(args.rounds):
        for m in modes:  # interleaved, so a machine that changes speed affects every mode alike
            subprocess.run(cli + ["FLUSHDB"], check=True, capture_output=True, timeout=60)
            before = redis_cpu(args.port)
            t0 = time.monotonic()
            subprocess.run(cli + ["--pipe"], input=payloads[m], check=True, capture_output=True, timeout=600)
            wall = time.monotonic() - t0
            cpu = redis_cpu(args.port) - before
            results[m].append((cpu, wall))
            print(f"round={r + 1} mode={m} bytes_sent={len(payloads[m])} redis_cpu_s={cpu:.3f} wall_s={wall:.3f} "
                  f"redis_cpu_ms_per_commit={1000 * cpu / args.commits:.2f}", flush=True)
    subprocess.run(cli + ["FLUSHDB"], check=True, capture_output=True, timeout=60)
    base = statistics.median(c for c, _ in results["hincrby"])
    for m in modes:
        cpu = statistics.median(c for c, _ in results[m])
        wall = statistics.median(w for _, w in results[m])
        print(f"median mode={m} redis_cpu_ms_per_commit={1000 * cpu / args.commits:.2f} "
              f"wall_ms_per_commit={1000 * wall / args.commits:.2f} cpu_vs_hincrby={cpu / base:.3f}")


if __name__ == "__main__":
    main()
