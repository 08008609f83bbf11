#!/usr/bin/env bash
# `make run`: local PostgreSQL and Redis on loopback, then `opsight serve` with the example configuration.
# Prints the URL and a development token; Ctrl-C stops the server and the local alert receiver (the stores keep
# running: make stores-stop).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/stores.sh start
eval "$(bash scripts/stores.sh env)"
swift build --product opsight
bin="$(swift build --show-bin-path)/opsight"
export OPSIGHT_ADMIN_TOKEN="${OPSIGHT_ADMIN_TOKEN:-dev-admin-token}"
export OPSIGHT_INGEST_TOKEN="${OPSIGHT_INGEST_TOKEN:-dev-ingest-token}"
export OPSIGHT_WAL_DIR="${OPSIGHT_WAL_DIR:-$root/data/wal}"
export OPSIGHT_WEBHOOK_SECRET="${OPSIGHT_WEBHOOK_SECRET:-dev-webhook-secret}"
# The example configuration's webhook receiver: prints the alerts Opsight delivers.
python3 scripts/webhook_printer.py 127.0.0.1:9401 &
printer=$!
trap 'kill $printer 2>/dev/null || true' EXIT
listen="${OPSIGHT_LISTEN:-127.0.0.1:9400}"
cat <<MSG

  Opsight on http://$listen
  token (ingest, read, admin): $OPSIGHT_ADMIN_TOKEN
  try:  curl -H 'Authorization: Bearer $OPSIGHT_ADMIN_TOKEN' 'http://$listen/api/v1/services?window=5m'
  ship: $bin ship FILE --url http://$listen --token $OPSIGHT_INGEST_TOKEN
  alerts (rules in alerts/, delivered to a local webhook that prints them here):
        curl -H 'Authorization: Bearer $OPSIGHT_ADMIN_TOKEN' http://$listen/api/v1/alerts

MSG
"$bin" serve --config opsight.example.yaml
