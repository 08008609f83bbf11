#!/usr/bin/env bash
# The collector's per-line CPU on its ingest path, in process (Sources/IngestBench): decoding a SPEC §11 body, its
# pre-aggregation into 10-second cells, the log record's encoding and its decoding on read-back, each as CPU-ns per
# line (median of the rounds, with the fastest and slowest: on a shared machine the fastest is the steadier figure). No HTTP, stores or second process: decoder and aggregation changes compared on a
# shared machine, binary against binary, in the same minute.
#   bash Benchmarks/ingest_bench.sh [rounds, default 7] [lines, default 200000] [stage, e.g. decode]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
swift build -c release --product ingest-bench --scratch-path .build-release >/dev/null
file=$(mktemp /tmp/opsight-ingest-bench.XXXXXX)
trap 'rm -f "$file"' EXIT
python3 Benchmarks/gen_events.py --count "${2:-200000}" --out "$file" --seed 3 >/dev/null
.build-release/release/ingest-bench "$file" "${1:-7}" ${3:+"$3"}
