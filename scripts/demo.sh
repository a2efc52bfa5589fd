#!/usr/bin/env bash
# The demo: a quarter of a simulated store (scenarios/demo.toml) in an embedded SQLite database,
# generated through the real services, then the API (and dashboard) on 127.0.0.1.
source "$(dirname "$0")/_env.sh"
mkdir -p "$root/var"
db="$root/var/demo.db"
export PERFECTORDER_DATABASE_URL="${PERFECTORDER_DATABASE_URL:-sqlite:///$db}"
port="${PORT:-8000}"
scenario="$root/scenarios/demo.toml"
stamp="$root/var/demo.$(sha256sum "$scenario" | cut -c1-16).done"
if [ ! -f "$stamp" ]; then
    # A fresh store for this scenario; the same seed gives the same store every time.
    rm -f "$db" "$db-wal" "$db-shm" "$root"/var/demo.*.done
    perfectorder db upgrade
    started=$(date +%s)
    perfectorder simulate "$scenario"
    echo "simulated in $(( $(date +%s) - started )) s"
    touch "$stamp"
else
    echo "var/demo.db already holds the demo store (delete $stamp to simulate again)"
fi
# The sample catalog too, so the README's curl example has its mugs; and a fresh admin key.
key=$(perfectorder demo seed | tail -n 1)
password="demo-$(head -c 9 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')"
user="demo-$(date +%s)"
perfectorder users create "$user" --role admin --password "$password" >/dev/null
printf 'dashboard login: %s %s\n%s\n' "$user" "$password" "$key" > "$root/var/demo-key.txt"
cat <<MSG

  API and its documentation:  http://127.0.0.1:$port/docs
  Dashboard:                  http://127.0.0.1:$port/   (log in as $user / $password)
  Try it:   curl -H "Authorization: Bearer $key" "http://127.0.0.1:$port/api/v1/metrics/perfect-order?from=2026-08-24&to=2026-11-21"
  Report:   .venv/bin/perfectorder report --from 2026-08-24 --to 2026-11-21
  Reports show the simulated store; a change you make shows in them after a refresh:
  run .venv/bin/perfectorder worker (refreshes every 10 s) or .venv/bin/perfectorder metrics refresh.
  The key and login are also in var/demo-key.txt. Stop with Ctrl-C.

MSG
exec perfectorder serve --host 127.0.0.1 --port "$port"
