# Sourced by soak.sh and profile.sh: a release `switchyard serve` in front of a static nginx that
# answers every request with one fixed chat.completion. Sets NGINX, BIN, WORK, PIDS, UP_PORT,
# SY_PID and SY_URL, and installs the traps that stop everything on exit. EXTRA_YAML is appended to
# the configuration and SWITCHYARD_ENV (VAR=value ...) set for the server, for A/B runs such as
# EXTRA_YAML=$'gateways:\n  default: { collect_logs: false }' SWITCHYARD_ENV=LOG_LEVEL=warning.
#   start_switchyard_over_static_nginx NAME     (NAME names the temporary folder)
start_switchyard_over_static_nginx() {
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
  swift build -c release --product switchyard 2>&1 | tail -n 1
  BIN="$(swift build -c release --show-bin-path)"
  WORK="$(mktemp -d "/tmp/switchyard-$1.XXXXXX")"
  mkdir -p "$WORK/tmp"
  PIDS=()
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
${EXTRA_YAML:-}
YAML
  (cd "$WORK" && exec env ${SWITCHYARD_ENV:-} "$BIN/switchyard" serve --config "$WORK/switchyard.yaml" --routes "$ROOT/bench/routes" --port 0) >"$WORK/switchyard.log" 2>&1 &
  PIDS+=($!); SY_PID=$!
  for _ in $(seq 1 300); do grep -q 'listening on' "$WORK/switchyard.log" && break; sleep 0.1; done
  SY_URL="$(grep -oE 'http://[0-9.]+:[0-9]+' "$WORK/switchyard.log" | head -1)"
}

# A wrk script posting a one-message chat request for MODEL with the benchmark's headers.
#   write_post_lua FILE MODEL
write_post_lua() {
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = [==[{"model":"$2","messages":[{"role":"user","content":"Say hello."}]}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.headers["cf-aig-metadata"] = [==[{"plan":"paid","user_id":"bench-user-1"}]==]
LUA
}

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
