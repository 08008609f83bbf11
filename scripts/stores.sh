#!/usr/bin/env bash
# Local PostgreSQL and Redis for development and tests, with their data under <repo>/.local/stores.
#
#   scripts/stores.sh start    install missing packages, then start both stores (a no-op when they already run)
#   scripts/stores.sh stop [postgresql|redis]
#                              stop both stores, or the one named (data is kept)
#   scripts/stores.sh status   print whether each store runs; exit 0 only when both do
#   scripts/stores.sh env      print `export` lines for the store URLs: eval "$(scripts/stores.sh env)"
#   scripts/stores.sh deps     only install missing build and store packages (apt-get, needs root or sudo)
#   scripts/stores.sh clean    stop both stores and delete their data
#
# Both servers listen on 127.0.0.1 only, on free ports chosen at the first start and remembered in
# .local/stores/ports.env, so `env` prints the same URLs until `clean`.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STORES="$REPO/.local/stores"
PG_DIR="$STORES/pg"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
REDIS_DIR="$STORES/redis"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
STATE="$STORES/ports.env"
PG_WANTED_VERSION=15
READY_TIMEOUT=${STORES_READY_TIMEOUT:-60}
# prometheus brings promtool, which the tests use to check the exposition format.
# libjs-dygraphs: the console's chart library; chromium and chromium-driver: its browser tests.
# haproxy: the load balancer in front of three collectors in `make test-cluster`.
# pgbouncer: the integration test of the PostgreSQL stores through a transaction-mode pooler starts its own.
# wrk, mtail, time, linux-perf: `make bench` (load generator, the mtail comparison, CPU times, profiles).
PACKAGES=(redis-server redis-tools libhiredis-dev libre2-dev zlib1g-dev pkg-config prometheus prometheus-alertmanager
    wrk mtail time linux-perf
    libjs-dygraphs chromium chromium-driver haproxy pgbouncer)

PG_PORT=""
REDIS_PORT=""

log() { printf 'stores: %s\n' "$*" >&2; }
die() {
    printf 'stores: error: %s\n' "$*" >&2
    exit 1
}

# Runs a command with root rights: directly as root, otherwise through sudo.
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "'$*' needs root; run as root or install sudo"
    fi
}

# PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

