#!/usr/bin/env bash
# Side-by-side benchmark: nginx (direct and as a proxy hop), switchyard (compat, dynamic route,
# passthrough) and LiteLLM's proxy, all in front of the same static nginx upstream on loopback.
# Writes bench/results/RESULTS.md, results.json and chart.png; prints the ratios.
#
#   bench/run.sh            # full run, about 10 minutes
#   bench/run.sh --quick    # smoke run, about 2 minutes
#
# Installs what is missing (nginx, wrk, hey from apt; LiteLLM and matplotlib in bench/.venv),
# builds switchyard and fake-upstream in release, and stops every server it starts on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
MODE=full
case "${1:-}" in
  --quick) MODE=quick ;;
  "") ;;
  *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
esac

# 1,000 open streams need ~2,000 descriptors in the gateway and 1,000 in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- tools -----------------------------------------------------------------------------------
missing=()
for tool in nginx wrk hey; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "bench: installing ${missing[*]} (apt)"
  $SUDO apt-get install -y "${missing[@]}" >/dev/null || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y "${missing[@]}" >/dev/null; }
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

VENV="$ROOT/bench/.venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import litellm, matplotlib' >/dev/null 2>&1 || [ ! -x "$VENV/bin/litellm" ]; then
  echo "bench: installing litellm[proxy] and matplotlib into bench/.venv"
  "$VENV/bin/pip" install -q 'litellm[proxy]' matplotlib
fi
PY="$VENV/bin/python"

# --- builds ----------------------------------------------------------------------------------
echo "bench: building switchyard and fake-upstream (release)"
swift build -c release --product switchyard 2>&1 | tail -n 1
swift build -c release --product fake-upstream 2>&1 | tail -n 1
swift build -c release --product BaselineProxy 2>&1 | tail -n 1
BIN="$(swift build -c release --show-bin-path)"

WORK="$(mktemp -d /tmp/switchyard-bench.XXXXXX)"
mkdir -p "$WORK/tmp" "$ROOT/bench/results"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The route-engine micro-benchmark runs before any server exists, so nothing of ours competes.
echo "bench: route-engine micro-benchmark (swift run -c release SwitchyardBench)"
swift run -c release SwitchyardBench >"$WORK/micro.txt" 2>"$WORK/micro.err" || {
  echo "bench: SwitchyardBench failed:" >&2; tail -n 20 "$WORK/micro.err" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for_address() {
  local file="$1" name="$2"
  for _ in $(seq 1 600); do
    local address
    address="$(grep -oE 'http://[0-9.]+:[0-9]+' "$file" | head -1 || true)"
    if [ -n "$address" ]; then echo "$address"; return 0; fi
    sleep 0.1
  done
  echo "bench: $name did not print its address; its output:" >&2; tail -n 30 "$file" >&2; return 1
}
# Waits (at most 3 minutes: LiteLLM imports for a long while on a loaded machine) for a port to accept.
wait_for_port() {
  local port="$1" name="$2" log="$3" pid="$4"
  for _ in $(seq 1 900); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "bench: $name is not listening on $port; its output:" >&2; tail -n 30 "$log" >&2; return 1
}

# --- fake upstream: a slow stream (one event every 100 ms, 100 events) -----------------------
"$BIN/fake-upstream" --port 0 --chunk-interval-ms 100 --chunks 100 >"$WORK/fake.log" 2>&1 &
PIDS+=($!); FAKE_PID=$!
FAKE_URL="$(wait_for_address "$WORK/fake.log" fake-upstream)"

# --- nginx upstream: fixed chat.completion JSON and a fixed SSE stream ------------------------
UP_PORT="$(free_port)"; UPS_PORT="$(free_port)"
JSON='{"id":"chatcmpl-bench","object":"chat.completion","created":1764460800,"model":"gpt-5.2","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the benchmark upstream.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19},"system_fingerprint":null}'
CHUNK_HEAD='{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1764460800,"model":"gpt-5.2","choices":[{"index":0,"delta":'
SSE="data: ${CHUNK_HEAD}{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
for word in Hello from the benchmark upstream.; do
  SSE+="data: ${CHUNK_HEAD}{\"content\":\"$word \"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
done
SSE+="data: ${CHUNK_HEAD}{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
nginx_common() {
  cat <<NGINX
worker_processes auto;
worker_rlimit_nofile 20000;
daemon off;
user root;
pid $WORK/nginx-$1.pid;
error_log $WORK/nginx-$1.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path $WORK/tmp/body-$1;
  proxy_temp_path $WORK/tmp/proxy-$1;
  fastcgi_temp_path $WORK/tmp/fastcgi-$1;
  uwsgi_temp_path $WORK/tmp/uwsgi-$1;
  scgi_temp_path $WORK/tmp/scgi-$1;
NGINX
}
{
  nginx_common upstream
  cat <<NGINX
  server {
    listen 127.0.0.1:$UP_PORT;
    location / { default_type application/json; return 200 '$JSON'; }
  }
  server {
    listen 127.0.0.1:$UPS_PORT;
    location / { default_type text/event-stream; return 200 "$(printf '%s' "$SSE" | sed 's/"/\\"/g')"; }
  }
}
NGINX
} >"$WORK/nginx-upstream.conf"

