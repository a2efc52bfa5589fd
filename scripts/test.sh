#!/usr/bin/env bash
# The whole test suite: lint, types, the layer contracts (import-linter), a plain `pip install .`
# that must work, then every test (PostgreSQL included).
source "$(dirname "$0")/_env.sh"
bash scripts/ensure-postgres.sh
bash scripts/ensure-chromium.sh
ruff check .
ruff format --check .
mypy
lint-imports
bash scripts/check-plain-install.sh
# The slowest tests, so the suite's time can be watched from every CI log.
pytest --durations=25 "$@"
