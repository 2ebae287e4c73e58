#!/usr/bin/env bash
# The test command: installs what the tests need, starts PostgreSQL, checks formatting and lints,
# checks the API for breaking changes, builds once (release), and runs every test (SQLite and PostgreSQL, the Slack emulator over HTTP, grpcurl).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh

pg_dir=$(mktemp -d /tmp/ovice-slack-pg.XXXXXX)
# A free port, so a PostgreSQL already running on this machine is never in the way.
pg_port=${OVICE_SLACK_TEST_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
eval "$(scripts/postgres.sh start "$pg_dir" "$pg_port")"
run_dir=$(mktemp -d /tmp/ovice-slack-run.XXXXXX)
run_pid=
cleanup() {
  [ -z "$run_pid" ] || kill "$run_pid" 2>/dev/null || true
  scripts/postgres.sh stop "$pg_dir"
  rm -rf "$pg_dir" "$run_dir"
}
trap cleanup EXIT

echo "== format and lint"
cargo fmt --all -- --check
scripts/check-api.sh
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

# The README's run command keeps the default ports busy while the tests run, as a newcomer's other
# terminal would: no test may depend on them being free.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_open 50051 || port_open 8090; then
  echo "== the default ports are already in use; the tests run beside whatever holds them"
else
  echo "== the run command serves on the default ports during the tests"
  bin=$PWD/target/release/ovice-slack
  (cd "$run_dir" && exec "$bin") >"$run_dir/log" 2>&1 &
  run_pid=$!
  for _ in $(seq 100); do port_open 50051 && break; sleep 0.1; done
  port_open 50051 || { cat "$run_dir/log"; echo "the run command did not serve"; exit 1; }
fi

# Last, so that the test runner's summary closes the output.
echo "== tests"
cargo nextest run --release --workspace --locked --no-fail-fast "$@"
