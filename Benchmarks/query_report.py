#!/usr/bin/env python3
"""Summarises Benchmarks/query_bench.sh's results and writes them between the `bench:query` markers.

Reads QBENCH_RESULTS (lines `query name=… requests=… p50_ms=… p99_ms=… max_ms=… verdict=… round=…`) and
prints a table of medians over the rounds; unless QBENCH_DOC is "-", replaces the text between
`<!-- bench:query:begin -->` and `<!-- bench:query:end -->` in that file with the table and the raw lines.
"""

import os
import statistics
import subprocess
import time


def main() -> None:
    env = os.environ
    raw = [line for line in open(env["QBENCH_RESULTS"]) if line.startswith("query ")]
    rows = [dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv) for line in raw]
    names = list(dict.fromkeys(r["name"] for r in rows))
    table = ["| query | requests | p50 ms | p99 ms | max ms | verdict |", "|---|---|---|---|---|---|"]
    for n in names:
        rs = [r for r in rows if r["name"] == n]

        def med(k: str) -> float:
            return statistics.median(float(r[k]) for r in rs)

        verdicts = ", ".join(sorted({r["verdict"] for r in rs}))
        table.append(f"| `{n}` | {int(med('requests'))} | {med('p50_ms'):.2f} | **{med('p99_ms'):.2f}** | "
                     f"{med('max_ms'):.2f} | {verdicts} |")
    print("\n".join(table))
    doc = env.get("QBENCH_DOC", "-")
    if doc == "-":
        return
    git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True).stdout.strip()  # noqa: E731
    commit = git("rev-parse", "--short", "HEAD")
    dirty = " (+ uncommitted changes)" if git("status", "--porcelain", "Sources") else ""
    body = (f"_Written by `Benchmarks/query_bench.sh` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} at "
            f"{commit}{dirty}: {env['QBENCH_EVENTS']} events shipped, medians over {env['QBENCH_ROUNDS']} round(s); "
            f"{env['QBENCH_CLIENTS']} clients, {env['QBENCH_MIN_SECONDS']}–{env['QBENCH_MAX_SECONDS']} s and "
            f"≥ 1 000 requests per query while ~1 500 events/s are ingested._\n\n"
            + "\n".join(table) + "\n\n```\n" + "".join(raw) + "```\n")
    text = open(doc).read()
    begin, end = "<!-- bench:query:begin -->", "<!-- bench:query:end -->"
    if begin in text and end in text:
        text = text[: text.index(begin) + len(begin)] + "\n" + body + text[text.index(end):]
        with open(doc, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
