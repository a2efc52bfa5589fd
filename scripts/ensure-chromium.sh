#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser tests when it is missing (Playwright drives
# it; no browser is downloaded). Without root or sudo it says so; the tests then fail under CI.
set -uo pipefail
command -v chromium >/dev/null && exit 0
as_root=()
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then as_root=(sudo -n); else
        echo "chromium is missing and this user cannot install it: apt-get install -y chromium" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y -q chromium >/dev/null 2>&1 || {
    "${as_root[@]}" apt-get update -q >/dev/null 2>&1
    "${as_root[@]}" apt-get install -y -q chromium >/dev/null 2>&1
} || echo "apt-get could not install chromium" >&2
exit 0
