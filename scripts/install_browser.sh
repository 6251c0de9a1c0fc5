#!/usr/bin/env bash
# Headless Chromium for the plugin's browser test (tests/stack/test_plugin_ui.py), from Debian's packages.
# Playwright drives this browser through executable_path: its own browser download cannot reach its CDN here.
set -euo pipefail
BROWSER=${ENTERPRISE_CHROMIUM:-/usr/bin/chromium}
"$(dirname "$0")/install_debian_package.sh" "$BROWSER" chromium
"$BROWSER" --version
