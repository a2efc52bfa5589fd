#!/usr/bin/env bash
# The demo: an embedded SQLite database with a sample catalog, then the API on 127.0.0.1.
source "$(dirname "$0")/_env.sh"
export PERFECTORDER_DATABASE_URL="${PERFECTORDER_DATABASE_URL:-sqlite:///$root/var/demo.db}"
mkdir -p "$root/var"
perfectorder db upgrade
perfectorder demo seed
exec perfectorder serve --host 127.0.0.1 --port "${PORT:-8000}"
