#!/usr/bin/env bash
# Installs Debian's nginx for the reverse-proxy tests (tests/integration/test_nginx.py). Idempotent.
# Only the binary is used: tests run it as a non-daemon child with a temporary prefix, never the system service.
set -euo pipefail
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "installing Debian's nginx"
  # make runs this script and its twin at once (--jobs): one apt-get at a time holds the dpkg lock.
  exec 9>/tmp/vedfolnir-apt.lock && flock 9
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # policy-rc.d: the package must not start the system service (the tests start their own instance).
  had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  if [ "$had_policy" = 0 ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
  apt-get install -y -q --no-install-recommends nginx || status=$?
  if [ "$had_policy" = 0 ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ "${status:-0}" = 0 ] || exit "$status"
fi
/usr/sbin/nginx -v
