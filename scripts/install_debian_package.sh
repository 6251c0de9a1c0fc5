#!/usr/bin/env bash
# Install one Debian package unless its program is already there: install_debian_package.sh PROGRAM PACKAGE.
# The test suite's system services come from Debian: Chromium for the plugin's browser test, redis-server as
# the Celery broker of the scale-out tests.
set -euo pipefail
PROGRAM=$1
PACKAGE=$2
if [ -x "$PROGRAM" ] || command -v "$PROGRAM" >/dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "$PROGRAM is missing: install Debian's $PACKAGE package" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "$PACKAGE" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y --no-install-recommends "$PACKAGE" >/dev/null
}
command -v "$PROGRAM" >/dev/null || [ -x "$PROGRAM" ]
