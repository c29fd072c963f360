#!/usr/bin/env bash
# Hot paths, API vs pgbench: one command for all of them (see bench/README.md).
#   bench/run.sh --scale city            # load 60,000 persons, 3 rounds, write bench/results/
#   bench/run.sh --scale tiny --build debug   # the CI smoke (well under a minute of benchmark time)
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/hotpaths.py "$@"
