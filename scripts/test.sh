#!/usr/bin/env bash
# The whole test suite: unit tests and black-box HTTP tests on real PostgreSQL.
# PostgreSQL is found through DATABASE_URL, else 127.0.0.1:5432, else the tests start a private cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
# the console's browser test needs Debian's headless Chromium and its driver (axe-core the test
# installs itself with npm): install them when missing and we can
if { ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; } \
   && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -q && apt-get install -y -q chromium chromium-driver
fi
if command -v cargo-nextest >/dev/null 2>&1; then
  exec cargo nextest run --all-targets --no-fail-fast "$@"
else
  exec cargo test --all-targets "$@"
fi
