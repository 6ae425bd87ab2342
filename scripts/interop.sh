#!/usr/bin/env bash
# Interop tests: the official OpenAI Python SDK against a running `switchyard serve` whose providers
# point at `fake-upstream`. Exits non-zero when a test fails; always stops both servers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q "openai>=1.50,<3" "anthropic>=0.40,<1" "pytest>=8,<9" "httpx>=0.27,<1" "google-genai>=1.0,<2" "websocket-client>=1.8,<2"
# The dashboard test drives Debian's headless Chromium (Tests/Interop/test_dashboard.py).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core) >/dev/null
fi

swift build --product switchyard
swift build --product fake-upstream
BIN="$(swift build --show-bin-path)"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# Waits for "http://HOST:PORT" in a log file; prints it.
wait_for_address() {
  local file="$1" name="$2"
  for _ in $(seq 1 300); do
    local address
    address="$(grep -oE 'http://[0-9.]+:[0-9]+' "$file" | head -1 || true)"
    if [ -n "$address" ]; then
      echo "$address"
      return 0
    fi
    sleep 0.1
  done
  echo "interop: $name did not print its address; its output:" >&2
  cat "$file" >&2
  return 1
}

# Safe by default: an unprotected gateway on a non-loopback address refuses to start and says what to set.
mkdir -p "$WORK/open"
set +e
(cd "$WORK/open" && timeout 60 "$BIN/switchyard" serve --host 0.0.0.0 --port 0 --routes "$ROOT/routes") >"$WORK/open.log" 2>&1
status=$?
set -e
if [ "$status" -ne 1 ] || ! grep -q "refusing to listen on 0.0.0.0" "$WORK/open.log" || ! grep -q "admin: { token" "$WORK/open.log"; then
  echo "interop: 'serve --host 0.0.0.0' without tokens should exit 1 naming the keys to set; exit $status, output:" >&2
  cat "$WORK/open.log" >&2
  exit 1
fi
echo "interop: serve --host 0.0.0.0 without tokens refused, as it should be"

"$BIN/fake-upstream" --port 0 >"$WORK/fake.log" 2>&1 &
PIDS+=($!)
FAKE_URL="$(wait_for_address "$WORK/fake.log" fake-upstream)"

export INTEROP_GATEWAY_TOKEN="gw-interop-token"
export INTEROP_OPENAI_KEY="sk-stored-openai"
export INTEROP_ANTHROPIC_KEY="sk-ant-stored"
export INTEROP_GEMINI_KEY="goog-stored"
export INTEROP_WORKERS_AI_KEY="cf-stored"
export INTEROP_ADMIN_TOKEN="adm-interop-token"
cat >"$WORK/switchyard.yaml" <<YAML
admin:
  token: "\${INTEROP_ADMIN_TOKEN}"
gateways:
  default:
    tokens: ["\${INTEROP_GATEWAY_TOKEN}"]
  locked:
    authentication: true
    tokens: ["\${INTEROP_GATEWAY_TOKEN}"]
providers:
  openai:
    base_url: ${FAKE_URL}/v1
    keys: { default: "\${INTEROP_OPENAI_KEY}" }
  groq:
    base_url: ${FAKE_URL}/v1
    keys: { default: "gsk-stored-groq" }
  anthropic:
    base_url: ${FAKE_URL}
    keys: { default: "\${INTEROP_ANTHROPIC_KEY}" }
  google-ai-studio:
    base_url: ${FAKE_URL}
    keys: { default: "\${INTEROP_GEMINI_KEY}" }
  workers-ai:
    base_url: ${FAKE_URL}/client/v4/accounts/interop/ai
    keys: { default: "\${INTEROP_WORKERS_AI_KEY}" }
YAML

(cd "$WORK" && exec "$BIN/switchyard" serve --config "$WORK/switchyard.yaml" --routes "$ROOT/routes" --port 0) >"$WORK/switchyard.log" 2>&1 &
PIDS+=($!)
GATEWAY_URL="$(wait_for_address "$WORK/switchyard.log" switchyard)"

export SWITCHYARD_URL="$GATEWAY_URL"
export FAKE_UPSTREAM_URL="$FAKE_URL"
status=0
.venv/bin/python -m pytest -q "$ROOT/Tests/Interop" || status=$?
if [ "$status" -ne 0 ]; then
  echo "interop: tests failed; switchyard log:" >&2
  tail -n 50 "$WORK/switchyard.log" >&2
fi
exit "$status"
