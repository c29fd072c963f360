#!/usr/bin/env bash
# Property-based API testing with schemathesis (docs/security.md, "Property-based testing").
#
# Builds the demo city in a fresh database (zhucan_schemathesis on the PostgreSQL at
# 127.0.0.1:5432), starts `zhucan serve` on a free local port, and runs schemathesis against
# /api/v1/openapi.json once per role — village staff, town staff, city admin — with a fixed
# seed, every operation and every check (see CHECKS below). Any failure fails the run.
#
#   scripts/schemathesis.sh                              # CI: 100 examples per operation per role
#   SCHEMATHESIS_EXAMPLES=2000 scripts/schemathesis.sh   # the long run
#
# Environment: SCHEMATHESIS_EXAMPLES (default 100), SCHEMATHESIS_SEED (default 20250601),
# SCHEMATHESIS_WORKERS (default 2), SCHEMATHESIS_ROLES (default "village_staff town_staff
# city_admin"), PGHOST/PGPORT/PGUSER (default 127.0.0.1/5432/postgres),
# DEMO_PASSWORD (default demo-password). Reports (JUnit, server log) go to target/schemathesis/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

EXAMPLES=${SCHEMATHESIS_EXAMPLES:-100}
SEED=${SCHEMATHESIS_SEED:-20250601}
WORKERS=${SCHEMATHESIS_WORKERS:-2}
ROLES=${SCHEMATHESIS_ROLES:-"village_staff town_staff city_admin"}
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
PASSWORD=${DEMO_PASSWORD:-demo-password}
DB=zhucan_schemathesis
VENV=$ROOT/target/schemathesis-venv
OUT=$ROOT/target/schemathesis
BIN=$ROOT/target/debug/zhucan
REQS=$ROOT/scripts/schemathesis-requirements.txt

# Every check schemathesis has. Two expectations are widened in scripts/schemathesis.toml, both
# because of SPEC §5: positive_data_acceptance also accepts 412/422 (the app validates more than
# a JSON Schema can say: ID-number checksums, references that must lie in the caller's scope,
# file contents), and negative_data_rejection also accepts 412 (If-Match is checked before the
# body). A schema-valid request must still never get 400/405/413/415 — with one exception the
# hooks make (scripts/schemathesis_hooks.py): an attachment upload whose bytes are not a JPEG,
# PNG or PDF is 415 by SPEC §6, which no schema can say. Nothing is excluded.
CHECKS=all

mkdir -p "$OUT"
started=$(date +%s)

# --- schemathesis in its own virtualenv, pinned ------------------------------------------
if [ ! -x "$VENV/bin/schemathesis" ] || ! cmp -s "$REQS" "$VENV/.requirements"; then
  echo "== installing schemathesis into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$VENV/.requirements"
fi
echo "== $("$VENV/bin/schemathesis" --version)"

# --- the binary (CI has just built it for the tests) --------------------------------------
if [ ! -x "$BIN" ]; then
  echo "== building $BIN"
  cargo build --bin zhucan
fi

# --- a fresh database with the demo city ---------------------------------------------------
export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
psql -X -q -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -v ON_ERROR_STOP=1 \
  -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export RUST_LOG=${RUST_LOG:-warn}
unset APP_ENV  # the demo seed is refused in production mode
"$BIN" migrate
"$BIN" seed --demo

# --- the server, on a free local port, stopped on exit ------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
# no SLA sweeper: the run is then the same from one time to the next
# no webhook deliveries while fuzzing: generated URLs must never be tried
# uploaded attachments go under target/, never into the work tree's ./data
rm -rf "$OUT/attachments"
ATTACHMENTS_DIR=$OUT/attachments BIND_ADDR=127.0.0.1:$PORT SWEEP_INTERVAL_SECS=0 WEBHOOK_POLL_MS=0 "$BIN" serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 60); do
  if python3 - "$BASE/readyz" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2)
PY
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "zhucan serve died:"; cat "$OUT/server.log"; exit 1; }
  sleep 0.5
done
echo "== zhucan serving on $BASE (log: $OUT/server.log)"

# --- one schemathesis run per role --------------------------------------------------------
# The roles run in this order on purpose: the city admin may disable or reset the demo users
# (PATCH /users/{id}), so it goes last, after the users whose tokens the earlier runs need.
# Its own account is safe: it cannot disable itself (422), and POST /me/password needs the
# current password, which the fuzzer does not know. Nothing is excluded.
export ZHUCAN_ST_BASE=$BASE ZHUCAN_ST_PASSWORD=$PASSWORD
export SCHEMATHESIS_HOOKS=$ROOT/scripts/schemathesis_hooks.py
# hypothesis keeps its own files (unicode tables, constants) under target/, not in the work tree
export HYPOTHESIS_STORAGE_DIRECTORY=$OUT/hypothesis
status=0
summary=()
for role in $ROLES; do
  export ZHUCAN_ST_USER=$role
  # sign in (failing fast), and write this role's configuration: the base one plus the ids in
  # its scope, which half the generated requests use (scripts/schemathesis_config.py)
  me=$("$VENV/bin/python" "$ROOT/scripts/schemathesis_config.py" \
    "$ROOT/scripts/schemathesis.toml" "$OUT/$role.toml") || { echo "cannot sign in as $role"; exit 1; }
  echo "== schemathesis as $me: seed $SEED, $EXAMPLES examples per operation, $WORKERS workers"
  t0=$(date +%s)
  rc=0
  "$VENV/bin/schemathesis" --config-file "$OUT/$role.toml" --no-color run \
    "$BASE/api/v1/openapi.json" \
    --checks "$CHECKS" \
    --seed "$SEED" \
    --max-examples "$EXAMPLES" \
    --workers "$WORKERS" \
    --report junit --report-dir "$OUT/$role" \
    2>&1 | tee "$OUT/$role.log" || rc=$?
  t1=$(date +%s)
  [ "$rc" -eq 0 ] || status=1
  tested=$(sed -n 's/^ *Tested: *\([0-9]*\).*/\1/p' "$OUT/$role.log" | tail -n1)
  cases=$(sed -n 's/^ *\([0-9]*\) generated.*/\1/p' "$OUT/$role.log" | tail -n1)
  result=$(grep -E '^=+ .* in [0-9.]+s =+$' "$OUT/$role.log" | tail -n1 | sed 's/=//g; s/^ *//; s/ *$//')
  summary+=("$(printf '%-14s %4s operations  %7s test cases  %5ss  exit %s  %s' \
    "$role" "${tested:-?}" "${cases:-?}" "$((t1 - t0))" "$rc" "${result:-}")")
done

echo
echo "== schemathesis summary: seed $SEED, max $EXAMPLES examples per operation per role"
for line in "${summary[@]}"; do echo "   $line"; done
server_cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($14 + $15) / hz}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo "?")
echo "   server CPU ${server_cpu}s; log $OUT/server.log; total time $(($(date +%s) - started))s"
if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures (logs: $OUT/<role>.log)"
  exit 1
fi
echo "schemathesis: no failures"
