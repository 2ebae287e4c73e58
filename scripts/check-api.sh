#!/usr/bin/env bash
# The API is protected like a public one: buf lint, buf format, and buf breaking against the proto of
# the last release tag (v*) or, before the first release, of the previous commit. A renumbered field,
# a removed RPC or a changed type fails here. OVICE_SLACK_API_BASE_REF names another git ref to compare with.
set -euo pipefail
cd "$(dirname "$0")/.."

buf lint
buf format -d --exit-code

base=${OVICE_SLACK_API_BASE_REF:-}
if [ -z "$base" ]; then
  base=$(git describe --tags --abbrev=0 --match 'v*' 2>/dev/null || true)
fi
if [ -z "$base" ]; then
  if ! git rev-parse --verify -q HEAD~1 >/dev/null; then
    echo "buf breaking: no earlier commit to compare with"
    exit 0
  fi
  base=$(git rev-parse HEAD~1)
fi
echo "buf breaking against $base"
buf breaking --against ".git#ref=$base"
