#!/usr/bin/env bash
# Runs every test: the Swift test suites, then the interop tests that drive a running
# `switchyard serve` with the official OpenAI and Anthropic Python SDKs.
set -euo pipefail
cd "$(dirname "$0")/.."

# A throwaway PostgreSQL on loopback for the storage conformance and cluster tests (installed
# from Debian's package when missing), stopped on exit. SWITCHYARD_TEST_POSTGRES_URL already set
# (a server of your own) skips this.
if [ -z "${SWITCHYARD_TEST_POSTGRES_URL:-}" ]; then
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-pg.XXXXXX")
  chmod 755 "$pg_dir"
  trap 'scripts/postgres.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
  SWITCHYARD_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir")
  export SWITCHYARD_TEST_POSTGRES_URL SWITCHYARD_TEST_POSTGRES_DIR="$pg_dir"
  echo "PostgreSQL for the tests: $SWITCHYARD_TEST_POSTGRES_URL"
fi

swift build --build-tests
swift test --skip-build
# The full-size concurrency tests (1,000 concurrent identical misses, 10,000 logged requests, the
# 1,000-request reset storm, 2,000 requests across ten key rotations, the 10,000-case hostile-input
# fuzz, the hostile upstream, the pick node on real latencies, and the three-process PostgreSQL cluster with its kill -9 and
# database restart) run
# on their own: beside the other suites their bursts starve wall-clock bounds on a 2-core machine.
SWITCHYARD_HEAVY_TESTS=1 swift test --skip-build --no-parallel --filter 'everyRequestIsLogged|concurrentIdenticalMisses|resetStorm|keysRotateAndATokenIsRevokedUnderLoad|seededFuzzAgainstTheRunningGateway|compatAndPassthroughSurviveEveryMisbehaviour|pickByLatencyMovesTrafficToTheFastArm|ClusterTests'

if [ -d Tests/Interop ]; then
  scripts/interop.sh
fi
