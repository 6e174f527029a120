#!/usr/bin/env bash
# The whole suite on SQLite, then again on MariaDB/MySQL and PostgreSQL when their
# server URLs are set (each engine run starts from freshly created databases). A test file
# exits when its tests are done even if a failed test left a server connection open.
set -euo pipefail
cd "$(dirname "$0")/.."

run() {
  local engine=$1; shift
  echo "== tests on $engine"
  export TALLY_TEST_ENGINE=$engine
  [ "$engine" = sqlite ] || node --import tsx scripts/drop-test-databases.ts
  local status=0
  node --import tsx --test --test-force-exit --test-reporter=spec "$@" || status=$?
  [ "$engine" = sqlite ] || node --import tsx scripts/drop-test-databases.ts
  return $status
}

all=$(find test -name '*.test.ts' | sort)
# Pure rules touch no store (Tally's billing rules, the legacy system's): one run of them is enough.
stored=$(find test -name '*.test.ts' -not -path 'test/domain/*' -not -name '*-rules.test.ts' | sort)

# Every engine runs even when an earlier one failed; the exit status reports any failure.
failed=0
engines=${TALLY_TEST_ENGINES:-sqlite mysql postgres}
for engine in $engines; do
  case $engine in
    sqlite) run sqlite $all || failed=1 ;;
    mysql) [ -z "${TALLY_TEST_MYSQL_URL:-}" ] || run mysql $stored || failed=1 ;;
    postgres) [ -z "${TALLY_TEST_POSTGRES_URL:-}" ] || run postgres $stored || failed=1 ;;
  esac
done
exit $failed
