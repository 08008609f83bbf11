#!/usr/bin/env bash
# `/metrics` scrapes that find every window changed, binary against binary (issue 15).
#
#   bash Benchmarks/scrape_changed.sh [BIN...]          (default: .build-release/release/opsight)
#
# What a Prometheus scraping every 15 s under traffic gets: between two scrapes every window and the totals have a
# new version, so each scrape renders 10 000 series afresh. The query bench's clients scrape back to back and mostly
# find the last render; this measures the other case.
#
# Once: the local stores (scripts/stores.sh), one PostgreSQL schema and Redis key prefix, the query bench's corpus
# (Benchmarks/gen_query_corpus.py: 600 000 events, 10 000 request series over the last 45 minutes, three funnels)
# shipped by the first binary, and a live ingest of 500 events every 0.25 s for the whole run. Then for each round,
# for each binary in turn (interleaved, so a machine that slows down affects every binary alike): `opsight serve`
# restarted on the same stores, SCRAPE_WARM seconds to fill its caches, then SCRAPE_COUNT scrapes of each of
# `/metrics?window=1d`, `/metrics?window=5m` and `/metrics`, one at a time, SCRAPE_INTERVAL seconds apart (one
# client). Printed per binary and shape: min / median / p90 / max ms over the rounds' scrapes, the body size, and the
# collector's CPU per scrape (its user + system time over a shape's scrapes, less what it spent over as long before
# them with only the live ingest — SCRAPE_IDLE seconds measured after the warm-up — median of the rounds).
# Knobs: SCRAPE_ROUNDS (2), SCRAPE_COUNT (12), SCRAPE_INTERVAL (2), SCRAPE_WARM (20), SCRAPE_IDLE (5).
# Everything listens on 127.0.0.1; the schema and keys it makes are dropped; stores it started are stopped.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
ROUNDS=${SCRAPE_ROUNDS:-2}
COUNT=${SCRAPE_COUNT:-12}
INTERVAL=${SCRAPE_INTERVAL:-2}
WARM=${SCRAPE_WARM:-20}
IDLE=${SCRAPE_IDLE:-5}
BINS=("$@")
[[ ${#BINS[@]} -gt 0 ]] || BINS=("$REPO/.build-release/release/opsight")
for b in "${BINS[@]}"; do
    [[ -x $b ]] || {
        echo "scrape_changed: $b is not an executable (build with: swift build -c release --product opsight --scratch-path .build-release)" >&2
        exit 1
    }
done
for tool in curl python3 redis-cli psql; do
    command -v $tool >/dev/null || { echo "scrape_changed: '$tool' is not installed" >&2; exit 1; }
done

STARTED=0
if ! bash scripts/stores.sh status >/dev/null 2>&1; then STARTED=1; fi
bash scripts/stores.sh start >/dev/null
eval "$(bash scripts/stores.sh env)"
WORK=$(mktemp -d /tmp/opsight-scrape.XXXXXX)
suffix=$(python3 -c 'import secrets; print(secrets.token_hex(4))')
SCHEMA="scrape_$suffix"
TOKEN="scrape-$suffix"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
SERVE_PID=""
LIVE_PID=""

stop_serve() {
    [[ -n "$SERVE_PID" ]] || return 0
    kill -TERM "$SERVE_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=""
}
cleanup() {
    local code=$?
    set +e
    [[ -n "$LIVE_PID" ]] && { kill "$LIVE_PID" 2>/dev/null; wait "$LIVE_PID" 2>/dev/null; }
    stop_serve
    psql -q "$OPSIGHT_DATABASE_URL" -c "DROP SCHEMA IF EXISTS \"$SCHEMA\" CASCADE" >/dev/null 2>&1
    redis-cli -u "$OPSIGHT_REDIS_URL" --scan --pattern "$SCHEMA:*" 2>/dev/null |
        xargs -r -d '\n' -n 500 redis-cli -u "$OPSIGHT_REDIS_URL" DEL >/dev/null 2>&1
    [[ $STARTED == 1 ]] && bash scripts/stores.sh stop >/dev/null 2>&1
    if [[ $code != 0 ]]; then echo "scrape_changed: work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
    exit $code
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

source "$REPO/Benchmarks/query_config.sh"
query_config "$PORT" "$SCHEMA" "$TOKEN" "$WORK/wal" >"$WORK/opsight.yaml"

serve() {
    env -u OPSIGHT_LISTEN -u OPSIGHT_WAL_DIR -u OPSIGHT_DATABASE_SCHEMA -u OPSIGHT_REDIS_KEY_PREFIX \
        "$1" serve --config "$WORK/opsight.yaml" --log-level warning >>"$WORK/serve.log" 2>&1 &
    SERVE_PID=$!
    for i in $(seq 600); do
        kill -0 "$SERVE_PID" 2>/dev/null || { tail -20 "$WORK/serve.log" >&2; echo "scrape_changed: $1 exited" >&2; exit 1; }
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && return 0
        sleep 0.1
    done
    echo "scrape_changed: $1 not ready after 60 s" >&2
    exit 1
}

serve "${BINS[0]}"
python3 Benchmarks/gen_query_corpus.py --out "$WORK/corpus.ndjson" --events 600000
REQUESTS=$(grep -c '"route"' "$WORK/corpus.ndjson")
timeout 600 "${BINS[0]}" ship "$WORK/corpus.ndjson" --url "$URL" --token "$TOKEN" >"$WORK/ship.log" 2>&1 ||
    { tail -20 "$WORK/ship.log" >&2; echo "scrape_changed: opsight ship failed" >&2; exit 1; }
python3 Benchmarks/api_count.py --url "$URL" --token "$TOKEN" --target "$REQUESTS" --timeout 600 --interval 0.5 \
    >/dev/null || { echo "scrape_changed: the API did not show the shipped requests" >&2; exit 1; }
(
    while :; do
        python3 Benchmarks/gen_query_corpus.py --live --events 500 |
            curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-ndjson' \
                --data-binary @- "$URL/v1/ingest" || true
        sleep 0.25
    done
) &
LIVE_PID=$!

# The collector's user + system time, ms (clock ticks of 10 ms), and the wall clock, ms.
cpu_ms() { awk '{print ($14 + $15) * 10}' "/proc/$SERVE_PID/stat"; }
now_ms() { date +%s%3N; }

SHAPES=("window=1d" "window=5m" "")
for round in $(seq "$ROUNDS"); do
    for b in "${!BINS[@]}"; do
        stop_serve
        serve "${BINS[$b]}"
        sleep "$WARM"
        idle_cpu=$(cpu_ms) idle_at=$(now_ms)
        sleep "$IDLE"
        idle_rate=$(python3 -c "print(($(cpu_ms) - $idle_cpu) / ($(now_ms) - $idle_at))")
        for shape in "${SHAPES[@]}"; do
            cpu0=$(cpu_ms) t0=$(now_ms)
            for _ in $(seq "$COUNT"); do
                curl -s -o /dev/null -w "$b ${shape:-all} %{time_total} %{size_download} %{http_code}\n" \
                    -H "Authorization: Bearer $TOKEN" "$URL/metrics?$shape" >>"$WORK/scrapes.txt"
                sleep "$INTERVAL"
            done
            echo "$b ${shape:-all} $(python3 -c "print(($(cpu_ms) - $cpu0 - $idle_rate * ($(now_ms) - $t0)) / $COUNT)")" \
                >>"$WORK/cpu.txt"
        done
    done
done

echo "# /metrics scrapes that find every window changed: $ROUNDS round(s) × $COUNT scrapes $INTERVAL s apart, one client, live ingest"
python3 - "$WORK/scrapes.txt" "$WORK/cpu.txt" "${BINS[@]}" <<'EOF'
import sys, collections, statistics
rows = collections.defaultdict(list); size = {}; bad = 0
cpu = collections.defaultdict(list)
for line in open(sys.argv[2]):
    b, shape, ms = line.split()
    cpu[(int(b), shape)].append(float(ms))
for line in open(sys.argv[1]):
    b, shape, t, n, code = line.split()
    if code != "200":
        bad += 1
        continue
    rows[(int(b), shape)].append(float(t) * 1000); size[(int(b), shape)] = int(n)
bins = sys.argv[3:]
print("| binary | scrape | scrapes | min ms | median ms | p90 ms | max ms | body MB | CPU-ms / scrape |")
print("|---|---|---|---|---|---|---|---|---|")
for shape in ["window=1d", "window=5m", "all"]:
    for i, b in enumerate(bins):
        v = sorted(rows[(i, shape)])
        if not v: continue
        q = lambda p: v[min(len(v) - 1, int(round(p * (len(v) - 1))))]
        print(f"| {b} | `/metrics{'?' + shape if shape != 'all' else ''}` | {len(v)} | {v[0]:.1f} | {q(0.5):.1f} | {q(0.9):.1f} | {v[-1]:.1f} | {size[(i, shape)] / 1e6:.1f} | {statistics.median(cpu[(i, shape)]):.0f} |")
if bad: print(f"\n{bad} scrape(s) did not answer 200"); sys.exit(1)
EOF
