#!/usr/bin/env bash
# Ingest throughput with three funnels configured vs none (issue 5: within 20 %), part of `make bench`.
#
#   bash Benchmarks/funnel_bench.sh
#
# The same NDJSON body (1 000 events, ~250 B each; BENCH_FUNNEL_SHARE of them, default 5 %, are funnel steps
# without `ts`, so every post records new step facts) is POSTed by wrk to a fresh `opsight serve` for
# BENCH_SECONDS, alternately to one started without funnels and one with three funnels (11 steps, named
# events and field matchers), BENCH_RUNS times each (order alternating by round). Each run is checked: every
# 200 accepted all 1 000 events, the API's request count grew by exactly the request lines acknowledged, and
# with funnels the assessment journey has entered entities. Medians and their ratio are printed and written
# into docs/benchmarks.md between the `bench:funnels` markers (BENCH_DOC=- writes nothing).
#
# Knobs: BENCH_RUNS (3), BENCH_SECONDS (15), BENCH_GRACE (5), BENCH_THREADS (2), BENCH_CONNECTIONS (16),
# BENCH_FUNNEL_SHARE (0.05), BENCH_BIN (use this binary, no build), BENCH_DOC (docs/benchmarks.md).
# Everything listens on 127.0.0.1; every collector, schema and Redis key started here is removed on exit.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BENCH="$REPO/Benchmarks"
RUNS=${BENCH_RUNS:-3}
RUN_SECONDS=${BENCH_SECONDS:-15}
GRACE=${BENCH_GRACE:-5}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
SHARE=${BENCH_FUNNEL_SHARE:-0.05}
DOC=${BENCH_DOC:-docs/benchmarks.md}
BIN=${BENCH_BIN:-}

log() { printf '\033[1mfunnel-bench:\033[0m %s\n' "$*" >&2; }
die() {
    printf 'funnel-bench: error: %s\n' "$*" >&2
    exit 1
}
for tool in wrk curl python3 psql redis-cli; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed (apt-get install wrk curl python3 postgresql-client redis-tools)"
done

WORK=$(mktemp -d /tmp/opsight-funnel-bench.XXXXXX)
RESULTS="$WORK/results.txt"
: >"$RESULTS"
SERVE_PID=""
SCHEMA=""
PREFIX=""
STORES_STARTED=0

