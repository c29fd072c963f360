#!/usr/bin/env bash
# The fault suite (tests/api/faults.rs), long form: PostgreSQL killed with kill -9 and restarted,
# the API process killed with kill -9 mid-load and restarted, pool exhaustion, SIGTERM. Each test
# starts and owns a private PostgreSQL cluster under target/ (the PG- and API-kill tests) or a
# database of its own (the others) — never the shared server's data.
#
#   scripts/faults.sh                  # FAULT_CYCLES=20 kill/restart cycles per fault
#   FAULT_CYCLES=100 scripts/faults.sh
#
# The normal suite (scripts/test.sh, CI) runs the same tests with the default FAULT_CYCLES=2.
set -euo pipefail
cd "$(dirname "$0")/.."
export FAULT_CYCLES="${FAULT_CYCLES:-20}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast --no-capture -E 'test(faults::)' "$@" 2>&1 | tee "$log" || status=$?
else
  cargo test --test api faults:: "$@" -- --nocapture --test-threads=1 2>&1 | tee "$log" || status=$?
fi
echo
echo "== fault suite, FAULT_CYCLES=$FAULT_CYCLES =="
grep -E '^FAULTS [a-z-]+: ' "$log" || echo "(no fault summary: the build or a test failed early)"
if [ "$status" -eq 0 ]; then
  echo "== every fault survived =="
else
  echo "== FAILED (exit $status): see the output above =="
fi
exit "$status"
