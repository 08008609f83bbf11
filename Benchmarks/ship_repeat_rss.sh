#!/usr/bin/env bash
# The collector's memory over repeated shipments of the same hour (issue 15's RSS target, as `make bench` ships:
# several times into one collector, with pauses in between).
#
#   bash Benchmarks/ship_repeat_rss.sh BIN [SHIPMENTS] [PAUSE_SECONDS]      (defaults: 4 shipments, 9 s apart)
#
# A fresh `opsight serve` (own PostgreSQL schema, Redis key prefix and WAL; the three funnels of run.sh) on the local
# stores (start them first: bash scripts/stores.sh start), then `opsight ship` of a 1 000 000-line SPEC §11 file
# (Benchmarks/gen_events.py, regenerated when older than 2 minutes) SHIPMENTS times, PAUSE_SECONDS apart. Prints
# when each shipment was acknowledged, the collector's RSS every second (sampled every 0.25 s, the second's largest)
# with what each lane holds pending (opsight_pending_delta_bytes) and the log's backlog (opsight_wal_bytes), and
# its peak RSS (VmHWM). Bounded: each shipment has 120 s. Everything it started is stopped, its schema and keys
# dropped.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
source Benchmarks/collector.sh
BIN=${1:?usage: $0 BIN [SHIPMENTS] [PAUSE_SECONDS]}
N=${2:-4}
PAUSE=${3:-9}
[[ -x $BIN ]] || { echo "ship_repeat_rss: $BIN is not an executable" >&2; exit 1; }
bash scripts/stores.sh status >/dev/null 2>&1 || { echo "ship_repeat_rss: start the stores first (bash scripts/stores.sh start)" >&2; exit 1; }
eval "$(bash scripts/stores.sh env)"
WORK=$(mktemp -d /tmp/opsight-shiprss.XXXXXX)
FILE=/tmp/opsight-shiprss-events.ndjson
port=$(free_port)
url=http://127.0.0.1:$port
name=shiprss_$port
token=shiprss0123456789abcdef
PID=""
SAMPLER=""
cleanup() {
    [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null
    [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    collector_drop "$name"
    rm -rf "$WORK"
}
trap cleanup EXIT
if [[ ! -f $FILE || $(($(date +%s) - $(stat -c %Y "$FILE"))) -gt 120 ]]; then
    python3 Benchmarks/gen_events.py --count 1000000 --out "$FILE" --seed 2 >/dev/null
fi
collector_config "$WORK/o.yaml" "$port" "$name" "$WORK/wal" "$token"
collector_start "$BIN" "$WORK/o.yaml" "$WORK/serve.log"
PID=$COLLECTOR_PID
collector_wait_ready "$url" || { tail -20 "$WORK/serve.log" >&2; echo "ship_repeat_rss: the collector did not get ready" >&2; exit 1; }
T0=$(date +%s%N)
python3 - "$PID" "$url" "$token" "$T0" >"$WORK/rss.txt" <<'EOF' &
import json, sys, time, urllib.parse, urllib.request
pid, url, token, t0 = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]) / 1e9
def query(q):
    req = urllib.request.Request(url + "/api/v1/query?" + urllib.parse.urlencode({"query": q}),
                                 headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=1) as r:
            return json.load(r)["data"]["result"]
    except Exception:
        return []
second, peak, extra = None, 0, ""
while True:
    try:
        rss = int([l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0].split()[1]) // 1024
    except Exception:
        break
    s = int(time.time() - t0)
    if s != second:
        if second is not None:
            print(f"t={second:>3} s rss_mb={peak} {extra}", flush=True)
        second, peak = s, 0
        mb = lambda r: str(int(float(r["value"][1]) / 1048576))
        extra = " ".join(f"pending_{r['metric'].get('store', '?')}_mb={mb(r)}" for r in query("opsight_pending_delta_bytes"))
        extra += " " + " ".join(f"wal_mb={mb(r)}" for r in query("opsight_wal_bytes"))
    peak = max(peak, rss)
    time.sleep(0.25)
EOF
SAMPLER=$!
for i in $(seq "$N"); do
    t=$(date +%s%N)
    timeout 120 "$BIN" ship "$FILE" --url "$url" --token "$token" >"$WORK/ship-$i.log" 2>&1 ||
        { tail -5 "$WORK/ship-$i.log" >&2; echo "ship_repeat_rss: shipment $i failed" >&2; exit 1; }
    echo "shipment $i: started at $(( (t - T0) / 1000000 )) ms, acknowledged at $(( ($(date +%s%N) - T0) / 1000000 )) ms"
    sleep "$PAUSE"
done
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
SAMPLER=""
cat "$WORK/rss.txt"
echo "bin=$BIN shipments=$N pause_s=$PAUSE peak_rss_mb=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$PID/status")"
