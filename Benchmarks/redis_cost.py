#!/usr/bin/env python3
"""Redis cost of the hot store per flushed cell (docs/scaling.md).

Starts `opsight serve` ($OPSIGHT_BIN) on the stores of `scripts/stores.sh` (or the Redis given with --redis-url,
e.g. a redis+cluster:// URL; --redis-cli-ports lists the nodes whose INFO to add up), sends ROUNDS rounds of
events over SERVICES x ROUTES series, one round per hot flush, and reports from `INFO commandstats` and
`INFO stats` (summed over the nodes) the commands and bytes in per flushed cell, and from `MEMORY USAGE` the bytes
per cell held in the bucket hashes. A cell is one (service, route, method, 10 s bucket) a flush touches.

    python3 Benchmarks/redis_cost.py [--services 20] [--routes 10] [--rounds 20] [--events-per-cell 20] [--collectors 1]

With --collectors N, N collectors (own WALs, one key prefix) each take 1/N of every round's services, and the
commands (and change-feed `XADD`s) are reported per node too: how the feed's writes spread over the masters.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request


def redis_info(port, section):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", section], capture_output=True, text=True).stdout
    return out


def commandstats_by_port(ports):
    out = {}
    for port in ports:
        out[port] = {m.group(1): int(m.group(2))
                     for m in re.finditer(r"cmdstat_(\w+):calls=(\d+)", redis_info(port, "commandstats"))}
    return out


def commandstats(ports):
    calls = {}
    for port in ports:
        for m in re.finditer(r"cmdstat_(\w+):calls=(\d+)", redis_info(port, "commandstats")):
            calls[m.group(1)] = calls.get(m.group(1), 0) + int(m.group(2))
    return calls


def net_input(ports):
    total = 0
    for port in ports:
        m = re.search(r"total_net_input_bytes:(\d+)", redis_info(port, "stats"))
        total += int(m.group(1))
    return total


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=20)
    ap.add_argument("--routes", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--events-per-cell", type=int, default=20)
    ap.add_argument("--redis-url")
    ap.add_argument("--redis-cli-ports", help="comma-separated ports of every node (cluster)")
    ap.add_argument("--collectors", type=int, default=1)
    args = ap.parse_args()

    env_lines = subprocess.run(["scripts/stores.sh", "env"], capture_output=True, text=True, check=True).stdout
    env = dict(os.environ)
    for line in env_lines.splitlines():
        m = re.match(r"export (\w+)=(.*)", line)
        if m:
            env[m.group(1)] = m.group(2).strip("'\"")
    redis_url = args.redis_url or env["OPSIGHT_TEST_REDIS_URL"]
    ports = [int(p) for p in args.redis_cli_ports.split(",")] if args.redis_cli_ports else [
        int(re.search(r":(\d+)", redis_url.split("//")[1]).group(1))]
    binary = env.get("OPSIGHT_BIN") or ".build/debug/opsight"
    work = tempfile.mkdtemp(prefix="opsight-redis-cost-")
    prefix = "cost%d" % random.randrange(1 << 30)
    listen = []
    env["OPSIGHT_REDIS_URL"] = redis_url
    env["OPSIGHT_DATABASE_URL"] = env["OPSIGHT_TEST_DATABASE_URL"]
    servers = []
    for c in range(args.collectors):
        listen.append(free_port())
        config = os.path.join(work, f"opsight{c}.yaml")
        with open(config, "w") as f:
            f.write(f"""listen: 127.0.0.1:{listen[c]}
database_schema: {prefix}
redis_key_prefix: {prefix}
wal: {{dir: {work}/wal{c}, max_bytes: 1GiB}}
auth:
  tokens:
    - {{name: ops, token: "tok-{prefix}", scopes: [ingest, read, admin]}}
