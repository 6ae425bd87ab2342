#!/usr/bin/env bash
# Memory over time at a fixed rate: `switchyard serve` (release) in front of a static nginx upstream,
# `hey` offering 1,000 requests/s to the compat endpoint for MINUTES (default 5), VmRSS sampled every
# 10 s. Writes bench/results/SOAK.md. The issue's target: RSS at the end within 10 % of minute one.
#   bench/soak.sh [minutes]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
MINUTES="${1:-5}"
case "$MINUTES" in ''|*[!0-9]*) echo "usage: bench/soak.sh [minutes]" >&2; exit 2 ;; esac
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
source "$ROOT/bench/lib.sh"
start_switchyard_over_static_nginx soak

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$SY_PID/status"; }
BODY='{"model":"openai/gpt-5.2","messages":[{"role":"user","content":"Say hello."}]}'
IDLE="$(rss)"
hey -z "${MINUTES}m" -c 50 -q 20 -t 10 -m POST -T application/json -H "Authorization: Bearer sk-bench" -d "$BODY" \
  "$SY_URL/compat/chat/completions" >"$WORK/hey.txt" &
HEY_PID=$!
SAMPLES=()
for i in $(seq 1 $((MINUTES * 6))); do
  sleep 10
  kill -0 "$HEY_PID" 2>/dev/null || break
  SAMPLES+=("$((i * 10)) $(rss)")
  echo "soak: ${SAMPLES[-1]} KiB"
done
wait "$HEY_PID" || true
OUT="$ROOT/bench/results/SOAK.md"
{
  echo "# Memory at a fixed 1,000 requests/s for $MINUTES minutes ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "\`bench/soak.sh $MINUTES\`: switchyard (release) compat endpoint, static nginx upstream, \`hey -c 50 -q 20\`."
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). Idle RSS before the load: $((IDLE / 1024)) MB."
  echo
  echo "| second | VmRSS MB |"
  echo "|---|---|"
  for s in "${SAMPLES[@]}"; do set -- $s; echo "| $1 | $(( $2 / 1024 )) |"; done
  echo
  FIRST_MINUTE="$(printf '%s\n' "${SAMPLES[@]}" | awk '$1 == 60 {print $2}')"
  LAST="$(printf '%s\n' "${SAMPLES[@]}" | tail -n 1 | cut -d' ' -f2)"
  if [ -n "$FIRST_MINUTE" ] && [ -n "$LAST" ]; then
    echo "End vs minute one: $(awk -v a="$LAST" -v b="$FIRST_MINUTE" 'BEGIN { printf "%+.1f %%", (a - b) * 100 / b }') (target: within 10 %)."
  fi
  echo
  echo '```'
  grep -E "Requests/sec|50% in|99% in|\[[0-9]+\]" "$WORK/hey.txt" | grep -v "|" || true
  echo '```'
} >"$OUT"
cat "$OUT"
