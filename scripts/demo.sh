#!/usr/bin/env bash
# The demo: a quarter of a simulated store (scenarios/demo.toml) in an embedded SQLite database,
# generated through the real services, then the API (and dashboard) on 127.0.0.1. On a first run
# the server starts once the first two weeks are stored and judged; the rest of the quarter is
# simulated behind it, with its progress on the dashboard's overview.
source "$(dirname "$0")/_env.sh"
mkdir -p "$root/var"
db="$root/var/demo.db"
export PERFECTORDER_DATABASE_URL="${PERFECTORDER_DATABASE_URL:-sqlite:///$db}"
port="${PORT:-8000}"
# DEMO_SCENARIO: another scenario file (the tests run the script on a small one).
scenario="${DEMO_SCENARIO:-$root/scenarios/demo.toml}"
stamp="$root/var/demo.$(sha256sum "$scenario" | cut -c1-16).done"
ready="$root/var/demo.ready"
log="$root/var/demo-simulation.log"
simulation=""

stop_simulation() {
    if [ -n "$simulation" ] && kill -0 "$simulation" 2>/dev/null; then
        # The simulator is the subshell's child: stop it first, or it would go on alone.
        pkill -TERM -P "$simulation" 2>/dev/null || true
        kill "$simulation" 2>/dev/null || true
    fi
    # Ctrl-C reaches the simulator too, which may be gone before the server has shut down: what
    # tells an unfinished quarter is the missing stamp, not a process still running.
    if [ -n "$simulation" ] && [ ! -f "$stamp" ]; then
        echo "the simulation stopped before the end of the quarter; the next run starts it again"
    fi
}

if [ ! -f "$stamp" ]; then
    # A fresh store for this scenario; the same seed gives the same store every time.
    rm -f "$db" "$db-wal" "$db-shm" "$root"/var/demo.*.done "$ready"
    perfectorder db upgrade
    started=$(date +%s)
    (
        perfectorder simulate "$scenario" --ready-file "$ready" \
            && touch "$stamp" \
            && echo "the quarter was simulated and judged in $(($(date +%s) - started)) s"
    ) >"$log" 2>&1 &
    simulation=$!
    trap stop_simulation EXIT
    trap 'exit 130' INT TERM
    printf 'simulating the first two weeks of the demo quarter '
    until [ -f "$ready" ]; do
        if ! kill -0 "$simulation" 2>/dev/null; then
            printf '\nthe simulation failed (%s):\n' "$log"
            cat "$log"
            exit 1
        fi
        sleep 1
        printf .
    done
    printf ' ready after %s s\nthe rest of the quarter is simulated behind the server (progress on the overview, log in %s)\n' \
        "$(($(date +%s) - started))" "$log"
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
# Not exec: this shell stays to stop the simulation when the server stops.
perfectorder serve --host 127.0.0.1 --port "$port"
