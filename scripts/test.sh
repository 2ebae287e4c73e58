#!/usr/bin/env bash
# The test command: installs what the tests need, starts PostgreSQL, checks formatting and lints,
# builds once (release), and runs every test (SQLite and PostgreSQL, the Slack emulator over HTTP, grpcurl).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh

pg_dir=$(mktemp -d /tmp/ovice-slack-pg.XXXXXX)
# A free port, so a PostgreSQL already running on this machine is never in the way.
pg_port=${OVICE_SLACK_TEST_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
eval "$(scripts/postgres.sh start "$pg_dir" "$pg_port")"
trap 'scripts/postgres.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT

echo "== format and lint"
cargo fmt --all -- --check
buf lint
buf format -d --exit-code
cargo clippy --release --workspace --all-targets --locked -- -D warnings

echo "== deployment manifests"
scripts/check-deploy.sh

# One profile for everything (release): the tests run the binary the Dockerfile ships, and the
# benchmark needs an optimised build anyway, so nothing is compiled twice.
echo "== build (release; the Dockerfile's build step)"
scripts/build-release.sh

echo "== the benchmark's smoke mode"
target/release/ovice-slack-bench --smoke --server-bin target/release/ovice-slack

echo "== fuzz targets, smoke mode"
scripts/fuzz-smoke.sh 20

# Last, so that the test runner's summary closes the output.
echo "== tests"
cargo nextest run --release --workspace --locked --no-fail-fast "$@"
