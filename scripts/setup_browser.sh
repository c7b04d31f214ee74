#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (tests/test_app_e2e.py).
# Playwright drives it through executable_path: no browser download.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    echo "setup: chromium is present: $(command -v chromium)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium for the browser test"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    command -v chromium >/dev/null || { echo "setup: error: chromium did not install" >&2; exit 1; }
else
    echo "setup: chromium is missing and cannot be installed here (needs root"
    echo "       and apt-get); the browser test will be skipped"
fi
