#!/usr/bin/env bash
# Drops the per-test databases (zt_*) that earlier test runs left on the local server.
set -uo pipefail
URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
BASE="${URL%/*}"
psql "$BASE/postgres" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'zt\_%'" 2>/dev/null |
  while read -r db; do psql "$BASE/postgres" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done
