#!/usr/bin/env python3
"""Summarises Benchmarks/run.sh's results file: prints the table and writes it into docs/benchmarks.md.

Reads the environment run.sh exports (BENCH_RESULTS, BENCH_DOC, ...). The results file has one line per run,
`<kind> key=value ...`. In BENCH_DOC the new run goes first between `<!-- bench:results:begin -->` and
`<!-- bench:results:end -->`, above the earlier runs (every run is kept with its command and commit); a missing
file (or missing markers) gets a fresh file.
"""

import datetime
import os
import platform
import re
import statistics
import subprocess
import sys

BEGIN = "<!-- bench:results:begin -->"
END = "<!-- bench:results:end -->"
TARGET_EPS = 400_000
TARGET_RATIO = 5.0
MAX_OTHERS = float(os.environ.get("BENCH_MAX_OTHERS", "0.3"))


def env(name, default=""):
    return os.environ.get(name, default)


def parse(path):
    runs = []
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        rec = {"kind": parts[0]}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            rec[k] = v
        runs.append(rec)
    return runs


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return 0.0


def fmt_int(x):
    return f"{x:,.0f}".replace(",", " ")


def median_run(runs, key):
    """The run holding the median of `key` (the lower middle for an even count)."""
    ordered = sorted(runs, key=lambda r: num(r[key]))
    return ordered[(len(ordered) - 1) // 2]


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return ""


def machine():
    model = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = ""
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
            break
    return {
        "nproc": sh("nproc"),
        "cpu": model,
        "memory": mem,
        "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo \"$PRETTY_NAME\""),
        "swift": sh("swift --version 2>&1 | head -1"),
        "wrk": sh("dpkg-query -W -f='${Version}' wrk"),
        "mtail": sh("dpkg-query -W -f='${Version}' mtail"),
        "load": open("/proc/loadavg").read().split()[:3],
        "commit": sh("git rev-parse --short HEAD")
        + (" (+ uncommitted changes to the sources)"
           if sh("git status --porcelain --untracked-files=normal -- Sources Package.swift Package.resolved") else ""),
    }