install_packages() {
    local missing=() package missing_text
    for package in "${PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    # Any installed PostgreSQL server will do; only install one when there is none.
    local need_pg=0
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_pg=1
    [[ ${#missing[@]} -eq 0 && $need_pg -eq 0 ]] && return 0
    ((need_pg)) && missing_text="${missing[*]} postgresql" || missing_text="${missing[*]}"
    command -v apt-get >/dev/null || die "missing packages (${missing_text# }) and no apt-get to install them"
    log "updating apt package lists"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    if ((need_pg)); then
        # Debian 12 ships PostgreSQL 15; newer releases only their own version, which the metapackage names.
        if apt-cache show "postgresql-$PG_WANTED_VERSION" >/dev/null 2>&1; then
            missing+=("postgresql-$PG_WANTED_VERSION" "postgresql-client-$PG_WANTED_VERSION")
        else
            missing+=(postgresql postgresql-client)
        fi
    fi
    log "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

# The bin directory of the PostgreSQL that initialized the data directory, else of the wanted or newest version.
pg_bin() {
    local version=$PG_WANTED_VERSION
    [[ -f "$PG_DATA/PG_VERSION" ]] && version=$(<"$PG_DATA/PG_VERSION")
    if [[ -x "/usr/lib/postgresql/$version/bin/postgres" ]]; then
        echo "/usr/lib/postgresql/$version/bin"
        return
    fi
    [[ -f "$PG_DATA/PG_VERSION" ]] && die "data in $PG_DATA needs PostgreSQL $version, which is not installed; run '$0 clean'"
    local newest
    newest=$(compgen -G "/usr/lib/postgresql/*/bin" | sort -V | tail -n 1 || true)
    [[ -n "$newest" ]] || die "no PostgreSQL server under /usr/lib/postgresql; install postgresql-$PG_WANTED_VERSION"
    echo "$newest"
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local port
    for _ in $(seq 1 50); do
        if command -v python3 >/dev/null; then
            port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        else
            port=$((20000 + RANDOM % 40000))
        fi
        if ! port_in_use "$port" && [[ "$port" != "$PG_PORT" && "$port" != "$REDIS_PORT" ]]; then
            echo "$port"
            return
        fi
    done
    die "could not find a free port on 127.0.0.1"
}

load_state() {
    if [[ -f "$STATE" ]]; then
        PG_PORT=$(sed -n 's/^PG_PORT=//p' "$STATE")
        REDIS_PORT=$(sed -n 's/^REDIS_PORT=//p' "$STATE")
    fi
}

save_state() {
    printf 'PG_PORT=%s\nREDIS_PORT=%s\n' "$PG_PORT" "$REDIS_PORT" >"$STATE.tmp"
    mv "$STATE.tmp" "$STATE"
}

pg_running() {
    [[ -f "$PG_DATA/PG_VERSION" ]] || return 1
    local bin
    bin=$(pg_bin 2>/dev/null) || return 1
    as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

redis_running() {
    [[ -f "$REDIS_PIDFILE" && -n "$REDIS_PORT" ]] && kill -0 "$(<"$REDIS_PIDFILE")" 2>/dev/null &&
        [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

# Prints the last lines of a server log to explain a failed start.
show_log() {
    log "last lines of $1:"
    tail -n 30 "$1" >&2 2>/dev/null || true
}

# The postgres user must be able to reach its data directory through every parent directory.
make_reachable_by_postgres() {
    [[ $EUID -eq 0 ]] || return 0
    id postgres >/dev/null 2>&1 || die "user 'postgres' is missing; reinstall postgresql-$PG_WANTED_VERSION"
    chown postgres:postgres "$PG_DIR"
    [[ ! -d "$PG_DATA" ]] || chown -R postgres:postgres "$PG_DATA"
    # Walk from / down, so that only the directories that really block the way are changed.
    local dir="" part
    local -a parts
    IFS=/ read -r -a parts <<<"${STORES#/}"
    for part in "${parts[@]}"; do
        dir="$dir/$part"
        if ! runuser -u postgres -- test -x "$dir"; then
            log "allowing the postgres user to traverse $dir (chmod o+x)"
            chmod o+x "$dir"
        fi
    done
}

init_pg() {
    local bin
    bin=$(pg_bin)
    log "initializing PostgreSQL in $PG_DATA"
    mkdir -p "$PG_DIR"
    rm -rf "$PG_DATA"
    make_reachable_by_postgres
    as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1 ||
        {
            show_log "$PG_DIR/initdb.log"
            die "initdb failed"
        }
    # No Unix socket: its path length is limited and its default directory may not exist; clients use TCP.
    as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<'EOF'

# Added by scripts/stores.sh: a disposable local store, reachable from this machine only.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    as_pg tee "$PG_DATA/pg_hba.conf" >/dev/null <<'EOF'
# Added by scripts/stores.sh: trust on loopback only.
host all all 127.0.0.1/32 trust
EOF
}

start_pg() {
    if pg_running; then
        log "PostgreSQL already runs on 127.0.0.1:$PG_PORT"
        return
    fi
    [[ -f "$PG_DATA/PG_VERSION" ]] || init_pg
    make_reachable_by_postgres
    if [[ -z "$PG_PORT" ]] || port_in_use "$PG_PORT"; then
        PG_PORT=$(free_port)
        save_state
    fi
    local bin
    bin=$(pg_bin)
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    # `9>&-`: the server must not inherit the lock, or it would hold it for its whole life.
    # max_connections: `swift test` runs suites in parallel, and each E2E server and store test has its own pool;
    # the default 100 ran out ("remaining connection slots are reserved") and servers then failed to start.
    if ! as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -o "-p $PG_PORT -c max_connections=500" -w -t "$READY_TIMEOUT" start >/dev/null 9>&-; then
        show_log "$PG_LOG"
        die "PostgreSQL failed to start on 127.0.0.1:$PG_PORT (waited at most ${READY_TIMEOUT}s); see the log above"
    fi
    local waited=0
    until "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres; do
        if ((waited >= READY_TIMEOUT)); then
            show_log "$PG_LOG"
            die "PostgreSQL on 127.0.0.1:$PG_PORT is not ready after ${READY_TIMEOUT}s"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    local psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tA)
    if [[ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'opsight'")" ]]; then
        "${psql[@]}" -c "CREATE ROLE opsight LOGIN CREATEDB"
    fi
    if [[ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'opsight'")" ]]; then
        "${psql[@]}" -c "CREATE DATABASE opsight OWNER opsight"
    fi
}

start_redis() {
    if redis_running; then
        log "Redis already runs on 127.0.0.1:$REDIS_PORT"
        return
    fi
    mkdir -p "$REDIS_DIR"
    rm -f "$REDIS_PIDFILE"
    if [[ -z "$REDIS_PORT" ]] || port_in_use "$REDIS_PORT"; then
        REDIS_PORT=$(free_port)
        save_state
    fi
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
        --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" --dir "$REDIS_DIR" \
        --save '' --appendonly no </dev/null 9>&- || {
        show_log "$REDIS_LOG"
        die "redis-server failed to start"
    }
    local waited=0
    until [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; do
        if ((waited >= READY_TIMEOUT * 5)); then
            show_log "$REDIS_LOG"
            die "Redis on 127.0.0.1:$REDIS_PORT is not ready after ${READY_TIMEOUT}s"
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
}

stop_pg() {
    if pg_running; then
        log "stopping PostgreSQL"
        as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t "$READY_TIMEOUT" stop >/dev/null ||
            {
                show_log "$PG_LOG"
                die "PostgreSQL did not stop"
            }
    fi
}

stop_redis() {
    [[ -f "$REDIS_PIDFILE" ]] || return 0
    local pid
    pid=$(<"$REDIS_PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping Redis"
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
        local waited=0
        while kill -0 "$pid" 2>/dev/null; do
            ((waited < 100)) || die "Redis (pid $pid) did not stop"
            sleep 0.1
            waited=$((waited + 1))
        done
    fi
    rm -f "$REDIS_PIDFILE"
}

print_env() {
    [[ -n "$PG_PORT" && -n "$REDIS_PORT" ]] || die "no ports yet; run '$0 start' first"
    local redis_url="redis://127.0.0.1:$REDIS_PORT/0"
    local database_url="postgres://opsight@127.0.0.1:$PG_PORT/opsight"
    printf 'export OPSIGHT_TEST_REDIS_URL=%s\n' "$redis_url"
    printf 'export OPSIGHT_TEST_DATABASE_URL=%s\n' "$database_url"
    printf 'export OPSIGHT_REDIS_URL=%s\n' "$redis_url"
    printf 'export OPSIGHT_DATABASE_URL=%s\n' "$database_url"
}

print_status() {
    local code=0
    if pg_running; then
        echo "postgresql: running on 127.0.0.1:$PG_PORT (data $PG_DATA)"
    else
        echo "postgresql: stopped"
        code=3
    fi
    if redis_running; then
        echo "redis: running on 127.0.0.1:$REDIS_PORT (pid $(<"$REDIS_PIDFILE"))"
    else
        echo "redis: stopped"
        code=3
    fi
    return $code
}

main() {
    local command=${1:-}
    case "$command" in
    start | stop | status | env | deps | clean) ;;
    *)
        echo "usage: $0 start|stop [postgresql|redis]|status|env|deps|clean" >&2
        exit 2
        ;;
    esac
    if [[ "$command" == deps ]]; then
        install_packages
        return
    fi
    mkdir -p "$STORES"
    chmod 755 "$REPO/.local" "$STORES"
    # Serialize concurrent invocations (for example parallel make targets).
    exec 9>"$STORES/stores.lock"
    flock 9
    load_state
    case "$command" in
    start)
        install_packages
        start_redis
        start_pg
        ;;
    stop)
        case "${2:-}" in
        "" | postgresql) stop_pg ;;&
        "" | redis) stop_redis ;;
        postgresql) ;;
        *) die "unknown store '${2:-}' (postgresql or redis)" ;;
        esac
        ;;
    status) print_status ;;
    env) print_env ;;
    clean)
        stop_pg
        stop_redis
        rm -rf "$PG_DIR" "$REDIS_DIR" "$STATE"
        log "deleted $PG_DIR and $REDIS_DIR"
        ;;
    esac
}

main "$@"
