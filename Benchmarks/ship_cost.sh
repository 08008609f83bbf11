#!/usr/bin/env bash
# What shipping a file of the last hour costs, binary against binary (issue 15).
#
#   bash Benchmarks/ship_cost.sh [BIN...]          (default: .build/release/opsight)
#
# For each round, for each binary in turn (interleaved, so a machine that slows down or speeds up during the
# measurement affects every binary alike): a fresh `opsight serve` (own PostgreSQL schema, Redis key prefix, WAL; the
# three funnels of run.sh) on the local stores (scripts/stores.sh), then `opsight ship` of a 1 000 000-line SPEC §11
# file (Benchmarks/gen_events.py: times over the last 55 minutes, fields in any order, 10 000 series; regenerated when
# older than 3 minutes so every line stays in the 1-hour window the check reads), and Benchmarks/api_count.py until
# `GET /api/v1/services?window=1h` counts every request line. Printed per run:
#   acked_s      when ship had every line acknowledged
#   visible_s    when the API first counted them all (the end of the poll that saw it)
#   collector_cpu_s, ship_cpu_s, redis_cpu_s, postgres_cpu_s   CPU seconds the collector, `opsight ship` (until it
#                exits: the two share the machine's cores), Redis and PostgreSQL (all its
#                processes: the drill-down's inserts, the durable lane) used from the start of ship to visible (less
#                sensitive to a shared machine than the times)
#   hincrby, hset   HINCRBY and HSET calls Redis executed (INFO commandstats; a hot commit writes one HSET per hash
#                since parts, one HINCRBY per field before), peak_rss_mb of the collector, settled_rss_mb (its RSS
#                5 s after visible: what it keeps, in use or freed but not returned), and peak_pending_mb,
#                the most its aggregator held for each store (opsight_pending_delta_bytes, estimated, sampled every 0.5 s)
#   hot_commits, last_hot_commit_s   the hot commits of the shipment and when the last one landed (their change feed
#                entries' ids), to tell the commit chain's share of visible_s from the wait for the cache and the API
# then the median of each binary. SHIP_ROUNDS (2), SHIP_PERF=DIR (perf record -g each shipment's collector into
# DIR/<run>-<shipment>.perf). SHIP_SAME=N ships the file N times into each collector, SHIP_PAUSE seconds (20) apart
# (as `make bench` does, a mtail run between): later shipments land on cells the first made, and meet the collector's
# background work (the durable lane's flush, compaction a minute after start); medians are per shipment.
# Everything listens on 127.0.0.1; every schema and key this script makes is dropped; stores it started are stopped.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
source Benchmarks/collector.sh
ROUNDS=${SHIP_ROUNDS:-2}
SAME=${SHIP_SAME:-1}
PAUSE=${SHIP_PAUSE:-20}
BINS=("$@")
[[ ${#BINS[@]} -gt 0 ]] || BINS=("$REPO/.build/release/opsight")
for b in "${BINS[@]}"; do [[ -x $b ]] || { echo "ship_cost: $b is not an executable (build with: swift build -c release --product opsight)" >&2; exit 1; }; done
for tool in curl python3 redis-cli psql; do command -v $tool >/dev/null || { echo "ship_cost: '$tool' is not installed" >&2; exit 1; }; done

STARTED=0
if ! bash scripts/stores.sh status >/dev/null 2>&1; then STARTED=1; fi
bash scripts/stores.sh start >/dev/null
eval "$(bash scripts/stores.sh env)"
WORK=$(mktemp -d /tmp/opsight-shipcost.XXXXXX)
FILE=$WORK/ship.ndjson
PID=""
cleanup() {
    [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
    [[ $STARTED == 1 ]] && bash scripts/stores.sh stop >/dev/null 2>&1
    true
}
trap cleanup EXIT

cpu() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
# PostgreSQL's CPU: all its processes (the drill-down's inserts and the durable lane's run in the collector's
# connections, which live as long as the collector).
pgcpu() { { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '$2 == "(postgres)" { s += $14 + $15 } END { print s / 100 }'; }
rcpu() { redis-cli -u "$OPSIGHT_REDIS_URL" INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { print s }'; }
fresh_file() {
    if [[ ! -f $FILE || $(($(date +%s) - $(stat -c %Y "$FILE"))) -gt 180 ]]; then
        python3 Benchmarks/gen_events.py --count 1000000 --out "$FILE" --seed 2 >/dev/null
    fi
}

run() { # run <binary> <n>: a fresh collector, SHIP_SAME shipments into it
    local bin=$1 n=$2 port url token=shipcost0123456789abcdef name
    port=$(free_port)
    url=http://127.0.0.1:$port
    name=shipcost_$port
    collector_config "$WORK/o.yaml" "$port" "$name" "$WORK/wal-$n" "$token"
    collector_start "$bin" "$WORK/o.yaml" "$WORK/serve-$n.log"
    PID=$COLLECTOR_PID
    collector_wait_ready "$url" || true
    local s
    for s in $(seq "$SAME"); do
        ((s == 1)) || sleep "$PAUSE"
        ship_once "$bin" "$n" "$s" "$url" "$token" "$name"
    done
    kill "$PID"
    wait "$PID" || true
    PID=""
    collector_drop "$name"
}

ship_once() { # ship_once <binary> <n> <shipment> <url> <token> <name>
    local bin=$1 n=$2 s=$3 url=$4 token=$5 name=$6
    fresh_file
    local perf=""
    if [[ -n ${SHIP_PERF:-} ]]; then
        mkdir -p "$SHIP_PERF"
        perf record -F 499 -g -o "$SHIP_PERF/$n-$s.perf" -p "$PID" >/dev/null 2>&1 &
        perf=$!
    fi
    redis-cli -u "$OPSIGHT_REDIS_URL" CONFIG RESETSTAT >/dev/null
    # What the aggregator holds for each store, every half second, while the shipment is under way.
    (while kill -0 "$PID" 2>/dev/null; do
        curl -s -H "Authorization: Bearer $token" "$url/api/v1/query" --data-urlencode 'query=opsight_pending_delta_bytes' |
            python3 -c 'import json, sys; print(" ".join(r["metric"]["store"] + "=" + r["value"][1] for r in json.load(sys.stdin)["data"]["result"]))' 2>/dev/null
        sleep 0.5
    done) >"$WORK/pending-$n-$s.txt" &
    local sampler=$!
    local c0 r0 p0 t0 t1 out before
    before=$(python3 Benchmarks/api_count.py --url "$url" --token "$token")
    c0=$(cpu "$PID")
    r0=$(rcpu)
    p0=$(pgcpu)
    t0=$(date +%s%N)
    local TIMEFORMAT='%U %S' shipcpu
    shipcpu=$({ time "$bin" ship "$FILE" --url "$url" --token "$token" >"$WORK/ship-$n-$s.log" 2>&1; } 2>&1)
    shipcpu=$(echo "$shipcpu" | awk '{ printf "%.1f", $1 + $2 }')
    t1=$(date +%s%N)
    out=$(python3 Benchmarks/api_count.py --url "$url" --token "$token" --target $((before + 880002)) --since "$t0" --timeout 120 || echo "seconds=timeout")
    local ccpu rcpu_s pcpu_s hincrby hset rss
    ccpu=$(python3 -c "print(round($(cpu "$PID") - $c0, 1))")
    pcpu_s=$(python3 -c "print(round($(pgcpu) - $p0, 1))")
    rcpu_s=$(python3 -c "print(round($(rcpu) - $r0, 1))")
    hincrby=$(redis-cli -u "$OPSIGHT_REDIS_URL" INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_hincrby:calls=\([0-9]*\),.*/\1/p')
    hset=$(redis-cli -u "$OPSIGHT_REDIS_URL" INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_hset:calls=\([0-9]*\),.*/\1/p')
    rss=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$PID/status")
    # What the collector keeps once the shipment is in: RSS 5 s after visible (what it holds on to, freed or not).
    sleep 5
    local settled
    settled=$(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$PID/status")
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    local pending
    pending=$(python3 -c '
import sys
peak = {}
for line in open(sys.argv[1]):
    for kv in line.split():
        k, v = kv.split("=")
        peak[k] = max(peak.get(k, 0), float(v))
print(",".join(f"{k}:{int(v / 1048576)}" for k, v in sorted(peak.items())) or "-")' "$WORK/pending-$n-$s.txt")
    # The hot commits' times, from their change feed entries' ids (milliseconds since the epoch, set by Redis): when
    # the last one landed tells the commit chain's part of "visible" from the wait for the window cache and the API.
    local commits
    commits=$(redis-cli -u "$OPSIGHT_REDIS_URL" XRANGE "$name:changes" - + | python3 -c '
import sys
t0 = int(sys.argv[1]) / 1e6
ms = [int(line.split("-")[0]) for line in sys.stdin if line[:1].isdigit() and "-" in line and line.strip().replace("-", "").isdigit()]
ms = [m for m in ms if t0 <= m <= t0 + 600_000]
print(f"hot_commits={len(ms)} last_hot_commit_s={(max(ms) - t0) / 1000:.2f}" if ms else "hot_commits=0 last_hot_commit_s=-")' "$t0")
    [[ -n $perf ]] && { kill -INT "$perf"; wait "$perf" || true; }
    local visible=${out#*seconds=}
    visible=${visible%% *}
    echo "run=$n ship=$s bin=$bin acked_s=$(python3 -c "print(round(($t1 - $t0) / 1e9, 2))") visible_s=$visible collector_cpu_s=$ccpu ship_cpu_s=$shipcpu redis_cpu_s=$rcpu_s postgres_cpu_s=$pcpu_s hincrby=${hincrby:-0} hset=${hset:-0} peak_rss_mb=$rss settled_rss_mb=$settled peak_pending_mb=$pending $commits"
}

RESULTS=$WORK/results
n=0
for round in $(seq "$ROUNDS"); do
    for bin in "${BINS[@]}"; do
        n=$((n + 1))
        # Not in a pipeline: `run` sets PID in this shell, so the exit trap stops a collector a failed run left.
        run "$bin" "$n" >"$WORK/last"
        cat "$WORK/last" >>"$RESULTS"
        cat "$WORK/last"
    done
done
echo "medians (uptime: $(uptime | sed 's/.*load/load/'))"
python3 - "$RESULTS" <<'EOF'
import statistics, sys
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in open(sys.argv[1])]
for b, ship in dict.fromkeys((r["bin"], r["ship"]) for r in rows):
    mine = [r for r in rows if r["bin"] == b and r["ship"] == ship]
    def med(k):
        vals = [float(r[k]) for r in mine if r[k] not in ("timeout", "")]
        if not vals:
            return "-"
        m = statistics.median(vals)
        return f"{m:.0f}" if m >= 1000 else f"{m:g}"
    which = f" shipment {ship}" if len({r["ship"] for r in rows}) > 1 else ""
    print(f"  {b}{which}: acked {med('acked_s')} s, visible {med('visible_s')} s, collector {med('collector_cpu_s')} CPU-s, ship {med('ship_cpu_s')} CPU-s, "
          f"Redis {med('redis_cpu_s')} CPU-s, PostgreSQL {med('postgres_cpu_s')} CPU-s, {med('hincrby')} HINCRBY, {med('hset')} HSET, peak RSS {med('peak_rss_mb')} MB, settled {med('settled_rss_mb')} MB ({len(mine)} runs)")
EOF