""")
        log = open(os.path.join(work, f"opsight{c}.log"), "w")
        servers.append(subprocess.Popen([binary, "serve", "--config", config], env=env, stdout=log, stderr=log))
        if c == 0:
            time.sleep(3)  # the first one creates the schema and the epoch
    try:
        bases = [f"http://127.0.0.1:{p}" for p in listen]
        for base in bases:
            for _ in range(600):
                try:
                    if urllib.request.urlopen(base + "/readyz", timeout=1).status == 200:
                        break
                except Exception:
                    time.sleep(0.1)
        rng = random.Random(7)
        time.sleep(1)
        before_calls, before_bytes = commandstats(ports), net_input(ports)
        before_by_port = commandstats_by_port(ports)
        cells = 0
        for r in range(args.rounds):
            now = int(time.time() * 1000)
            lines = [[] for _ in bases]
            for s in range(args.services):
                for rt in range(args.routes):
                    for i in range(args.events_per_cell):
                        ms = round(rng.lognormvariate(3.5, 1.0), 1)
                        status = 500 if rng.random() < 0.02 else 200
                        lines[s % len(bases)].append(json.dumps({"ts": now - i, "service": f"{prefix}-s{s}", "route": f"/r{rt}",
                                                 "method": "GET", "status": status, "duration_ms": ms}))
            for base, part in zip(bases, lines):
                req = urllib.request.Request(base + "/v1/ingest", data=("\n".join(part) + "\n").encode(),
                                             method="POST", headers={"Authorization": f"Bearer tok-{prefix}",
                                                                     "Content-Type": "application/x-ndjson"})
                urllib.request.urlopen(req, timeout=30).read()
            cells += args.services * args.routes
            time.sleep(0.5)  # longer than the 200 ms hot flush interval: one flush per round
        time.sleep(1.5)
        after_calls, after_bytes = commandstats(ports), net_input(ports)
        after_by_port = commandstats_by_port(ports)
        delta = {k: after_calls.get(k, 0) - before_calls.get(k, 0) for k in after_calls}
        delta = {k: v for k, v in delta.items() if v > 0}
        total = sum(delta.values())
        print(f"redis: {redis_url}; {args.services} services x {args.routes} routes, {args.rounds} rounds, "
              f"{args.events_per_cell} events per cell per round; {cells} flushed cells")
        print("commands per flushed cell: %.1f (%s)" % (total / cells, ", ".join(
            f"{k} {v / cells:.2f}" for k, v in sorted(delta.items(), key=lambda kv: -kv[1]))))
        print("bytes into Redis per flushed cell: %.0f" % ((after_bytes - before_bytes) / cells))
        per = {p: {k: v - before_by_port[p].get(k, 0) for k, v in after_by_port[p].items()} for p in ports}
        xadds = sum(per[p].get("xadd", 0) for p in ports) or 1
        allc = sum(sum(v for v in per[p].values() if v > 0) for p in ports) or 1
        print("per node: " + "; ".join(
            f"{p}: {100 * sum(v for v in per[p].values() if v > 0) / allc:.0f}% of commands, "
            f"{100 * per[p].get('xadd', 0) / xadds:.0f}% of feed XADDs" for p in ports))
        keys = []
        for p in ports:
            out = subprocess.run(["redis-cli", "-p", str(p), "--scan", "--pattern", f"{prefix}:*"],
                                 capture_output=True, text=True).stdout.split()
            keys += [(p, k) for k in out]
        memory = {}
        for p, k in keys:
            kind = re.sub(r"\{[^}]*\}", "{S}", k[len(prefix):])
            kind = re.sub(r":\d+$", ":<n>", kind)
            used = subprocess.run(["redis-cli", "-p", str(p), "MEMORY", "USAGE", k], capture_output=True,
                                  text=True).stdout.strip()
            if used.isdigit():
                memory.setdefault(kind, []).append(int(used))
        buckets = sum(sum(v) for k, v in memory.items() if ":h:" in k)
        distinct_cells = args.services * args.routes * len({k for _, k in keys if ":h:" in k}) // max(
            1, args.services)
        print("memory (MEMORY USAGE) by key kind: " + ", ".join(
            f"{k} {len(v)} keys {sum(v)} B" for k, v in sorted(memory.items())))
        print("bucket-hash bytes per stored cell: %.0f (%d cells)" % (buckets / max(1, distinct_cells),
                                                                   distinct_cells))
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(10)
        print(f"(work dir {work})", file=sys.stderr)


if __name__ == "__main__":
    main()
