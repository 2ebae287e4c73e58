#!/usr/bin/env bash
# The release build of the `ovice-slack` binary: the Dockerfile runs exactly this, and so does CI
# (the benchmarks and the image use the same binary).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p ovice-slack --bin ovice-slack
