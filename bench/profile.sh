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
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

swift build -c release --product switchyard 2>&1 | tail -n 1
BIN="$(swift build -c release --show-bin-path)"
WORK="$(mktemp -d /tmp/switchyard-profile.XXXXXX)"
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

case "$KIND" in
  compat) PATH_="/compat/chat/completions"; MODEL="openai/gpt-5.2" ;;
  dynamic) PATH_="/compat/chat/completions"; MODEL="dynamic/bench" ;;
  passthrough) PATH_="/openai/chat/completions"; MODEL="gpt-5.2" ;;
  *) echo "usage: bench/profile.sh [compat|passthrough|dynamic] [seconds]" >&2; exit 2 ;;
esac
cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = [==[{"model":"$MODEL","messages":[{"role":"user","content":"Say hello."}]}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.headers["cf-aig-metadata"] = [==[{"plan":"paid","user_id":"bench-user-1"}]==]
LUA
wrk -t1 -c64 -d2s -s "$WORK/post.lua" "$SY_URL$PATH_" >/dev/null   # warm-up
wrk -t1 -c64 -d"$((SECONDS_TO_SAMPLE + 2))s" --latency -s "$WORK/post.lua" "$SY_URL$PATH_" >"$WORK/wrk.txt" &
WRK_PID=$!
sleep 1
perf record -e cpu-clock -F 999 -g -p "$SY_PID" -o "$WORK/perf.data" -- sleep "$SECONDS_TO_SAMPLE" 2>"$WORK/perf.err" >/dev/null
wait "$WRK_PID"
OUT="$ROOT/bench/results"
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
