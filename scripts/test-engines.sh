#!/usr/bin/env bash
# The whole suite on SQLite, then again on MariaDB/MySQL and PostgreSQL when their
# server URLs are set (each engine run starts from freshly created databases).
set -euo pipefail
cd "$(dirname "$0")/.."

run() {
  local engine=$1; shift
  echo "== tests on $engine"
  export TALLY_TEST_ENGINE=$engine
  [ "$engine" = sqlite ] || node --import tsx scripts/drop-test-databases.ts
  local status=0
  node --import tsx --test --test-reporter=spec "$@" || status=$?
  [ "$engine" = sqlite ] || node --import tsx scripts/drop-test-databases.ts
  return $status
}

all=$(find test -name '*.test.ts' | sort)
# Pure billing rules touch no store: one run of them is enough.
stored=$(find test -name '*.test.ts' -not -path 'test/domain/*' | sort)

run sqlite $all
[ -z "${TALLY_TEST_MYSQL_URL:-}" ] || run mysql $stored
[ -z "${TALLY_TEST_POSTGRES_URL:-}" ] || run postgres $stored
