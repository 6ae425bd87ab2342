#!/usr/bin/env bash
# Three `switchyard serve` instances on one PostgreSQL against one instance on SQLite, behind the
# same load: requests/s, p99 and database round trips per request on the hot path (a gateway rate
# limit, so every request takes a limit lease; the request log on). Round trips are counted by
# the gateways themselves (`switchyard_database_round_trips_total` on /metrics). The three
# instances each get a third of the connections from their own wrk (round-robin by connection).
#   bench/cluster.sh                 # release build, 15 s per run
#   BUILD=debug DURATION=10s bench/cluster.sh
#   BIN=.build/debug bench/cluster.sh  # binaries already built
# Starts a throwaway PostgreSQL (scripts/postgres.sh) and the fake upstream; stops them on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BUILD="${BUILD:-release}"
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-48}"
if [ -z "${BIN:-}" ]; then
  swift build -c "$BUILD" --product switchyard 2>&1 | tail -n 1
  swift build -c "$BUILD" --product fake-upstream 2>&1 | tail -n 1
  BIN="$(swift build -c "$BUILD" --show-bin-path)"
fi
WORK="$(mktemp -d /tmp/switchyard-cluster-bench.XXXXXX)"
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$ROOT/scripts/postgres.sh" stop "$WORK/pg" || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

PG_URL="$("$ROOT/scripts/postgres.sh" start "$WORK/pg")"
"$BIN/fake-upstream" --port 0 >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q listening "$WORK/upstream.log" && break; sleep 0.1; done
UP_URL="$(grep -oE 'http://[0-9.]+:[0-9]+' "$WORK/upstream.log" | head -1)"

# STORAGE NAME: the configuration of one instance.
write_config() {
  cat >"$WORK/$2.yaml" <<YAML
storage: "$1"
providers:
  openai: { base_url: "$UP_URL/v1", keys: "sk-bench" }
gateways:
  default:
    rate_limit: { limit: 100000000, per: 1m, technique: fixed }
cluster: { spool_directory: "$WORK/$2-spool" }
YAML
}

# NAME: starts an instance, prints its port.
start_instance() {
  LOG_LEVEL=warning "$BIN/switchyard" serve --config "$WORK/$1.yaml" --port 0 --routes "$WORK/routes" >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do grep -q 'listening on' "$WORK/$1.log" && break; sleep 0.1; done
  grep -oE 'listening on http://[0-9.]+:[0-9]+' "$WORK/$1.log" | grep -oE '[0-9]+$'
}

round_trips() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^switchyard_database_round_trips_total/ {print int($2)}' | head -1; }

cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = [==[{"model":"openai/gpt-5-mini","messages":[{"role":"user","content":"Say hello."}]}]==]
wrk.headers["Content-Type"] = "application/json"
LUA
mkdir -p "$WORK/routes"

# PORTS...: wrk against each port at once (CONNECTIONS split between them); prints
# "requests req/s p99_ms" summed (p99: the worst of the instances).
load() {
  local n=$# per=$((CONNECTIONS / $#)) i=0 files=()
  for port in "$@"; do
    wrk -t1 -c"$per" -d"$DURATION" --latency -s "$WORK/post.lua" "http://127.0.0.1:$port/compat/chat/completions" >"$WORK/wrk$i.txt" 2>&1 &
    files+=("$WORK/wrk$i.txt"); i=$((i + 1))
  done
  wait $(jobs -p | tail -n "$n")
  python3 - "${files[@]}" <<'PY'
import re, sys
req = rps = 0.0; p99 = 0.0; non2xx = 0
def ms(v, unit): return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
for f in sys.argv[1:]:
    t = open(f).read()
    req += int(re.search(r"(\d+) requests in", t).group(1))
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", t); p99 = max(p99, ms(*m.groups()))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t); non2xx += int(m.group(1)) if m else 0
print(f"{int(req)} {rps:.0f} {p99:.2f} {non2xx}")
PY
}

write_config "sqlite:$WORK/single.sqlite" single
SINGLE="$(start_instance single)"
read -r s_req s_rps s_p99 s_bad < <(load "$SINGLE")

PORTS=()
for i in 1 2 3; do
  write_config "$PG_URL" "node$i"
  PORTS+=("$(start_instance "node$i")")
done
before=0; for p in "${PORTS[@]}"; do before=$((before + $(round_trips "$p"))); done
read -r c_req c_rps c_p99 c_bad < <(load "${PORTS[@]}")
sleep 1.5  # the round-trip gauge is read every second
after=0; for p in "${PORTS[@]}"; do after=$((after + $(round_trips "$p"))); done
per_request="$(python3 -c "print(f'{($after - $before) / max(1, $c_req):.4f}')")"

echo
echo "binaries: $BIN, $DURATION per run, $CONNECTIONS connections, $(nproc) cores"
printf '%-28s %10s %10s %12s %10s\n' setup "req/s" "p99 ms" "db trips/req" "non-2xx"
printf '%-28s %10s %10s %12s %10s\n' "1 instance, SQLite" "$s_rps" "$s_p99" "-" "$s_bad"
printf '%-28s %10s %10s %12s %10s\n' "3 instances, PostgreSQL" "$c_rps" "$c_p99" "$per_request" "$c_bad"
echo "($((after - before)) PostgreSQL round trips for $c_req requests: leases, usage reports, log batches)"
