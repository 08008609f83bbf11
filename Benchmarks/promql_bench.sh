#!/usr/bin/env bash
# PromQL evaluation CPU per query shape at 10 000 series, in process (Sources/PromQLBench): what one evaluation of
# each shape of Benchmarks/query_bench.sh costs without HTTP, stores or other clients, so that evaluator changes can
# be compared on a shared machine. Prints the p50/p90 CPU-µs and the wall-µs p50 per shape.
#   bash Benchmarks/promql_bench.sh [seconds per shape, default 2] [shape: only those whose name contains it]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
swift build -c release --product promql-bench --scratch-path .build-release >/dev/null
.build-release/release/promql-bench "${1:-2}" ${2:+"$2"}
