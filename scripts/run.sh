#!/usr/bin/env bash
# `make run`: local PostgreSQL and Redis on loopback, then `opsight serve` with the example configuration, and the
# reference AssessmentService shipping to it with assessment-sim driving traffic (DEMO_TRAFFIC=0 leaves them out).
# Prints the URLs and a development token; Ctrl-C stops the server, the service, the simulator and the local alert
# receiver, then the stores this run started (stores that were already running keep running).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

pids=()
started_stores=()
# On any exit (Ctrl-C included): stop the processes started here, wait for them (the server's last flush needs
# the stores), then stop the stores that were not running before.
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if ((${#pids[@]})); then
        kill "${pids[@]}" 2>/dev/null || true
        # At most 10 s for a graceful stop; `wait` also reaps them (a zombie would still answer kill -0).
        (sleep 10 && kill -9 "${pids[@]}" 2>/dev/null) &
        local reaper=$!
        wait "${pids[@]}" 2>/dev/null || true
        kill "$reaper" 2>/dev/null || true
    fi
    for store in "${started_stores[@]}"; do bash scripts/stores.sh stop "$store" || true; done
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

before="$(bash scripts/stores.sh status 2>/dev/null || true)"
[[ $before == *"postgresql: running"* ]] || started_stores+=(postgresql)
[[ $before == *"redis: running"* ]] || started_stores+=(redis)
bash scripts/stores.sh start
eval "$(bash scripts/stores.sh env)"
swift build --product opsight
bindir="$(swift build --show-bin-path)"
bin="$bindir/opsight"
demo="${DEMO_TRAFFIC:-1}"
if [[ $demo != 0 ]]; then
    swift build --product AssessmentService
    swift build --product assessment-sim
fi
export OPSIGHT_ADMIN_TOKEN="${OPSIGHT_ADMIN_TOKEN:-dev-admin-token}"
export OPSIGHT_INGEST_TOKEN="${OPSIGHT_INGEST_TOKEN:-dev-ingest-token}"
export OPSIGHT_WAL_DIR="${OPSIGHT_WAL_DIR:-$root/data/wal}"
export OPSIGHT_WEBHOOK_SECRET="${OPSIGHT_WEBHOOK_SECRET:-dev-webhook-secret}"
# The example configuration's webhook receiver: prints the alerts Opsight delivers.
python3 scripts/webhook_printer.py 127.0.0.1:9401 &
pids+=("$!")
listen="${OPSIGHT_LISTEN:-127.0.0.1:9400}"
"$bin" serve --config opsight.example.yaml &
server=$!
pids+=("$server")

# Waits (bounded) until URL answers 2xx; fails when process PID has exited.
wait_for() {
    local url=$1 pid=$2 _
    for _ in $(seq 600); do
        curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { echo "run: process $pid exited before $url answered" >&2; return 1; }
        sleep 0.1
    done
    echo "run: $url did not answer within 60 s" >&2
    return 1
}
wait_for "http://$listen/healthz" "$server"
printf '\n  Console: http://%s/   sign in with the token %s\n' "$listen" "$OPSIGHT_ADMIN_TOKEN"

service_listen="${ASSESSMENT_LISTEN:-127.0.0.1:9402}"
if [[ $demo != 0 ]]; then
    mkdir -p "$root/data"
    "$bindir/AssessmentService" --listen "$service_listen" --database-url "$OPSIGHT_DATABASE_URL" \
        --schema "${ASSESSMENT_SCHEMA:-assessment_demo}" --opsight-url "http://$listen" --opsight-token "$OPSIGHT_INGEST_TOKEN" \
        --log-level warning >"$root/data/assessment.log" 2>&1 &
    pids+=("$!")
    wait_for "http://$service_listen/healthz" "$!"
    "$bindir/assessment-sim" --url "http://$service_listen" --rate 2 --duration 86400 \
        >"$root/data/assessment-sim.json" 2>&1 &
    pids+=("$!")
    cat <<MSG

  AssessmentService on http://$service_listen (service "assessment"), assessment-sim driving ~2 journeys/s
  faults: curl -X POST http://$service_listen/admin/faults -d '{"error_rate":0.2,"latency_multiplier":3,"ai_failure_rate":0.5}'
MSG
fi
cat <<MSG

  Console: http://$listen/   (sign in by pasting the token below)
  token (ingest, read, admin): $OPSIGHT_ADMIN_TOKEN

  Opsight API on http://$listen
  try:  curl -H 'Authorization: Bearer $OPSIGHT_ADMIN_TOKEN' 'http://$listen/api/v1/services?window=5m'
  funnel (document uploaded → assessment requested → completed → report viewed):
        curl -H 'Authorization: Bearer $OPSIGHT_ADMIN_TOKEN' 'http://$listen/api/v1/funnels/assessment_journey?window=15m'
  ship: $bin ship FILE --url http://$listen --token $OPSIGHT_INGEST_TOKEN
  alerts (rules in alerts/, delivered to a local webhook that prints them here):
        curl -H 'Authorization: Bearer $OPSIGHT_ADMIN_TOKEN' http://$listen/api/v1/alerts

MSG
wait "$server"
