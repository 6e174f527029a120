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
servers=()
for engine in $engines; do
  case $engine in
    sqlite) run sqlite $all || failed=1 ;;
    mysql) [ -z "${TALLY_TEST_MYSQL_URL:-}" ] || servers+=(mysql) ;;
    postgres) [ -z "${TALLY_TEST_POSTGRES_URL:-}" ] || servers+=(postgres) ;;
    *) echo "unknown engine in TALLY_TEST_ENGINES: $engine" >&2; exit 2 ;;
  esac
done

# The server engines' runs go side by side (TALLY_TEST_SERVERS_APART=1 runs them one after
# the other): a test on a server engine spends most of its time waiting for its server, the
# two runs share no database (each drops only its own engine's), and RabbitMQ names are
# unique per test. Each run's report is kept apart and printed whole when it ends.
if [ ${#servers[@]} -gt 1 ] && [ "${TALLY_TEST_SERVERS_APART:-0}" != 1 ]; then
  reports=$(mktemp -d)
  for engine in "${servers[@]}"; do
    echo "== tests on $engine: running alongside the other server engine, its report follows when it ends"
    ( status=0; run "$engine" $stored > "$reports/$engine.log" 2>&1 || status=$?; echo $status > "$reports/$engine.status" ) &
  done
  wait
  for engine in "${servers[@]}"; do
    cat "$reports/$engine.log"
    [ "$(cat "$reports/$engine.status" 2>/dev/null)" = 0 ] || { echo "== tests on $engine failed" >&2; failed=1; }
  done
  rm -rf "$reports"
else
  for engine in "${servers[@]}"; do run "$engine" $stored || failed=1; done
fi
exit $failed
