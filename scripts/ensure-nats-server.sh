#!/usr/bin/env bash
# Integration tests need a real nats-server. Install it from Debian's packages when it is
# missing and we may (root with apt-get); otherwise say exactly what to run.
set -euo pipefail
if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "nats-server is missing: installing it with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server
  exit 0
fi
echo "nats-server is missing: install it with 'sudo apt-get update && sudo apt-get install -y nats-server'" >&2
exit 1
