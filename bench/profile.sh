#!/usr/bin/env bash
# Profiles the release `switchyard serve` under wrk load on the compat endpoint (or another path):
#   bench/profile.sh [compat|passthrough|dynamic] [seconds]
# Needs bench/run.sh's tools (nginx, wrk) and `perf` (linux-perf). Samples cpu-clock (a software
# event: works in VMs without hardware counters) with call graphs and writes the hottest symbols,
# demangled, to bench/results/profile-KIND-*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
KIND="${1:-compat}"
SECONDS_TO_SAMPLE="${2:-15}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
command -v perf >/dev/null || { echo "profile: install linux-perf (apt-get install -y linux-perf)" >&2; exit 1; }
source "$ROOT/bench/lib.sh"
start_switchyard_over_static_nginx profile

case "$KIND" in
  compat) PATH_="/compat/chat/completions"; MODEL="openai/gpt-5.2" ;;
  dynamic) PATH_="/compat/chat/completions"; MODEL="dynamic/bench" ;;
  passthrough) PATH_="/openai/chat/completions"; MODEL="gpt-5.2" ;;
  *) echo "usage: bench/profile.sh [compat|passthrough|dynamic] [seconds]" >&2; exit 2 ;;
esac
write_post_lua "$WORK/post.lua" "$MODEL"
wrk -t1 -c64 -d2s -s "$WORK/post.lua" "$SY_URL$PATH_" >/dev/null   # warm-up
wrk -t1 -c64 -d"$((SECONDS_TO_SAMPLE + 2))s" --latency -s "$WORK/post.lua" "$SY_URL$PATH_" >"$WORK/wrk.txt" &
WRK_PID=$!
sleep 1
perf record -e cpu-clock -F 999 -g -p "$SY_PID" -o "$WORK/perf.data" -- sleep "$SECONDS_TO_SAMPLE" 2>"$WORK/perf.err" >/dev/null
wait "$WRK_PID"
OUT="$ROOT/bench/results"
[ -n "${KEEP_PERF_DATA:-}" ] && cp "$WORK/perf.data" "$KEEP_PERF_DATA"
mkdir -p "$OUT"
DEMANGLE=(cat); command -v swift-demangle >/dev/null && DEMANGLE=(swift-demangle --simplified)
[ -x /opt/swift/usr/bin/swift-demangle ] && DEMANGLE=(/opt/swift/usr/bin/swift-demangle --simplified)
perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.4 2>/dev/null \
  | "${DEMANGLE[@]}" >"$OUT/profile-$KIND-self.txt"
perf report -i "$WORK/perf.data" --children --sort symbol --stdio -g none --percent-limit 2 2>/dev/null \
  | "${DEMANGLE[@]}" >"$OUT/profile-$KIND-children.txt"
perf report -i "$WORK/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null >"$OUT/profile-$KIND-threads.txt"
grep -E "Requests/sec|^\s+50%|^\s+99%" "$WORK/wrk.txt"
echo "profile: $OUT/profile-$KIND-{self,children,threads}.txt"
head -n 45 "$OUT/profile-$KIND-self.txt"
