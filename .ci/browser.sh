#!/usr/bin/env bash
# Installs what the browser tests need: Debian's Chromium (never a downloaded browser build) and the
# npm packages pinned in package-lock.json (socket.io-client, playwright-core). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium"
  # make runs this script and its twin at once (--jobs): one apt-get at a time holds the dpkg lock.
  exec 9>/tmp/vedfolnir-apt.lock && flock 9
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
fi
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/socket.io-client ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
/usr/bin/chromium --version