def main():
    runs = parse(env("BENCH_RESULTS"))
    plain = [r for r in runs if r["kind"] == "ingest" and r["mode"] == "plain"]
    gz = [r for r in runs if r["kind"] == "ingest" and r["mode"] == "gzip"]
    mtail = [r for r in runs if r["kind"] == "mtail"]
    ship = [r for r in runs if r["kind"] == "ship"]
    ship_plain = [r for r in runs if r["kind"] == "ship_plain"]
    query = next((r for r in runs if r["kind"] == "query"), None)
    memory = next((r for r in runs if r["kind"] == "memory"), None)
    fresh = next((r for r in runs if r["kind"] == "freshness"), None)
    before = next((r for r in runs if r["kind"] == "machine"), None)
    failed = [r for r in runs if r.get("verdict", "ok") != "ok"]

    def split(r, loadgen):
        return (f"opsight {r['opsight_cores']}, {loadgen} {r['loadgen_cores']}, redis {r['redis_cores']}, "
                f"postgres {r['postgres_cores']}, other processes {r['others_cores']} (machine {r['system_busy']} % busy)")

    rows = []
    def is_contended(r):
        return num(r.get("others_cores")) > MAX_OTHERS

    def runs_text(rs, key):
        return " / ".join(fmt_int(num(r[key])) + (" (c)" if is_contended(r) else "") for r in rs)

    if plain:
        clean = [r for r in plain if not is_contended(r)]
        m = median_run(clean or plain, "events_per_s")
        eps = num(m["events_per_s"])
        rows.append((
            "ingest, NDJSON over HTTP, durable ack",
            f"**{fmt_int(eps)} events/s**, {num(m['mb_per_s']):.1f} MB/s"
            + (f" (median of the {len(clean)} uncontended runs)" if clean and len(clean) < len(plain) else "")
            + ("" if clean else " (every run contended)"),
            runs_text(plain, "events_per_s"),
            f"≥ {fmt_int(TARGET_EPS)} events/s (≈ 100 MB/s)",
            f"{'met' if eps >= TARGET_EPS else 'NOT met'}: {eps / TARGET_EPS * 100:.0f} % of target",
        ))
        rows.append(("  ack latency of a 1 000-event POST (median run)",
                     f"p50 {num(m['p50_ms']):.1f} ms, p99 {num(m['p99_ms']):.1f} ms, max {num(m['max_ms']):.0f} ms", "", "", ""))
        rows.append(("  CPU cores used (of 2), median run", split(m, "wrk"), "", "", ""))
        if num(m.get("opsight_cores")) and eps:
            rows.append(("  collector CPU per event (median run)",
                         f"{num(m['opsight_cores']) / eps * 1e6:.2f} CPU-µs/event", "", "", ""))
    if gz:
        m = median_run(gz, "events_per_s")
        eps = num(m["events_per_s"])
        rows.append((
            "ingest, gzip'd NDJSON over HTTP, durable ack",
            f"{fmt_int(eps)} events/s, {num(m['mb_per_s']):.1f} MB/s of NDJSON ({num(m['wire_mb_per_s']):.1f} MB/s on the wire)",
            runs_text(gz, "events_per_s"), "", "",
        ))
        rows.append(("  CPU cores used (of 2)", split(m, "wrk"), "", "", ""))
    ratio = None
    if mtail and ship:
        mm = median_run(mtail, "lines_per_s")
        ms = median_run(ship, "lines_per_s")
        ratio = num(ms["lines_per_s"]) / num(mm["lines_per_s"]) if num(mm["lines_per_s"]) else 0
        lines = int(env("BENCH_LINES", "0"))
        rows.append((
            f"mtail --one_shot, {fmt_int(lines)} lines",
            f"{fmt_int(num(mm['lines_per_s']))} lines/s ({num(mm['seconds']):.1f} s; {num(mm['mtail_cpu_s']):.1f} CPU-s)",
            runs_text(mtail, "lines_per_s"), "",
            f"other processes {mm['others_cores']} cores",
        ))
        # The collector's work after "visible" (the durable store's catch-up) counts in the CPU per line too.
        settle_cpu = num(ms.get("settle_cpu_s"))
        opsight_cpu = num(ms["ship_cpu_s"]) + num(ms["opsight_cpu_s"]) + settle_cpu
        settled = (f"; after that the collector worked {num(ms.get('settle_s')):.1f} s more (the durable store's "
                   f"catch-up), {settle_cpu:.1f} CPU-s") if "settle_cpu_s" in ms else ""
        rows.append((
            "opsight ship FILE until every line is visible in the API",
            f"{fmt_int(num(ms['lines_per_s']))} lines/s ({num(ms['seconds']):.1f} s: all acknowledged after "
            f"{num(ms['acked_seconds']):.1f} s = {fmt_int(num(ms['acked_lines_per_s']))} lines/s; the poll that saw "
            f"them all ran from {num(ms.get('last_query_began_s')):.1f} to {num(ms['seconds']):.1f} s; "
            f"{opsight_cpu:.1f} CPU-s = ship {num(ms['ship_cpu_s']):.1f} + collector {num(ms['opsight_cpu_s']):.1f}"
            f"{' + ' + format(settle_cpu, '.1f') + ' after' if settled else ''}{settled})",
            runs_text(ship, "lines_per_s"), "",
            f"other processes {ms['others_cores']} cores",
        ))
        for r in ship_plain:
            rows.append((
                f"  for information: opsight ship {r['options'].replace('_', ' ')} (one run)",
                f"{fmt_int(num(r['lines_per_s']))} lines/s ({num(r['seconds']):.1f} s; acknowledged after "
                f"{num(r['acked_seconds']):.1f} s = {fmt_int(num(r['acked_lines_per_s']))} lines/s; ship {num(r['ship_cpu_s']):.1f} CPU-s, "
                f"collector {num(r['opsight_cpu_s']):.1f})", "", "", f"other processes {r['others_cores']} cores",
            ))
        rows.append((
            "opsight vs mtail (median lines/s)",
            f"**{ratio:.2f}×** (acknowledged only: {num(ms['acked_lines_per_s']) / num(mm['lines_per_s']):.2f}×; "
            f"CPU-s per line: {num(mm['mtail_cpu_s']) / opsight_cpu if opsight_cpu else 0:.2f}× less than mtail)",
            "", f"≥ {TARGET_RATIO:.0f}×", f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}",
        ))
    if query:
        rows.append((
            "  GET /api/v1/services?window=1h after the runs (the query the polls make)",
            f"median {num(query['median_s']) * 1000:.0f} ms, max {num(query['max_s']) * 1000:.0f} ms "
            f"({fmt_int(num(query['requests']))} requests in the window)", "", "", "",
        ))
    if fresh:
        p99 = num(fresh["p99_ms"])
        rows.append((
            f"acknowledged → visible at the current time, while ingest runs at {fresh['load_percent']} % of max",
            f"p50 {num(fresh['p50_ms']):.0f} ms, **p99 {p99:.0f} ms**, max {num(fresh['max_ms']):.0f} ms "
            f"({fresh['probes']} probes; background {fmt_int(num(fresh['background_events_per_s']))} events/s)",
            "", "p99 ≤ 1 s", "met" if p99 <= 1000 else "NOT met"))
    if memory:
        peak = num(memory["peak_rss_mb"])
        rows.append((
            f"collector RSS after every run above ({'10 000 series' if env('BENCH_SHAPE') == 'spec11' else 'legacy shape: ~200 series'})",
            f"peak **{peak:.0f} MB**, at the end {num(memory['rss_mb']):.0f} MB", "", "≤ 300 MB",
            "met" if peak <= 300 else "NOT met"))
    if before:
        rows.append(("machine busy before the runs (other processes)", f"{before['busy_before_percent']} %, load {before['load']}",
                     "", "", ""))
    check = ("every run: the API counted exactly the events the 200 answers acknowledged, and mtail counted "
             "every line" if not failed else f"{len(failed)} run(s) FAILED their check: see the raw lines")
    rows.append(("checks", check, "", "", ""))
    if any(is_contended(r) for r in runs if "others_cores" in r):
        rows.append(("(c)", f"a run during which other processes took more than {MAX_OTHERS} of the 2 cores", "", "", ""))

    header = ("what", "median", "runs", "SPEC §11 target", "status")
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]

    # Console summary.
    print()
    print("Opsight benchmarks")
    for row in rows:
        what, med, each, target, status = row
        line = f"  {what:<58} {med}"
        if each:
            line += f"   [runs: {each}]"
        if status:
            line += f"   {status}"
        print(line)
    print()

    doc_path = env("BENCH_DOC")
    if not doc_path or doc_path == "-":
        return 0
    m = machine()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    secs, grace = env("BENCH_SECONDS"), env("BENCH_GRACE")
    t, c = env("BENCH_THREADS"), env("BENCH_CONNECTIONS")
    raw, gzb, events = int(env("BENCH_RAW_BYTES", "0")), int(env("BENCH_GZ_BYTES", "0")), int(env("BENCH_BODY_EVENTS", "1"))
    lines, fbytes = int(env("BENCH_LINES", "0")), int(env("BENCH_FILE_BYTES", "0"))
    binary = env("BENCH_BIN_USED")
    try:
        built = datetime.datetime.fromtimestamp(os.path.getmtime(binary), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except OSError:
        built = "?"
    binary = os.path.relpath(binary) if binary.startswith(os.getcwd()) else binary
    block = [
        BEGIN,
        f"_Written by `Benchmarks/run.sh` on {now}; measuring took {num(env('BENCH_MEASURE_SECONDS')):.0f} s._",
        "",
        f"- machine: {m['nproc']} cores ({m['cpu']}), {m['memory']} RAM, {m['os']}, Linux {m['kernel']}; "
        f"load average at the end {' '.join(m['load'])}",
        f"- software: {m['swift']}; wrk {m['wrk']}; mtail {m['mtail']}; opsight release binary `{binary}` "
        f"(built {built}), working tree at {m['commit']}",
        f"- input shape: `BENCH_SHAPE={env('BENCH_SHAPE', 'legacy')}` (see Benchmarks/gen_events.py)",
        f"- ingest body: {events} events, {raw} bytes ({raw / events:.0f} B/event), gzip'd {gzb} bytes; "
        f"compare file: {fmt_int(lines)} lines, {fbytes / 1e6:.0f} MB ({fbytes / max(1, lines):.0f} B/line)",
        "",
        *table,
        "",
        "<details><summary>raw results, one line per run</summary>",
        "",
        "```",
        *[line.rstrip() for line in open(env("BENCH_RESULTS"))],
        "```",
        "</details>",
        "",
        "Commands (PORT and TOKEN are chosen per run; the collector runs with a fresh schema, key prefix and WAL):",
        "",
        "```sh",
        "swift build -c release --product opsight --scratch-path .build-release",
        "bash scripts/stores.sh start && eval \"$(bash scripts/stores.sh env)\"",
        ".build-release/release/opsight serve --config opsight.yaml   # listen 127.0.0.1:PORT, token scopes [ingest, read]",
        f"BENCH_SHAPE={env('BENCH_SHAPE', 'legacy')} bash Benchmarks/run.sh   # what ran; its steps:",
        *([f"python3 Benchmarks/gen_events.py --count {events} --out body-N.ndjson --seed N+1   # N = 0..9, body-%d.ndjson to wrk"]
          if env("BENCH_SHAPE") == "spec11" else
          [f"python3 Benchmarks/gen_events.py --shape legacy --count {events} --out body.ndjson --spread 60 --seed 1"]),
        f"wrk -t{t} -c{c} -d{int(secs) + int(grace)}s --latency -s Benchmarks/post.lua http://127.0.0.1:PORT -- body.ndjson TOKEN {secs}",
        f"gzip -6 -c body.ndjson > body.ndjson.gz",
        f"wrk -t{t} -c{c} -d{int(secs) + int(grace)}s --latency -s Benchmarks/post.lua http://127.0.0.1:PORT -- body.ndjson.gz TOKEN {secs} gzip",
        (f"python3 Benchmarks/gen_events.py --count {lines} --out events.ndjson --seed 2" if env("BENCH_SHAPE") == "spec11"
         else f"python3 Benchmarks/gen_events.py --shape legacy --count {lines} --out events.ndjson --spread 300 --seed 2"),
        f"mtail --one_shot --one_shot_format json --progs Benchmarks/{'mtail' if env('BENCH_SHAPE') == 'spec11' else 'mtail-legacy'} --logs events.ndjson --logtostderr --address 127.0.0.1 --port 0",
        ".build-release/release/opsight ship events.ndjson --url http://127.0.0.1:PORT --token TOKEN",
        ".build-release/release/opsight ship events.ndjson --url http://127.0.0.1:PORT --token TOKEN --gzip-level 1   # once, for information",
        f"python3 Benchmarks/api_count.py --url http://127.0.0.1:PORT --token TOKEN --target <before + {lines}> --since <start ns>",
        "```",
        END,
    ]
    text = "\n".join(block) + "\n"
    if os.path.exists(doc_path):
        old = open(doc_path).read()
        if BEGIN in old and END in old:
            pre, rest = old.split(BEGIN, 1)
            earlier, post = rest.split(END, 1)
            # The new run first, the earlier ones kept below it.
            text = pre + text.rstrip("\n")[: -len(END)].rstrip("\n") + "\n\n---\n" + earlier.strip("\n") + "\n" + END + post
        else:
            text = old.rstrip("\n") + "\n\n## Latest results\n\n" + text
    else:
        text = "# Benchmarks\n\n`make bench` (`bash Benchmarks/run.sh`) measures SPEC §11's ingest targets.\n\n## Latest results\n\n" + text
    os.makedirs(os.path.dirname(doc_path) or ".", exist_ok=True)
    with open(doc_path, "w") as f:
        f.write(text)
    print(f"wrote {doc_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
