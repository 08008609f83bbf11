#!/usr/bin/env bash
# Checks what `make run` promises about the stores: Ctrl-C (SIGINT to run.sh's process group, as a terminal sends
# it) stops the stores scripts/run.sh started, and leaves running those that were already running. It starts and
# stops this checkout's local stores (scripts/stores.sh), so run it while no test run needs them; they are left as
# they were found. Needs the build (`make build`). Exit 0 when every case holds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stores=scripts/stores.sh

# "postgresql=running redis=stopped" from `stores.sh status`.
state() {
    local out pg=stopped redis=stopped
    out="$(bash "$stores" status 2>/dev/null || true)"
    [[ $out == *"postgresql: running"* ]] && pg=running
    [[ $out == *"redis: running"* ]] && redis=running
    echo "postgresql=$pg redis=$redis"
}

# Puts the stores in `want` (the format of `state`).
arrange() {
    local want=$1
    bash "$stores" start >/dev/null 2>&1
    [[ $want == *"postgresql=stopped"* ]] && bash "$stores" stop postgresql >/dev/null 2>&1
    [[ $want == *"redis=stopped"* ]] && bash "$stores" stop redis >/dev/null 2>&1
    [[ "$(state)" == "$want" ]] || { echo "run_test: could not arrange $want (have $(state))" >&2; exit 1; }
}

original="$(state)"
failures=0
# Each case: the stores before `make run`, and what Ctrl-C must leave.
for before in "postgresql=stopped redis=stopped" "postgresql=running redis=running" "postgresql=stopped redis=running"; do
    arrange "$before"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    wal="$(mktemp -d)"
    log="$(mktemp)"
    DEMO_TRAFFIC=0 OPSIGHT_LISTEN="127.0.0.1:$port" OPSIGHT_WAL_DIR="$wal" setsid bash scripts/run.sh >"$log" 2>&1 &
    run=$!
    for _ in $(seq 3000); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
        kill -0 "$run" 2>/dev/null || break
        sleep 0.1
    done
    if ! curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
        echo "FAIL ($before): the server never answered; run.sh said:" >&2
        tail -20 "$log" >&2
        failures=$((failures + 1))
        kill -TERM -- "-$run" 2>/dev/null || true
        wait "$run" 2>/dev/null || true
        continue
    fi
    kill -INT -- "-$run"
    wait "$run" 2>/dev/null || true
    after="$(state)"
    if [[ $after == "$before" ]]; then
        echo "ok   stores before: $before; after Ctrl-C: $after"
    else
        echo "FAIL stores before: $before; after Ctrl-C: $after (expected as before)" >&2
        failures=$((failures + 1))
    fi
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
        echo "FAIL ($before): the server still answers after Ctrl-C" >&2
        failures=$((failures + 1))
    fi
    rm -rf "$wal" "$log"
done
arrange "$original"
exit $((failures > 0))
