#!/usr/bin/env bash
# A one-minute A/B loop for optimisation work (bench/run.sh is the full benchmark): switchyard's
# compat, passthrough and dynamic paths, the hummingbird-floor and an nginx proxy hop in front of
# one static nginx upstream; prints requests/s, p50 and CPU milliseconds per request (from
# /proc/PID/stat) for `wrk -t2 -c64`, two rounds. "defaults" is `switchyard serve` with only a provider
# URL and key configured (request log with payloads, metrics, log lines on); beside it the same
# build with `collect_logs: false`. bench/lib.sh's EXTRA_YAML and SWITCHYARD_ENV
# change the gateway's configuration, for example:
#   bench/compare.sh
#   EXTRA_YAML=$'gateways:\n  default: { collect_logs: false }' SWITCHYARD_ENV=LOG_LEVEL=warning bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
source "$ROOT/bench/lib.sh"
swift build -c release --product BaselineProxy 2>&1 | tail -n 1
start_switchyard_over_static_nginx compare

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PX_PORT="$(free_port)"
cat >"$WORK/proxy.conf" <<NGINX
worker_processes 1; daemon off; user root; pid $WORK/proxy.pid; error_log $WORK/proxy.err warn;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000;
  client_body_temp_path $WORK/tmp/b2; proxy_temp_path $WORK/tmp/p2; fastcgi_temp_path $WORK/tmp/f2;
  uwsgi_temp_path $WORK/tmp/u2; scgi_temp_path $WORK/tmp/s2;
  upstream json { server 127.0.0.1:$UP_PORT; keepalive 256; }
  server { listen 127.0.0.1:$PX_PORT; location / { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://json; } }
}
NGINX
"$NGINX" -c "$WORK/proxy.conf" -p "$WORK" >"$WORK/proxy.log" 2>&1 &
PIDS+=($!); PX_PID=$!
FLOOR_PORT="$(free_port)"
"$BIN/BaselineProxy" "$FLOOR_PORT" "http://127.0.0.1:$UP_PORT/v1/chat/completions" >"$WORK/floor.log" 2>&1 &
PIDS+=($!); FLOOR_PID=$!
for _ in $(seq 1 100); do grep -q listening "$WORK/floor.log" && break; sleep 0.1; done

# The same build and configuration with the request log off: what the defaults' log costs.
NOLOG_PORT="$(free_port)"
sed -e 's/^storage:.*/storage: memory/' "$WORK/switchyard.yaml" >"$WORK/nolog.yaml"
printf 'gateways:\n  default: { collect_logs: false }\n' >>"$WORK/nolog.yaml"
(cd "$WORK" && exec env ${SWITCHYARD_ENV:-} "$BIN/switchyard" serve --config "$WORK/nolog.yaml" --routes "$ROOT/bench/routes" --port "$NOLOG_PORT") >"$WORK/nolog.log" 2>&1 &
PIDS+=($!); NOLOG_PID=$!
for _ in $(seq 1 300); do grep -q 'listening on' "$WORK/nolog.log" && break; sleep 0.1; done

# BEFORE_BIN: another build's switchyard binary (e.g. the previous commit's), run with the same
# configuration on its own storage, for before/after figures from one run.
if [ -n "${BEFORE_BIN:-}" ]; then
  BEFORE_PORT="$(free_port)"
  sed -e "s#^storage:.*#storage: sqlite:$WORK/before.sqlite#" "$WORK/switchyard.yaml" >"$WORK/before.yaml"
  (cd "$WORK" && exec env ${SWITCHYARD_ENV:-} "$BEFORE_BIN" serve --config "$WORK/before.yaml" --routes "$ROOT/bench/routes" --port "$BEFORE_PORT") >"$WORK/before.log" 2>&1 &
  PIDS+=($!); BEFORE_PID=$!
  for _ in $(seq 1 300); do grep -q 'listening on' "$WORK/before.log" && break; sleep 0.1; done
fi

write_post_lua "$WORK/compat.lua" openai/gpt-5.2
write_post_lua "$WORK/dynamic.lua" dynamic/bench
write_post_lua "$WORK/plain.lua" gpt-5.2
# utime + stime of a process and its children (nginx's workers).
cpu_ticks() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
measure() {  # LABEL PID SCRIPT URL
  local before after out
  before="$(cpu_ticks "$2")"
  out="$(wrk -t2 -c64 -d5s --latency -s "$WORK/$3.lua" "$4")"
  after="$(cpu_ticks "$2")"
  awk -v label="$1" -v ticks="$((after - before))" -v hz="$(getconf CLK_TCK)" '
    /requests in/ { n = $1 } /Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = $2 }
    END { printf "%-30s %9.0f req/s  p50 %-8s  %.3f CPU ms/request\n", label, rps, p50, ticks * 1000 / hz / n }' <<<"$out"
}
wrk -t2 -c64 -d2s -s "$WORK/compat.lua" "$SY_URL/compat/chat/completions" >/dev/null
for round in $(seq 1 "${ROUNDS:-2}"); do
  echo "round $round"
  measure nginx-proxy "$PX_PID" plain "http://127.0.0.1:$PX_PORT/v1/chat/completions"
  measure hummingbird-floor "$FLOOR_PID" plain "http://127.0.0.1:$FLOOR_PORT/v1/chat/completions"
  measure "switchyard-compat (defaults)" "$SY_PID" compat "$SY_URL/compat/chat/completions"
  measure "  same, request log off" "$NOLOG_PID" compat "http://127.0.0.1:$NOLOG_PORT/compat/chat/completions"
  if [ -n "${BEFORE_BIN:-}" ]; then
    measure "  BEFORE_BIN, defaults" "$BEFORE_PID" compat "http://127.0.0.1:$BEFORE_PORT/compat/chat/completions"
  fi
  measure switchyard-passthrough "$SY_PID" plain "$SY_URL/openai/chat/completions"
  measure switchyard-dynamic "$SY_PID" dynamic "$SY_URL/compat/chat/completions"
done
