#!/usr/bin/env bash
# Runs the Python client (client.py) against a reel gateway: generates the message classes from
# protos/ with protoc into a temporary folder (removed on exit, never committed), then calls the
# API with Debian's /usr/bin/python3. Usage: scripts/python-client/run.sh HOST:PORT [client.py flags]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bash "$root/scripts/ensure-python-client.sh" --check
gen="$(mktemp -d "${TMPDIR:-/tmp}/reel-python-client.XXXXXX")"
trap 'rm -rf "$gen"' EXIT
cd "$root/protos"
# The API and the google.rpc protos its errors use; the well-known types come with libprotobuf-dev.
protoc -I . -I /usr/include --python_out="$gen" reel/v1/*.proto google/rpc/*.proto
PYTHONPATH="$gen" /usr/bin/python3 "$here/client.py" "$@"
