#!/usr/bin/env bash
# The demo: an embedded SQLite database with a sample store, then the API on 127.0.0.1.
source "$(dirname "$0")/_env.sh"
export PERFECTORDER_DATABASE_URL="${PERFECTORDER_DATABASE_URL:-sqlite:///$root/var/demo.db}"
port="${PORT:-8000}"
mkdir -p "$root/var"
perfectorder db upgrade
perfectorder demo seed | tee "$root/var/demo-key.txt"
key=$(tail -n 1 "$root/var/demo-key.txt")
cat <<MSG

  API and its documentation:  http://127.0.0.1:$port/docs
  Try it:  curl -H "Authorization: Bearer $key" http://127.0.0.1:$port/api/v1/orders
  The key is also in var/demo-key.txt. Stop with Ctrl-C.

MSG
exec perfectorder serve --host 127.0.0.1 --port "$port"
