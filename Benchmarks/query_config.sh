# Sourced by Benchmarks/query_bench.sh and Benchmarks/scrape_changed.sh: the collector configuration both measure
# with (the local stores of scripts/stores.sh, one schema and key prefix, the three funnels of run.sh).
#
#   query_config PORT SCHEMA TOKEN WAL_DIR > opsight.yaml
query_config() {
    local port=$1 schema=$2 token=$3 wal=$4
    echo "listen: 127.0.0.1:$port"
    echo "redis_url: $OPSIGHT_REDIS_URL"
    echo "database_url: $OPSIGHT_DATABASE_URL"
    echo "database_schema: $schema"
    echo "redis_key_prefix: $schema"
    echo "wal:"
    echo "  dir: $wal"
    echo "auth:"
    echo "  tokens:"
    echo "    - {name: bench, token: $token, scopes: [ingest, read]}"
    echo "funnels:"
    echo "  - {name: assessment_journey, window: 1h, steps: [document_uploaded, assessment_requested, {name: assessment_completed, kind: job, queue: assessments, event: succeeded}, report_viewed]}"
    echo "  - {name: activation, window: 1d, steps: [signed_up, document_uploaded, report_viewed]}"
    echo "  - {name: sharing, window: 30m, steps: [report_viewed, report_shared, signed_up]}"
}
