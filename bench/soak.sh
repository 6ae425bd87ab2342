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
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
swift build -c release --product switchyard 2>&1 | tail -n 1
BIN="$(swift build -c release --show-bin-path)"
WORK="$(mktemp -d /tmp/switchyard-soak.XXXXXX)"
mkdir -p "$WORK/tmp"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

UP_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat >"$WORK/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
user root;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  server {
    listen 127.0.0.1:$UP_PORT;
    location / { default_type application/json; return 200 '{"id":"chatcmpl-bench","object":"chat.completion","created":1764460800,"model":"gpt-5.2","choices":[{"index":0,"message":{"role":"assistant","content":"Hello."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}'; }
  }
}
NGINX
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" >"$WORK/nginx.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/switchyard.yaml" <<YAML
storage: sqlite:$WORK/switchyard.sqlite
providers:
  openai:
    base_url: http://127.0.0.1:$UP_PORT/v1
    keys: { default: "sk-bench" }
YAML
(cd "$WORK" && exec "$BIN/switchyard" serve --config "$WORK/switchyard.yaml" --routes "$ROOT/bench/routes" --port 0) >"$WORK/switchyard.log" 2>&1 &
PIDS+=($!); SY_PID=$!
for _ in $(seq 1 300); do grep -q 'listening on' "$WORK/switchyard.log" && break; sleep 0.1; done
SY_URL="$(grep -oE 'http://[0-9.]+:[0-9]+' "$WORK/switchyard.log" | head -1)"

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
