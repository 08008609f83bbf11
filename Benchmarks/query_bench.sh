#!/usr/bin/env bash
# Query latency benchmark (part of `make bench`): SPEC §11 "`/api/v1/query` and the services overview at
# 10 000 series: p99 ≤ 50 ms".
#
#   bash Benchmarks/query_bench.sh
#
# 1. builds the release binary in .build-release (a no-op after Benchmarks/run.sh built it);
# 2. starts the local stores and `opsight serve` on a free loopback port with a fresh schema, key prefix and WAL;
# 3. ships a corpus of QBENCH_EVENTS events (Benchmarks/gen_query_corpus.py: 20 services × 500 routes × GET =
#    10 000 request series, plus 20 × 3 queues × 2 job series and funnel steps for three configured funnels, spread
#    over the last 45 minutes) and waits until the API shows it;
# 4. keeps a light ingest going (a 500-event batch stamped "now" every 0.25 s, ~1 500 events/s) and measures,
#    with Benchmarks/query_latency.py (QBENCH_CLIENTS keep-alive clients, ≥ 1 000 requests and
#    ≥ QBENCH_MIN_SECONDS per query, at most QBENCH_MAX_SECONDS), the latency of the queries below (every
#    PromQL-subset shape SPEC §11 names: aggregations with `max by` / `sum by`, vector matching with `on` and
#    `ignoring`, regex selectors, a `/metrics` scrape with three funnels over `1d`, and range queries over the last
#    hour as a dashboard panel asks them), QBENCH_ROUNDS times;
# 5. prints the results and writes them (medians over the rounds, every raw line) between the `bench:query`
#    markers of docs/benchmarks.md.
#
# With QBENCH_FUNNEL_DAY=N (default 0) N more funnel steps spread over the last 23 hours are shipped first, so the
# funnels' `1d` windows hold a day of records, most of them in PostgreSQL (issue 15). QBENCH_ONLY=REGEX measures only
# the queries whose name matches (e.g. `funnel`).
#
# Knobs: QBENCH_EVENTS (600000), QBENCH_FUNNEL_DAY (0), QBENCH_ONLY (all), QBENCH_ROUNDS (1), QBENCH_MIN_SECONDS (10), QBENCH_MAX_SECONDS (30),
# QBENCH_CLIENTS (4), BENCH_BIN (use this binary, no build), BENCH_DOC (docs/benchmarks.md; "-": write
# nothing), BENCH_KEEP=1 (keep the work directory), BENCH_KEEP_STORES=1.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BENCH="$REPO/Benchmarks"
EVENTS=${QBENCH_EVENTS:-600000}
FUNNEL_DAY=${QBENCH_FUNNEL_DAY:-0}
ONLY=${QBENCH_ONLY:-}
ROUNDS=${QBENCH_ROUNDS:-1}
MIN_SECONDS=${QBENCH_MIN_SECONDS:-10}
MAX_SECONDS=${QBENCH_MAX_SECONDS:-30}
CLIENTS=${QBENCH_CLIENTS:-4}
DOC=${BENCH_DOC:-docs/benchmarks.md}
BIN=${BENCH_BIN:-}
SCRATCH=.build-release

log() { printf '\033[1mquery bench:\033[0m %s\n' "$*" >&2; }
die() {
    printf 'query bench: error: %s\n' "$*" >&2
    exit 1
}
for tool in curl python3 psql redis-cli; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed (apt-get install curl python3 postgresql-client redis-tools)"
done

WORK=$(mktemp -d /tmp/opsight-qbench.XXXXXX)
RESULTS="$WORK/results.txt"
: >"$RESULTS"
SERVE_PID=""
LIVE_PID=""
STORES_STARTED=0
SCHEMA=""
PREFIX=""

