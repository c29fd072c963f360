#!/usr/bin/env bash
# The whole test suite: unit tests and black-box HTTP tests on real PostgreSQL.
# PostgreSQL is found through DATABASE_URL, else 127.0.0.1:5432, else the tests start a private cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v cargo-nextest >/dev/null 2>&1; then
  exec cargo nextest run --all-targets --no-fail-fast "$@"
else
  exec cargo test --all-targets "$@"
fi