# --- nginx as a plain reverse-proxy hop: JSON, SSE and the slow fake --------------------------
PX_PORT="$(free_port)"; PXS_PORT="$(free_port)"; PXF_PORT="$(free_port)"
FAKE_HOSTPORT="${FAKE_URL#http://}"
{
  nginx_common proxy
  cat <<NGINX
  upstream json { server 127.0.0.1:$UP_PORT; keepalive 256; }
  upstream sse { server 127.0.0.1:$UPS_PORT; keepalive 256; }
  upstream fake { server $FAKE_HOSTPORT; keepalive 256; }
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_buffering off;
  server { listen 127.0.0.1:$PX_PORT; location / { proxy_pass http://json; } }
  server { listen 127.0.0.1:$PXS_PORT; location / { proxy_pass http://sse; } }
  server { listen 127.0.0.1:$PXF_PORT; location / { proxy_pass http://fake; proxy_read_timeout 120s; } }
}
NGINX
} >"$WORK/nginx-proxy.conf"
"$NGINX" -t -c "$WORK/nginx-upstream.conf" -p "$WORK" >"$WORK/nginx-test.log" 2>&1 || { cat "$WORK/nginx-test.log" >&2; exit 1; }
"$NGINX" -t -c "$WORK/nginx-proxy.conf" -p "$WORK" >"$WORK/nginx-test.log" 2>&1 || { cat "$WORK/nginx-test.log" >&2; exit 1; }
"$NGINX" -c "$WORK/nginx-upstream.conf" -p "$WORK" >"$WORK/nginx-upstream.log" 2>&1 &
PIDS+=($!); UP_PID=$!
"$NGINX" -c "$WORK/nginx-proxy.conf" -p "$WORK" >"$WORK/nginx-proxy.log" 2>&1 &
PIDS+=($!); PX_PID=$!
wait_for_port "$UP_PORT" nginx-upstream "$WORK/nginx-upstream.err" "$UP_PID"
wait_for_port "$PX_PORT" nginx-proxy "$WORK/nginx-proxy.err" "$PX_PID"

# --- switchyard ------------------------------------------------------------------------------
cat >"$WORK/switchyard.yaml" <<YAML
storage: sqlite:$WORK/switchyard.sqlite
providers:
  openai:
    base_url: http://127.0.0.1:$UP_PORT/v1
    keys: { default: "sk-bench" }
  ssebench:
    kind: openai-compatible
    base_url: http://127.0.0.1:$UPS_PORT/v1
    keys: { default: "sk-bench" }
  slow:
    kind: openai-compatible
    base_url: $FAKE_URL/v1
    keys: { default: "sk-bench" }
YAML
(cd "$WORK" && exec "$BIN/switchyard" serve --config "$WORK/switchyard.yaml" --routes "$ROOT/bench/routes" --port 0) >"$WORK/switchyard.log" 2>&1 &
PIDS+=($!); SY_PID=$!
SY_URL="$(wait_for_address "$WORK/switchyard.log" switchyard)"

# --- the framework floor: Hummingbird + AsyncHTTPClient forwarding, nothing else --------------
FLOOR_PORT="$(free_port)"
"$BIN/BaselineProxy" "$FLOOR_PORT" "http://127.0.0.1:$UP_PORT/v1/chat/completions" >"$WORK/floor.log" 2>&1 &
PIDS+=($!); FLOOR_PID=$!
wait_for_port "$FLOOR_PORT" hummingbird-floor "$WORK/floor.log" "$FLOOR_PID"

# --- LiteLLM proxy: one worker, no database, no telemetry ------------------------------------
LL_PORT="$(free_port)"
# LiteLLM refuses to start without a strong master key; requests then carry it as their bearer token.
LL_KEY="sk-$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
cat >"$WORK/litellm.yaml" <<YAML
model_list:
  - model_name: gpt-5.2
    litellm_params: { model: openai/gpt-5.2, api_base: "http://127.0.0.1:$UP_PORT/v1", api_key: x }
  - model_name: gpt-5.2-sse
    litellm_params: { model: openai/gpt-5.2, api_base: "http://127.0.0.1:$UPS_PORT/v1", api_key: x }
  - model_name: slow
    litellm_params: { model: openai/gpt-5.2, api_base: "$FAKE_URL/v1", api_key: x }
general_settings:
  master_key: $LL_KEY
litellm_settings:
  telemetry: false
  turn_off_message_logging: true
YAML
(cd "$WORK" && LITELLM_LOG=ERROR LITELLM_TELEMETRY=False DISABLE_SCHEMA_UPDATE=true \
  exec "$VENV/bin/litellm" --config "$WORK/litellm.yaml" --host 127.0.0.1 --port "$LL_PORT" --num_workers 1) \
  >"$WORK/litellm.log" 2>&1 &
PIDS+=($!); LL_PID=$!
wait_for_port "$LL_PORT" litellm "$WORK/litellm.log" "$LL_PID"

# --- measure ---------------------------------------------------------------------------------
export BENCH_MODE="$MODE" BENCH_WORK="$WORK" BENCH_ROOT="$ROOT" \
  UP_URL="http://127.0.0.1:$UP_PORT" UPS_URL="http://127.0.0.1:$UPS_PORT" \
  PX_URL="http://127.0.0.1:$PX_PORT" FLOOR_URL="http://127.0.0.1:$FLOOR_PORT" PXS_URL="http://127.0.0.1:$PXS_PORT" PXF_URL="http://127.0.0.1:$PXF_PORT" \
  FAKE_URL SY_URL LL_URL="http://127.0.0.1:$LL_PORT" LL_KEY \
  UP_PID PX_PID SY_PID LL_PID FAKE_PID FLOOR_PID
"$PY" "$ROOT/bench/measure.py"
