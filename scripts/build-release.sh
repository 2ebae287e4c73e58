#!/usr/bin/env bash
# The project's one build: release profile, the whole workspace with its tests and benchmarks. CI
# runs it once and the tests, the benchmark and the Dockerfile all use what it made, so
# target/release/ovice-slack in the image is the binary the tests exercised. (Building the binary
# alone, `-p ovice-slack`, would unify dependency features differently and compile most of the
# tree a second time.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --all-targets --locked
