#!/usr/bin/env bash
# Starts the machine's PostgreSQL when it is installed but down; the tests decide whether its absence fails.
set -uo pipefail
url="${PERFECTORDER_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then exit 0; fi
if command -v pg_lsclusters >/dev/null; then
    version=$(pg_lsclusters -h | awk 'NR==1{print $1}')
    [ -n "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done
fi
echo "PostgreSQL is not reachable at $url" >&2
exit 0
