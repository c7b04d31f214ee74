#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/e2e). Playwright
# drives it through executable_path: no browser download.
set -euo pipefail

# another apt or dpkg (an unattended upgrade, a second terminal) may hold
# the lock: wait for it, bounded, rather than fail at once
LOCK_WAIT=${TFDP_APT_LOCK_WAIT:-600}

apt_get() {
    local deadline=$((SECONDS + LOCK_WAIT)) said= out
    while true; do
        if out=$(DEBIAN_FRONTEND=noninteractive apt-get "$@" 2>&1); then
            return 0
        fi
        if ! grep -q "Could not get lock\|Unable to acquire the dpkg" <<<"$out"; then
            printf '%s\n' "$out" >&2
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "setup: error: another apt or dpkg held its lock for" \
                 "${LOCK_WAIT} s; run 'make test' again when it is done" >&2
            return 1
        fi
        [ -n "$said" ] || echo "setup: another apt or dpkg holds its lock;" \
                                "waiting up to ${LOCK_WAIT} s"
        said=1
        sleep 5
    done
}

if command -v chromium >/dev/null 2>&1; then
    echo "setup: chromium is present: $(command -v chromium)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium for the browser tests"
    apt_get update -qq
    apt_get install -y -qq chromium
    command -v chromium >/dev/null || { echo "setup: error: chromium did not install" >&2; exit 1; }
else
    echo "setup: chromium is missing and cannot be installed here (needs root"
    echo "       and apt-get); the browser tests will be skipped"
fi