cleanup() {
    local code=$?
    set +e
    if [[ -n "$LIVE_PID" ]]; then
        kill "$LIVE_PID" 2>/dev/null
        wait "$LIVE_PID" 2>/dev/null
    fi
    if [[ -n "$SERVE_PID" ]] && kill -0 "$SERVE_PID" 2>/dev/null; then
        kill -TERM "$SERVE_PID"
        for _ in $(seq 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$SERVE_PID" 2>/dev/null && kill -KILL "$SERVE_PID"
        wait "$SERVE_PID" 2>/dev/null
    fi
    if [[ -n "$SCHEMA" && -n "${OPSIGHT_DATABASE_URL:-}" ]]; then
        psql -q "$OPSIGHT_DATABASE_URL" -c "DROP SCHEMA IF EXISTS \"$SCHEMA\" CASCADE" >/dev/null 2>&1 ||
            log "could not drop schema $SCHEMA"
    fi
    if [[ -n "$PREFIX" && -n "${OPSIGHT_REDIS_URL:-}" ]]; then
        redis-cli -u "$OPSIGHT_REDIS_URL" --scan --pattern "$PREFIX:*" 2>/dev/null |
            xargs -r -d '\n' -n 500 redis-cli -u "$OPSIGHT_REDIS_URL" DEL >/dev/null 2>&1
    fi
    if [[ $STORES_STARTED == 1 && "${BENCH_KEEP_STORES:-0}" != 1 ]]; then
        bash scripts/stores.sh stop >/dev/null 2>&1 || log "could not stop the stores"
    fi
    if [[ "${BENCH_KEEP:-0}" == 1 || $code != 0 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    exit $code
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. Release build
if [[ -z "$BIN" ]]; then
    log "building the release binary (swift build -c release --product opsight --scratch-path $SCRATCH)"
    swift build -c release --product opsight --scratch-path "$SCRATCH" >"$WORK/build.log" 2>&1 ||
        { tail -40 "$WORK/build.log" >&2; die "release build failed"; }
    BIN="$REPO/$SCRATCH/release/opsight"
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"
STARTED=$SECONDS

# 2. Stores and collector
if bash scripts/stores.sh status >/dev/null 2>&1; then
    log "stores already running; they are left running"
else
    STORES_STARTED=1
    bash scripts/stores.sh start >&2
fi
eval "$(bash scripts/stores.sh env)"
suffix=$(python3 -c 'import secrets; print(secrets.token_hex(4))')
SCHEMA="qbench_$suffix"
PREFIX="qbench_$suffix"
TOKEN="qbench-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
source "$REPO/Benchmarks/query_config.sh"
query_config "$PORT" "$SCHEMA" "$TOKEN" "$WORK/wal" >"$WORK/opsight.yaml"
log "starting opsight serve on $URL (schema and key prefix $SCHEMA)"
env -u OPSIGHT_LISTEN -u OPSIGHT_WAL_DIR -u OPSIGHT_DATABASE_SCHEMA -u OPSIGHT_REDIS_KEY_PREFIX \
    "$BIN" serve --config "$WORK/opsight.yaml" --log-level info >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for i in $(seq 600); do
    kill -0 "$SERVE_PID" 2>/dev/null || { tail -20 "$WORK/serve.log" >&2; die "opsight serve exited at start-up"; }
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && break
    [[ $i == 600 ]] && die "opsight serve not ready after 60s"
    sleep 0.1
done

# 3. The corpus
if ((FUNNEL_DAY > 0)); then
    python3 "$BENCH/gen_query_corpus.py" --out "$WORK/funnel-day.ndjson" --funnel-day "$FUNNEL_DAY"
    log "shipping $FUNNEL_DAY funnel steps over the last 23 hours"
    timeout 600 "$BIN" ship "$WORK/funnel-day.ndjson" --url "$URL" --token "$TOKEN" >"$WORK/ship-day.log" 2>&1 ||
        { tail -20 "$WORK/ship-day.log" >&2; die "opsight ship (funnel day) failed"; }
fi
python3 "$BENCH/gen_query_corpus.py" --out "$WORK/corpus.ndjson" --events "$EVENTS"
REQUESTS=$(grep -c '"route"' "$WORK/corpus.ndjson")
log "shipping $EVENTS events ($REQUESTS requests over 10 000 series, the last 45 minutes)"
timeout 600 "$BIN" ship "$WORK/corpus.ndjson" --url "$URL" --token "$TOKEN" >"$WORK/ship.log" 2>&1 ||
    { tail -20 "$WORK/ship.log" >&2; die "opsight ship failed"; }
python3 "$BENCH/api_count.py" --url "$URL" --token "$TOKEN" --target "$REQUESTS" --timeout 600 --interval 0.5 \
    >/dev/null || die "the API did not show the $REQUESTS shipped requests"
log "corpus visible $((SECONDS - STARTED)) s after start"

# 4. Light ingest while measuring
live_ingest() {
    while :; do
        python3 "$BENCH/gen_query_corpus.py" --live --events 500 |
            curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-ndjson' \
                --data-binary @- "$URL/v1/ingest" || true
        sleep 0.25
    done
}
live_ingest &
LIVE_PID=$!

quote() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
# Range queries over the last hour, as a Grafana or console panel asks them (the corpus spans the last 45 minutes).
RANGE_END=$(date +%s)
RANGE="start=$((RANGE_END - 3600))&end=$RANGE_END"
QUERIES=(
    "prom_error_ratio_5m|/api/v1/query?query=$(quote 'opsight_service_error_ratio{window="5m"}')"
    "prom_max_p99_by_service_5m|/api/v1/query?query=$(quote 'max by (service) (opsight_request_latency_seconds{window="5m",quantile="0.99"})')"
    "prom_sum_rate_by_service_5m|/api/v1/query?query=$(quote 'sum by (service) (opsight_request_rate{window="5m"})')|20"
    "prom_errors_on_ratio_5m|/api/v1/query?query=$(quote 'sum by (service) (opsight_request_rate{window="5m"} * on(service, route, method) opsight_request_error_ratio{window="5m"}) / on(service) sum by (service) (opsight_request_rate{window="5m"})')|20"
    "prom_p99_over_p50_ignoring_5m|/api/v1/query?query=$(quote 'count(opsight_request_latency_seconds{window="5m",quantile="0.99"} >= ignoring(quantile) opsight_request_latency_seconds{window="5m",quantile="0.5"})')|1"
    "prom_regex_sum_by_service_5m|/api/v1/query?query=$(quote 'sum by (service) (opsight_request_rate{window="5m",route=~"/api/v1/.*",service=~"svc-0.*"})')|10"
    "services_5m|/api/v1/services?window=5m"
    "services_1h|/api/v1/services?window=1h"
    "services_1d|/api/v1/services?window=1d"
    "prom_max_p99_by_service_6h|/api/v1/query?query=$(quote 'max by (service) (opsight_request_latency_seconds{window="6h",quantile="0.99"})')"
    "metrics_scrape_funnels_1d|/metrics|text:opsight_funnel_entered{funnel=\"activation\",window=\"1d\"}"
    "metrics_scrape_window_1d|/metrics?window=1d|text:opsight_funnel_entered{funnel=\"activation\",window=\"1d\"}"
    "metrics_scrape_window_5m|/metrics?window=5m|text:opsight_service_request_rate{service=\"svc-00\",window=\"5m\"}"
    "prom_range_max_p99_by_service_5m_1h_step15s|/api/v1/query_range?query=$(quote 'max by (service) (opsight_request_latency_seconds{window="5m",quantile="0.99"})')&$RANGE&step=15"
    "prom_range_sum_rate_by_service_5m_1h_step60s|/api/v1/query_range?query=$(quote 'sum by (service) (opsight_request_rate{window="5m"})')&$RANGE&step=60"
    "prom_range_service_rate_5m_1h_step15s|/api/v1/query_range?query=$(quote 'opsight_service_request_rate{window="5m"}')&$RANGE&step=15"
    "prom_range_service_p99_1h_1h_step15s|/api/v1/query_range?query=$(quote 'opsight_service_latency_seconds{window="1h",quantile="0.99"}')&$RANGE&step=15"
    # The same per-series chart as a Grafana "last hour" panel refreshing: the range ends at the current time, rounded
    # down to the step, so each query's newest steps hold the live ingest's events.
    "prom_range_max_p99_by_service_5m_1h_step15s_now|/api/v1/query_range?query=$(quote 'max by (service) (opsight_request_latency_seconds{window="5m",quantile="0.99"})')&start={start}&end={end}&step=15"
    "prom_count_request_rate_1d|/api/v1/query?query=$(quote 'count(opsight_request_rate{window="1d"})')|1"
    "prom_funnel_entered_1d|/api/v1/query?query=$(quote 'opsight_funnel_entered{window="1d"}')|3"
    "funnel_api_activation_1d|/api/v1/funnels/activation?window=1d|text:\"entered\""
    "funnel_api_journey_1h|/api/v1/funnels/assessment_journey?window=1h|text:\"entered\""
)
status=0
for round in $(seq "$ROUNDS"); do
    for q in "${QUERIES[@]}"; do
        name=${q%%|*}
        [[ -z "$ONLY" || $name =~ $ONLY ]] || continue
        rest=${q#*|}
        path=${rest%%|*}
        expect=(--expect-series 20) # the default: one answer per service
        if [[ $rest == *"|"* ]]; then
            e=${rest#*|}
            if [[ $e == text:* ]]; then expect=(--expect-text "${e#text:}"); else expect=(--expect-series "$e"); fi
        fi
        kill -0 "$SERVE_PID" 2>/dev/null || die "opsight serve died"
        line=$(timeout $((MAX_SECONDS + 120)) python3 "$BENCH/query_latency.py" --url "$URL" --token "$TOKEN" \
            --path "$path" --name "$name" --clients "$CLIENTS" --min-seconds "$MIN_SECONDS" \
            --max-seconds "$MAX_SECONDS" "${expect[@]}") || status=1
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVE_PID/status")
        echo "$line round=$round collector_rss_mb=$((rss / 1024))" | tee -a "$RESULTS" >&2
    done
done

# 5. Report
export QBENCH_RESULTS="$RESULTS" QBENCH_DOC="$DOC" QBENCH_EVENTS="$EVENTS" QBENCH_ROUNDS="$ROUNDS" \
    QBENCH_CLIENTS="$CLIENTS" QBENCH_MIN_SECONDS="$MIN_SECONDS" QBENCH_MAX_SECONDS="$MAX_SECONDS"
python3 "$BENCH/query_report.py"
((status == 0)) || die "some queries failed their check (see above)"
