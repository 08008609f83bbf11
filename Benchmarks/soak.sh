#!/usr/bin/env bash
# Memory soak (SPEC §11: collector memory at 10 000 series under full load ≤ 300 MB RSS, flat over a 10-minute
# soak):
#
#   bash Benchmarks/soak.sh            # SOAK_SECONDS (600) of wrk at full speed with the SPEC §11 bodies
#
# Runs Benchmarks/run.sh with BENCH_MODE=soak: the same release build, stores, collector (three funnels) and the
# ten 1 000-event bodies over 10 000 series, then wrk without pacing for SOAK_SECONDS while the collector's RSS
# is sampled every second into BENCH_OUT/soak-rss.csv (default test-output/bench, not committed) and plotted
# to soak-rss.png (Benchmarks/plot_rss.py; matplotlib from pip). Prints the peak, the median of the last
# minute and the slope over the second half (MB/min) — "flat" means that slope stays near 0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BENCH_MODE=soak BENCH_DOC=- exec bash Benchmarks/run.sh "$@"
