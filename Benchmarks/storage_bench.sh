#!/usr/bin/env bash
# PostgreSQL disk use of a steady hour at 10 000 series, and its month with retention and downsampling (issue 14, 16).
#
#   bash Benchmarks/storage_bench.sh
#
# 1. Writes an hour of request events over 10 000 series (20 services x 250 routes x 2 methods), BENCH_PER_MINUTE
#    events per series and minute (default 2), with times spread over the hour that ended 3 minutes ago.
# 2. Ships them with `opsight ship` to a fresh `opsight serve` (own schema, own Redis prefix), waits until the
#    rollups hold exactly the events shipped (a replay check: sum(count) equals the line count) and until every
#    minute is compacted to one row per series, then reads `pg_total_relation_size` of each table (with all its
#    partitions) as it is, and again after `VACUUM FULL` (the live rows only).
# 3. Moves the hour's 1-minute rows 10 days back, restarts `opsight serve` with `retention.rollups_downsample_after:
#    2d`, whose start-up sweep downsamples that day to hourly rows, and measures the hourly tables.
# 4. Prints rows and bytes per series and minute (and hour) and projects 30 days with the default retention.
#
# Knobs: BENCH_BIN (use this binary; default: the debug build, built if missing), BENCH_PER_MINUTE (2),
# BENCH_RATE (events shipped per second, 4000).
# Everything listens on 127.0.0.1; the schema, Redis keys and work directory are removed on exit.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PER_MINUTE=${BENCH_PER_MINUTE:-2}
RATE=${BENCH_RATE:-4000}
BIN=${BENCH_BIN:-}

log() { printf '\033[1mstorage-bench:\033[0m %s\n' "$*" >&2; }
die() {
    printf 'storage-bench: error: %s\n' "$*" >&2
    exit 1
}
for tool in curl python3 psql redis-cli; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed (apt-get install curl python3 postgresql-client redis-tools)"
done

WORK=$(mktemp -d /tmp/opsight-storage-bench.XXXXXX)
SUFFIX=$(python3 -c 'import secrets; print(secrets.token_hex(4))')
SCHEMA="sbench_$SUFFIX"
PREFIX="sbench_$SUFFIX"
TOKEN="bench-$SUFFIX"
SERVE_PID=""
STORES_STARTED=0

