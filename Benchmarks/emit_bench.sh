#!/usr/bin/env bash
# Emit-call cost of OpsightMetrics (SPEC §11: ≤ 500 ns median, never blocks): 1 000 000 request events into an
# emitter whose transport discards, timed per batch of 10 000 calls; prints the median and p99 per call.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
swift build -c release --product emit-bench --scratch-path .build-release >/dev/null
.build-release/release/emit-bench
