#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests of the HTML page (HtmlBrowserTests), when it is missing.
# Needs root (apt-get). The tests skip themselves, naming the reason, where /usr/bin/chromium is absent;
# CI (.ci/run) calls this script first so they run there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium: /usr/bin/chromium is missing and installing it needs root (apt-get install -y chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
