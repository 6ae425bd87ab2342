#!/usr/bin/env bash
# Resident memory of a fresh `switchyard serve` (release) holding N concurrent streams (default
# 1,000) from a slow fake upstream (an event every 100 ms, 100 events), without the load runs that
# precede the same measurement in bench/run.sh. Uses bench/measure.py's stream holder.
# SWITCHYARD_ENV (VAR=value ...) is set for the server, e.g. SWITCHYARD_ENV=MALLOC_ARENA_MAX=2.
#   bench/streams.sh [N] [compat|passthrough]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
COUNT="${1:-1000}"
PATH_KIND="${2:-compat}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
swift build -c release --product switchyard 2>&1 | tail -n 1
swift build -c release --product fake-upstream 2>&1 | tail -n 1
BIN="$(swift build -c release --show-bin-path)"
WORK="$(mktemp -d /tmp/switchyard-streams.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
wait_for_url() {
  for _ in $(seq 1 300); do
    grep -qE "$2" "$1" 2>/dev/null && { grep -oE "$2" "$1" | head -1 | grep -oE 'http://[0-9.]+:[0-9]+'; return 0; }
    sleep 0.1
  done
  echo "streams: no address in $1" >&2; tail -n 20 "$1" >&2; return 1
}

"$BIN/fake-upstream" --port 0 --chunk-interval-ms 100 --chunks 100 >"$WORK/fake.log" 2>&1 &
PIDS+=($!)
FAKE_URL="$(wait_for_url "$WORK/fake.log" 'http://[0-9.]+:[0-9]+')"
cat >"$WORK/switchyard.yaml" <<YAML
storage: sqlite:$WORK/switchyard.sqlite
providers:
  slow: { kind: openai-compatible, base_url: $FAKE_URL/v1, keys: { default: "sk-bench" } }
YAML
(cd "$WORK" && exec env ${SWITCHYARD_ENV:-} "$BIN/switchyard" serve --config "$WORK/switchyard.yaml" --routes "$ROOT/bench/routes" --port 0) >"$WORK/switchyard.log" 2>&1 &
PIDS+=($!); SY_PID=$!
SY_URL="$(wait_for_url "$WORK/switchyard.log" 'switchyard listening on http://[0-9.]+:[0-9]+')"
echo "streams: idle $(awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$SY_PID/status") MB"
cd "$ROOT/bench"
SY_URL="$SY_URL" SY_PID="$SY_PID" BENCH_MODE=full BENCH_WORK="$WORK" BENCH_ROOT="$ROOT" COUNT="$COUNT" KIND="switchyard-$PATH_KIND" python3 - <<'PY'
import asyncio, os, sys
sys.path.insert(0, os.getcwd())
import measure
target = next(t for t in measure.SLOW_TARGETS if t.name == os.environ["KIND"])
count = int(os.environ["COUNT"])
s = asyncio.run(measure.hold_streams(target, count, 40))
print(f"streams: {s['open_with_first_chunk']:,} / {count:,} open with a first chunk at once, RSS then {s['rss_kib'] / 1024:.0f} MB, "
      f"peak {s['peak_rss_kib'] / 1024:.0f} MB, all first chunks after {s['seconds_to_all_first']} s, failed {s['failed']}")
PY