stop_collector() {
    if [[ -n "$SERVE_PID" ]] && kill -0 "$SERVE_PID" 2>/dev/null; then
        kill -TERM "$SERVE_PID"
        for _ in $(seq 300); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$SERVE_PID" 2>/dev/null && kill -KILL "$SERVE_PID"
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    SERVE_PID=""
}
cleanup() {
    local code=$?
    set +e
    stop_collector
    psql -q "$OPSIGHT_DATABASE_URL" -c "DROP SCHEMA IF EXISTS \"$SCHEMA\" CASCADE" >/dev/null 2>&1
    redis-cli -u "$OPSIGHT_REDIS_URL" --scan --pattern "$PREFIX:*" 2>/dev/null |
        xargs -r -d '\n' -n 500 redis-cli -u "$OPSIGHT_REDIS_URL" DEL >/dev/null 2>&1
    [[ $STORES_STARTED == 1 ]] && bash scripts/stores.sh stop >/dev/null 2>&1
    if [[ $code != 0 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    exit $code
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z "$BIN" ]]; then
    BIN="$(swift build --show-bin-path)/opsight"
    [[ -x "$BIN" ]] || swift build --product opsight >&2
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"
if ! bash scripts/stores.sh status >/dev/null 2>&1; then
    STORES_STARTED=1
    bash scripts/stores.sh start >&2
fi
eval "$(bash scripts/stores.sh env)"
PSQL=(psql -qAtX "$OPSIGHT_DATABASE_URL" -v ON_ERROR_STOP=1)

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
start_collector() {
    local extra=$1
    {
        echo "listen: 127.0.0.1:$PORT"
        echo "redis_url: $OPSIGHT_REDIS_URL"
        echo "database_url: $OPSIGHT_DATABASE_URL"
        echo "database_schema: $SCHEMA"
        echo "redis_key_prefix: $PREFIX"
        echo "wal: {dir: $WORK/wal}"
        echo "limits: {routes_per_service: 1000}"
        echo "auth: {tokens: [{name: bench, token: $TOKEN, scopes: [ingest, read]}]}"
        echo "$extra"
    } >"$WORK/opsight.yaml"
    env -u OPSIGHT_LISTEN -u OPSIGHT_WAL_DIR -u OPSIGHT_DATABASE_SCHEMA -u OPSIGHT_REDIS_KEY_PREFIX \
        "$BIN" serve --config "$WORK/opsight.yaml" >>"$WORK/serve.log" 2>&1 &
    SERVE_PID=$!
    for _ in $(seq 1200); do
        kill -0 "$SERVE_PID" 2>/dev/null || { tail -20 "$WORK/serve.log" >&2; die "opsight serve exited at start"; }
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && return 0
        sleep 0.1
    done
    die "opsight serve not ready after 120s"
}

# Polls `sql` until it prints `want`, for at most `seconds`.
wait_for() {
    local what=$1 sql=$2 want=$3 seconds=$4 got=""
    for _ in $(seq "$seconds"); do
        got=$("${PSQL[@]}" -c "$sql" 2>/dev/null || true)
        [[ "$got" == "$want" ]] && return 0
        sleep 1
    done
    die "$what: still '$got', wanted '$want' after ${seconds}s"
}

log "writing an hour of events: 10000 series x 60 minutes x $PER_MINUTE"
END_MS=$(( ($(date +%s) - 180) * 1000 ))
python3 - "$WORK/events.ndjson" "$END_MS" "$PER_MINUTE" <<'EOF'
import random, sys
path, end_ms, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(14)
series = [(f"svc{s:02d}", f"/api/v1/r{r:03d}/:id", m) for s in range(20) for r in range(250) for m in ("GET", "POST")]
shape = {k: (rnd.uniform(1, 5.5), rnd.uniform(0.4, 1.2)) for k in series}
with open(path, "w", buffering=1 << 20) as out:
    for minute in range(60):
        base = end_ms - (60 - minute) * 60_000
        lines = []
        for k in series:
            mu, sigma = shape[k]
            for _ in range(per):
                ts = base + rnd.randrange(60_000)
                status = 500 if rnd.random() < 0.02 else (404 if rnd.random() < 0.03 else 200)
                lines.append(f'{{"ts":{ts},"service":"{k[0]}","route":"{k[1]}","method":"{k[2]}",'
                             f'"status":{status},"duration_ms":{rnd.lognormvariate(mu, sigma):.3f}}}\n')
        rnd.shuffle(lines)
        out.writelines(lines)
EOF
LINES=$(wc -l <"$WORK/events.ndjson")
log "$LINES lines, $(stat -c %s "$WORK/events.ndjson") bytes"

start_collector ""
log "shipping"
SHIP_START=$(date +%s.%N)
# Paced: every 10-second hot bucket of the past hour is a Redis cell per series, and an unpaced catch-up of the
# whole hour makes flushes of hundreds of thousands of cells that time out in Redis (issue 14, chunked catch-up).
split -l $((RATE * 5)) -d -a 4 "$WORK/events.ndjson" "$WORK/chunk."
for chunk in "$WORK"/chunk.*; do
    started=$(date +%s.%N)
    "$BIN" ship "$chunk" --url "$URL" --token "$TOKEN" >>"$WORK/ship.log" 2>&1 ||
        { tail -20 "$WORK/ship.log" >&2; die "opsight ship failed"; }
    python3 -c "import time; time.sleep(max(0.0, 5 - (time.time() - $started)))"
done
SHIP_END=$(date +%s.%N)
log "shipped in $(python3 -c "print(f'{$SHIP_END - $SHIP_START:.1f}')") s; waiting for the rollups to hold every event"
wait_for "rollups" "SELECT coalesce(sum(count), 0) FROM \"$SCHEMA\".request_rollups" "$LINES" 900
# The flusher compacts minutes once, moving forward: rows that arrived after their minute was compacted (a
# backfill of the past hour, as here) wait for the next start, which compacts the last day again.
log "restarting the collector, which compacts the last day at start; waiting for one row per series and minute"
stop_collector
start_collector ""
wait_for "compaction" "SELECT count(*) FROM \"$SCHEMA\".request_rollups WHERE collector <> 'compacted'" "0" 600
# The raw-event writer paces itself; let it finish what it buffered.
sleep 20
stop_collector

# VACUUM FULL of every partition of the tables named (a partitioned parent has no storage of its own).
vacuum_full() {
    local t p
    for t in "$@"; do
        for p in $("${PSQL[@]}" -c "SELECT relid::regclass FROM pg_partition_tree('\"$SCHEMA\".$t') WHERE isleaf"); do
            "${PSQL[@]}" -c "VACUUM FULL $p"
        done
    done
}
sizes() {
    "${PSQL[@]}" -F ' ' -c "
        SELECT t, (SELECT count(*) FROM pg_partition_tree(format('%I.%I', '$SCHEMA', t)::regclass) WHERE isleaf),
               (SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree(format('%I.%I', '$SCHEMA', t)::regclass)),
               (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', '$SCHEMA', t), false, true, '')))[1]::text::bigint
        FROM unnest(ARRAY['request_rollups', 'job_rollups', 'log_rollups', 'request_rollups_hourly', 'funnel_steps',
                          'raw_events', 'wal_positions']) AS t"
}
{
    echo "## as left by the run (dead rows of compaction included)"
    echo "table partitions bytes rows"
    sizes
    vacuum_full request_rollups raw_events
    echo "## after VACUUM FULL (live rows)"
    echo "table partitions bytes rows"
    sizes
} >"$WORK/sizes.txt"
cat "$WORK/sizes.txt" >&2

log "moving the hour 10 days back and downsampling it (retention.rollups_downsample_after: 2d)"
SHIFT=$((10 * 1440))
DAYS=$("${PSQL[@]}" -c "SELECT DISTINCT floor((minute - $SHIFT)::numeric / 1440)::bigint FROM \"$SCHEMA\".request_rollups")
for d in $DAYS; do
    "${PSQL[@]}" -c "CREATE TABLE \"$SCHEMA\".\"request_rollups_d$d\" PARTITION OF \"$SCHEMA\".request_rollups
        FOR VALUES FROM ($((d * 1440))) TO ($(((d + 1) * 1440)))"
done
"${PSQL[@]}" -c "
    INSERT INTO \"$SCHEMA\".request_rollups
        SELECT service, route, method, minute - $SHIFT, count, errors, c1, c2, c3, c4, c5, latency, collector, position
        FROM \"$SCHEMA\".request_rollups WHERE minute > $((END_MS / 60000 - 1440));
    DELETE FROM \"$SCHEMA\".request_rollups WHERE minute > $((END_MS / 60000 - 1440))"
start_collector "retention: {rollups_downsample_after: 2d}"
wait_for "downsampling" "SELECT count(*) > 0 FROM \"$SCHEMA\".request_rollups_hourly" "t" 600
wait_for "downsampled sum" "SELECT sum(count) FROM \"$SCHEMA\".request_rollups_hourly" "$LINES" 60
stop_collector
vacuum_full request_rollups_hourly
{
    echo "## hourly rows of the downsampled hour"
    echo "table partitions bytes rows"
    sizes | grep request_rollups_hourly
} >>"$WORK/sizes.txt"
grep -A1 "^## hourly" -A2 "$WORK/sizes.txt" >&2

python3 - "$WORK/sizes.txt" "$LINES" <<'EOF'
import sys
path, lines = sys.argv[1], int(sys.argv[2])
sections, current = {}, None
for line in open(path):
    line = line.strip()
    if line.startswith("## "):
        current = line[3:]
        sections[current] = {}
    elif line and not line.startswith("table"):
        t, parts, size, rows = line.split()
        sections[current][t] = (int(parts), int(size or 0), int(rows))
series, minutes = 10_000, 60
run = sections["as left by the run (dead rows of compaction included)"]
live = sections["after VACUUM FULL (live rows)"]
hourly = sections["hourly rows of the downsampled hour"]["request_rollups_hourly"]
rr_rows, rr_live = live["request_rollups"][2], live["request_rollups"][1]
rr_run = run["request_rollups"][1]
per_row = rr_live / rr_rows
h_per_row = hourly[1] / hourly[2]
raw = live["raw_events"]
print(f"events: {lines} ({lines / series / minutes:.1f} per series and minute)")
print(f"request_rollups: {rr_rows} rows = {rr_rows / series / minutes:.2f} per series and minute; "
      f"{rr_live} bytes live = {per_row:.0f} B/row (with indexes), {rr_run} bytes as left by the run "
      f"(x{rr_run / rr_live:.2f} with the dead rows of compaction)")
print(f"request_rollups_hourly: {hourly[2]} rows = {hourly[2] / series:.2f} per series and hour; {hourly[1]} bytes "
      f"= {h_per_row:.0f} B/row")
print(f"raw_events: {raw[2]} rows, {raw[1]} bytes live = {raw[1] / max(raw[2], 1):.0f} B/row")
day_minute = series * 1440 * per_row
day_hourly = series * 24 * h_per_row
month = 7 * day_minute + 23 * day_hourly
print(f"per day at 1-minute resolution: {day_minute / 2**30:.2f} GiB; downsampled: {day_hourly / 2**20:.0f} MiB")
print(f"30 days with the defaults (7d of 1-minute rows, then hourly): {month / 2**30:.2f} GiB live "
      f"(without downsampling: {30 * day_minute / 2**30:.2f} GiB)")
raw_day = raw[1] / minutes * 1440
print(f"raw events at this rate, per day: {raw_day / 2**30:.2f} GiB; 7 days (raw_events.retention): "
      f"{7 * raw_day / 2**30:.2f} GiB")
EOF
