#!/usr/bin/env bash
# Headless Chromium for the plugin's browser test (tests/stack/test_plugin_ui.py), from Debian's packages.
# Playwright drives this browser through executable_path: its own browser download cannot reach its CDN here.
set -euo pipefail
BROWSER=${ENTERPRISE_CHROMIUM:-/usr/bin/chromium}
if [ -x "$BROWSER" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "Chromium is missing at $BROWSER: install Debian's chromium package (or set ENTERPRISE_CHROMIUM)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y --no-install-recommends chromium >/dev/null
}
"$BROWSER" --version
