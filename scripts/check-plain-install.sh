#!/usr/bin/env bash
# A plain `pip install .` (no extras) must give a CLI that works: every import the package makes at
# run time has to be a runtime dependency, not one that only the dev extras happen to bring.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"${PYTHON:-python3}" -m venv "$work/venv"
# From a copy, so the build leaves nothing (build/, *.egg-info) in the checkout.
mkdir "$work/project"
cp -r "$root/pyproject.toml" "$root/README.md" "$root/LICENSE" "$root/src" "$work/project/"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$work/project"
cli="$work/venv/bin/perfectorder"
export PERFECTORDER_DATABASE_URL="sqlite:///$work/plain.db"
cd "$work"
"$cli" --help >/dev/null
"$cli" db upgrade >/dev/null
"$cli" report --json --from 2026-11-01 --to 2026-11-30 >/dev/null
echo "plain install: perfectorder --help, db upgrade and report --json work without the dev extras"
