# Sourced by the benchmark scripts that run an `opsight serve` of their own on the local stores (scripts/stores.sh;
# OPSIGHT_REDIS_URL and OPSIGHT_DATABASE_URL set from its `env`).

# free_port — a free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# collector_config FILE PORT NAME WALDIR TOKEN — a configuration listening on 127.0.0.1:PORT with schema and Redis
# key prefix NAME, its write-ahead log in WALDIR, one token TOKEN with scopes [ingest, read] and the three funnels of
# Benchmarks/run.sh.
collector_config() {
    local file=$1 port=$2 name=$3 wal=$4 token=$5
    cat >"$file" <<EOF
listen: 127.0.0.1:$port
redis_url: $OPSIGHT_REDIS_URL
database_url: $OPSIGHT_DATABASE_URL
database_schema: $name
redis_key_prefix: $name
wal:
  dir: $wal
auth:
  tokens:
    - {name: bench, token: $token, scopes: [ingest, read]}
EOF
    sed -n '/^funnels:/,/^EOF/p' "$(dirname "${BASH_SOURCE[0]}")/run.sh" | grep -v '^EOF' >>"$file"
}

# collector_start BIN CONFIG LOG — starts `BIN serve` on CONFIG in the background (the stores' environment
# variables that would override it unset), its output to LOG; sets COLLECTOR_PID.
collector_start() {
    env -u OPSIGHT_LISTEN -u OPSIGHT_WAL_DIR -u OPSIGHT_DATABASE_SCHEMA -u OPSIGHT_REDIS_KEY_PREFIX \
        "$1" serve --config "$2" --log-level warning >"$3" 2>&1 &
    COLLECTOR_PID=$!
}

# collector_wait_ready URL — waits up to 60 s for URL/readyz to answer 200.
collector_wait_ready() {
    for _ in $(seq 600); do [[ $(curl -s -o /dev/null -w '%{http_code}' "$1/readyz") == 200 ]] && return 0; sleep 0.1; done
    return 1
}

# collector_drop NAME — drops the schema NAME and the Redis keys under NAME.
collector_drop() {
    psql -q "$OPSIGHT_DATABASE_URL" -c "DROP SCHEMA IF EXISTS \"$1\" CASCADE" >/dev/null 2>&1 || true
    redis-cli -u "$OPSIGHT_REDIS_URL" --scan --pattern "$1:*" | xargs -r -d '\n' -n 500 redis-cli -u "$OPSIGHT_REDIS_URL" UNLINK >/dev/null
}
