#!/usr/bin/env bash
# A change to the public API that would break clients fails the tests: `buf breaking` compares
# protos/ with the previous commit's (or, while protos/ has uncommitted changes, with the last
# commit's). A commit before protos/ existed has nothing to compare with.
set -euo pipefail
cd "$(dirname "$0")/.."
against=HEAD~1
if ! git diff --quiet HEAD -- protos 2>/dev/null || [ -n "$(git ls-files --others --exclude-standard protos)" ]; then against=HEAD; fi
if ! git cat-file -e "$against:protos/reel/v1" 2>/dev/null; then
  echo "buf breaking: no protos at $against, nothing to compare with"
  exit 0
fi
node_modules/.bin/buf breaking protos --against ".git#ref=$against,subdir=protos"
echo "buf breaking: protos/ keeps every client of $against working"