stop_collector() {
    if [[ -n "$SERVE_PID" ]] && kill -0 "$SERVE_PID" 2>/dev/null; then
        kill -TERM "$SERVE_PID"
        for _ in $(seq 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$SERVE_PID" 2>/dev/null && kill -KILL "$SERVE_PID"
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    SERVE_PID=""
    if [[ -n "$SCHEMA" ]]; then
        psql -q "$OPSIGHT_DATABASE_URL" -c "DROP SCHEMA IF EXISTS \"$SCHEMA\" CASCADE" >/dev/null 2>&1 || log "could not drop $SCHEMA"
        redis-cli -u "$OPSIGHT_REDIS_URL" --scan --pattern "$PREFIX:*" 2>/dev/null |
            xargs -r -d '\n' -n 500 redis-cli -u "$OPSIGHT_REDIS_URL" DEL >/dev/null 2>&1 || true
    fi
    SCHEMA=""
}
cleanup() {
    local code=$?
    set +e
    stop_collector
    [[ $STORES_STARTED == 1 ]] && bash scripts/stores.sh stop >/dev/null 2>&1
    if [[ $code != 0 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    exit $code
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z "$BIN" ]]; then
    log "building the release binary (swift build -c release --product opsight --scratch-path .build-release)"
    swift build -c release --product opsight --scratch-path .build-release >"$WORK/build.log" 2>&1 ||
        { tail -40 "$WORK/build.log" >&2; die "release build failed"; }
    BIN="$REPO/.build-release/release/opsight"
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"
if ! bash scripts/stores.sh status >/dev/null 2>&1; then
    STORES_STARTED=1
    bash scripts/stores.sh start >&2
fi
eval "$(bash scripts/stores.sh env)"

python3 "$BENCH/gen_events.py" --count 1000 --out "$WORK/body.ndjson" --spread 60 --seed 1 --funnel-share "$SHARE"
REQUEST_LINES=$(grep -c '"status"' "$WORK/body.ndjson")
FUNNEL_LINES=$((1000 - REQUEST_LINES))
BODY_BYTES=$(stat -c %s "$WORK/body.ndjson")
log "body: 1000 events ($REQUEST_LINES requests, $FUNNEL_LINES funnel steps), $BODY_BYTES bytes"

FUNNELS_YAML='funnels:
  - name: assessment_journey
    window: 1h
    steps:
      - document_uploaded
      - assessment_requested
      - {name: assessment_completed, kind: job, queue: assessments, event: succeeded}
      - report_viewed
  - name: activation
    window: 1d
    steps: [signed_up, document_uploaded, {name: first_request, kind: request, service: assessments, method: POST, status_class: 2xx}, report_viewed]
  - name: sharing
    window: 30m
    steps: [report_viewed, report_shared, signed_up]'

start_collector() {
    local with_funnels=$1 suffix port
    suffix=$(python3 -c 'import secrets; print(secrets.token_hex(4))')
    SCHEMA="fbench_$suffix"
    PREFIX="fbench_$suffix"
    TOKEN="bench-$suffix"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    URL="http://127.0.0.1:$port"
    {
        echo "listen: 127.0.0.1:$port"
        echo "redis_url: $OPSIGHT_REDIS_URL"
        echo "database_url: $OPSIGHT_DATABASE_URL"
        echo "database_schema: $SCHEMA"
        echo "redis_key_prefix: $PREFIX"
        echo "wal: {dir: $WORK/wal-$suffix}"
        echo "auth: {tokens: [{name: bench, token: $TOKEN, scopes: [ingest, read]}]}"
        [[ $with_funnels == 1 ]] && echo "$FUNNELS_YAML"
    } >"$WORK/opsight-$suffix.yaml"
    env -u OPSIGHT_LISTEN -u OPSIGHT_WAL_DIR -u OPSIGHT_DATABASE_SCHEMA -u OPSIGHT_REDIS_KEY_PREFIX \
        "$BIN" serve --config "$WORK/opsight-$suffix.yaml" >"$WORK/serve-$suffix.log" 2>&1 &
    SERVE_PID=$!
    for i in $(seq 600); do
        kill -0 "$SERVE_PID" 2>/dev/null || { tail -20 "$WORK/serve-$suffix.log" >&2; die "opsight serve exited at start"; }
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && return 0
        sleep 0.1
    done
    die "opsight serve not ready after 60s"
}

run_once() {
    local mode=$1 n=$2 with=0
    [[ $mode == funnels ]] && with=1
    start_collector "$with"
    local out="$WORK/wrk-$mode-$n.txt" snap0 snap1
    snap0=$(python3 "$BENCH/cpu.py" snap "$SERVE_PID" .local/stores/redis/redis.pid .local/stores/pg/data/postmaster.pid)
    (sleep "$RUN_SECONDS" && python3 "$BENCH/cpu.py" snap "$SERVE_PID" .local/stores/redis/redis.pid \
        .local/stores/pg/data/postmaster.pid >"$WORK/snap-$mode-$n") &
    local snap_pid=$!
    timeout $((RUN_SECONDS + GRACE + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$((RUN_SECONDS + GRACE))s" \
        -s "$BENCH/post.lua" "$URL" -- "$WORK/body.ndjson" "$TOKEN" "$RUN_SECONDS" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed"; }
    wait "$snap_pid" || true
    snap1=$(<"$WORK/snap-$mode-$n")
    kill -0 "$SERVE_PID" 2>/dev/null || die "opsight serve died during $mode run $n"
    local result kv ok=0 accepted=0 rejected=0 elapsed=0 other=0
    result=$(grep '^BENCHRESULT' "$out") || { cat "$out" >&2; die "wrk printed no BENCHRESULT"; }
    for kv in ${result#BENCHRESULT }; do
        [[ $kv =~ ^(ok|accepted|rejected|elapsed|other)=[0-9.]+$ ]] && local "$kv"
    done
    local verdict=ok
    [[ $accepted == $((ok * 1000)) && $rejected == 0 ]] || verdict="FAIL(accepted_${accepted}_of_$((ok * 1000)))"
    python3 "$BENCH/api_count.py" --url "$URL" --token "$TOKEN" --target $((ok * REQUEST_LINES)) --timeout 60 >/dev/null ||
        verdict="FAIL(api_count_not_$((ok * REQUEST_LINES)))"
    local entered="-" query_ms records
    if [[ $mode == funnels ]]; then
        entered=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/api/v1/funnels/assessment_journey?window=5m" |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["entered"])')
        ((entered > 0)) || verdict="FAIL(no_funnel_entries)"
        # What reading the funnel costs once the run's step records are in the window (median of 5).
        query_ms=$(for _ in 1 2 3 4 5; do
            curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" \
                "$URL/api/v1/funnels/assessment_journey?window=1h"
        done | sort -n | sed -n 3p | python3 -c 'import sys; print(f"{float(sys.stdin.read()) * 1000:.0f}")')
        # The sorted set is named by the funnel's storage name: its name, '#' and a fingerprint of its steps.
        local key
        key=$(redis-cli -u "$OPSIGHT_REDIS_URL" --scan --pattern "$PREFIX:funnel:assessment_journey#*" | head -1 || true)
        records=$(redis-cli -u "$OPSIGHT_REDIS_URL" ZCARD "$key")
        entered="$entered funnel_query_ms=$query_ms journey_records=$records"
    fi
    python3 -c "
ok, e = $ok, $elapsed
print(f'$mode run=$n events_per_s={ok * 1000 / e if e else 0:.0f} requests={ok} seconds={e:.2f} non200=$other funnel_entered=$entered verdict=$verdict $(python3 "$BENCH/cpu.py" diff "$snap0" "$snap1" 0 | sed 's/ loadgen_cores=[^ ]*//')')" >>"$RESULTS"
    log "$(tail -1 "$RESULTS")"
    stop_collector
}

for n in $(seq "$RUNS"); do
    if ((n % 2 == 1)); then
        run_once none "$n"
        run_once funnels "$n"
    else
        run_once funnels "$n"
        run_once none "$n"
    fi
done

SUMMARY=$(python3 - "$RESULTS" <<EOF
import re, statistics, sys
rates = {"none": [], "funnels": []}
for line in open(sys.argv[1]):
    mode = line.split()[0]
    rates[mode].append(float(re.search(r"events_per_s=(\d+)", line).group(1)))
a, b = statistics.median(rates["none"]), statistics.median(rates["funnels"])
print(f"- without funnels: median **{a:,.0f} events/s** (runs {', '.join(f'{r:,.0f}' for r in rates['none'])})")
print(f"- with three funnels: median **{b:,.0f} events/s** (runs {', '.join(f'{r:,.0f}' for r in rates['funnels'])})")
print(f"- ratio: **{b / a:.2f}** ({'within' if b >= 0.8 * a else 'NOT within'} the 20 % the issue allows)")
EOF
)
echo "$SUMMARY"
if [[ "$DOC" != "-" ]]; then
    python3 - "$DOC" "$RESULTS" <<EOF
import sys
doc, results = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
begin, end = "<!-- bench:funnels:begin -->", "<!-- bench:funnels:end -->"
body = f"""{begin}
Measured $(date -u +%Y-%m-%dT%H:%MZ) with \`bash Benchmarks/funnel_bench.sh\` ({"$(git rev-parse --short HEAD)"}; $RUNS runs of
${RUN_SECONDS} s each, wrk -t$THREADS -c$CONNECTIONS, 1 000-event bodies of $BODY_BYTES bytes with $FUNNEL_LINES funnel steps):

$SUMMARY

\`\`\`
{results.strip()}
\`\`\`
{end}"""
if begin in text:
    text = text[: text.index(begin)] + body + text[text.index(end) + len(end):]
else:
    text = text.rstrip() + "\n\n## Ingest with funnels\n\n" + body + "\n"
open(doc, "w").write(text)
EOF
    log "wrote $DOC"
fi
grep -q 'verdict=FAIL' "$RESULTS" && die "some runs failed their check"
exit 0
