#!/usr/bin/env bash
# Interleaved HTTP-ingest comparison of opsight binaries: what `make bench`'s ingest step measures, for two or more
# builds in turns, so a change can be judged on a shared machine whose speed drifts by ±15 % within minutes.
#
#   bash Benchmarks/ingest_ab.sh [ROUNDS] [SECONDS] BIN...
#   e.g. bash Benchmarks/ingest_ab.sh 3 12 /tmp/opsight-before .build-release/release/opsight
#
# Each round runs every binary once: a fresh `opsight serve` (own PostgreSQL schema, Redis key prefix and WAL, the
# three funnels of Benchmarks/run.sh) on the local stores, wrk posting the SPEC §11 bodies (10 bodies of 1 000
# events, times over the last hour, made fresh by this run: bodies an hour old would fall outside the windows and
# cost less) for SECONDS, and one line per run: events/s, the collector's CPU-µs per event (utime + stime over the
# run and 3 s after), wrk's p99 and the collector's peak RSS. AB_PERF=FILE records a perf profile of the first
# binary's first run. AB_SAME=N posts N runs into each collector (a line each, `same=` numbering them), as `make
# bench`'s HTTP step does: later runs meet the rows and keys the first ones left. PostgreSQL's CPU seconds over each
# run (all its processes) are printed too. AB_EXTRA='YAML' is appended to every collector's configuration (e.g. a
# `raw_events:` section). Everything started here is stopped; the schemas and keys are dropped.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${1:-3}
SECS=${2:-12}
shift 2 || true
(($# > 0)) || { echo "usage: $0 ROUNDS SECONDS BIN..." >&2; exit 2; }
for tool in wrk curl psql redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "ingest_ab: '$tool' is not installed" >&2; exit 1; }
done
cd "$REPO"
bash scripts/stores.sh status >/dev/null 2>&1 || { echo "ingest_ab: start the stores first (bash scripts/stores.sh start)" >&2; exit 1; }
eval "$(bash scripts/stores.sh env)"
WORK=$(mktemp -d /tmp/opsight-ingest-ab.XXXXXX)
SERVE_PID=""
cleanup() {
    [[ -n $SERVE_PID ]] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
# PostgreSQL's CPU ticks, all its processes (the collector's connections do its inserts and compaction).
pgticks() { { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '$2 == "(postgres)" { s += $14 + $15 } END { print s + 0 }'; }
for b in $(seq 0 9); do
    python3 Benchmarks/gen_events.py --count 1000 --out "$WORK/body-$b.ndjson" --seed $((b + 1)) 2>/dev/null
done
funnels=$(sed -n '/^funnels:/,/^EOF/p' Benchmarks/run.sh | grep -v '^EOF')

for round in $(seq "$ROUNDS"); do
    for bin in "$@"; do
        run=$(mktemp -d "$WORK/run.XXXX")
        sfx="ab_$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        cat >"$run/opsight.yaml" <<EOF
listen: 127.0.0.1:$port
redis_url: $OPSIGHT_REDIS_URL
database_url: $OPSIGHT_DATABASE_URL
database_schema: $sfx
redis_key_prefix: $sfx
wal:
  dir: $run/wal
auth:
  tokens:
    - name: bench
      token: ab-token
      scopes: [ingest, read]
$funnels
${AB_EXTRA:-}
EOF
        env -u OPSIGHT_LISTEN -u OPSIGHT_WAL_DIR -u OPSIGHT_DATABASE_SCHEMA -u OPSIGHT_REDIS_KEY_PREFIX \
            "$bin" serve --config "$run/opsight.yaml" --log-level warning >"$run/serve.log" 2>&1 &
        SERVE_PID=$!
        for _ in $(seq 600); do
            [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] && break
            kill -0 "$SERVE_PID" 2>/dev/null || { cat "$run/serve.log" >&2; exit 1; }
            sleep 0.1
        done
        if [[ -n ${AB_PERF:-} && $round == 1 && $bin == "$1" ]]; then
            (sleep 2; perf record -F 999 -g -o "$AB_PERF" -p "$SERVE_PID" -- sleep $((SECS - 3)) >/dev/null 2>&1) &
        fi
        for same in $(seq "${AB_SAME:-1}"); do
            t0=$(awk '{print $14 + $15}' "/proc/$SERVE_PID/stat")
            p0=$(pgticks)
            result=$(wrk -t2 -c16 -d$((SECS + 3))s -s Benchmarks/post.lua "http://127.0.0.1:$port" -- \
                "$WORK/body-%d.ndjson" ab-token "$SECS" 2>&1 | grep '^BENCHRESULT') || { echo "ingest_ab: wrk failed" >&2; exit 1; }
            t1=$(awk '{print $14 + $15}' "/proc/$SERVE_PID/stat")
            p1=$(pgticks)
            hwm=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$SERVE_PID/status")
            ticks=$(getconf CLK_TCK)
            python3 - "$round" "$bin" "$((t1 - t0))" "$ticks" "$hwm" "$result" "$same" "$((p1 - p0))" <<'PY'
import sys
rnd, binary, cpu, tck, hwm, result, same, pg = sys.argv[1:9]
v = dict(kv.split("=", 1) for kv in result.split()[1:] if "=" in kv)
acc, el = int(v["accepted"]), float(v["elapsed"])
print(f"round={rnd} same={same} bin={binary} events_per_s={acc / el:.0f} cpu_us_per_event={int(cpu) / int(tck) * 1e6 / acc:.2f} "
      f"postgres_cpu_s={int(pg) / int(tck):.1f} p99_ms={v['p99_ms']} peak_rss_mb={hwm}")
PY
        done
        kill "$SERVE_PID"
        wait "$SERVE_PID" 2>/dev/null || true
        SERVE_PID=""
        psql "$OPSIGHT_DATABASE_URL" -q -c "drop schema $sfx cascade" >/dev/null 2>&1 || true
        redis-cli -u "$OPSIGHT_REDIS_URL" --scan --pattern "$sfx*" | xargs -r -n 500 redis-cli -u "$OPSIGHT_REDIS_URL" del >/dev/null
    done
done
