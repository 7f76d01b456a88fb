#!/usr/bin/env bash
# The Python client test (test/python-client.test.ts) calls the API as a client in another
# language would, from the protos alone: protoc generates the message classes, grpcio calls.
# It uses Debian's /usr/bin/python3 and its packages; protoc finds the well-known types
# (google/protobuf/timestamp.proto, any.proto) in libprotobuf-dev. Install what is missing when
# we may (root with apt-get); otherwise say exactly what to run. With --check it installs nothing:
# it names what is missing and exits 1 (the test and run.sh use it).
set -euo pipefail
check_only=false
[ "${1:-}" = "--check" ] && check_only=true
PY=/usr/bin/python3
missing=()
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/timestamp.proto ] || missing+=(libprotobuf-dev)
if [ -x "$PY" ]; then
  "$PY" -c 'import google.protobuf' >/dev/null 2>&1 || missing+=(python3-protobuf)
  "$PY" -c 'import grpc' >/dev/null 2>&1 || missing+=(python3-grpcio)
else
  missing+=(python3 python3-protobuf python3-grpcio)
fi
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if ! $check_only && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "missing for the Python client test: ${missing[*]}: installing with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  exit 0
fi
echo "missing for the Python client test: ${missing[*]}: install with 'sudo apt-get update && sudo apt-get install -y ${missing[*]}' (or run 'bash scripts/ensure-python-client.sh' as root)" >&2
exit 1
