#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: `scripts/postgres.sh start DIR` installs Debian's package
# if it is missing, creates a cluster in DIR listening on loopback only, on a free port, and
# prints the URL to use (SWITCHYARD_TEST_POSTGRES_URL). `scripts/postgres.sh stop DIR` stops it,
# `restart DIR` stops and starts it on the same port (the outage tests). Trust authentication
# on 127.0.0.1 only: the cluster holds test data and lives as long as the test run.
set -euo pipefail
cmd=${1:?start|stop|restart}
dir=${2:?data directory}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  done
  return 1
}

as_owner() {
  # initdb and the server refuse to run as root: run them as the directory's owner.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  if ! bin=$(pg_bin); then
    echo "installing PostgreSQL (Debian's package)…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null
    # The package starts a cluster of its own on 5432; the tests use theirs.
    (service postgresql stop >/dev/null 2>&1 || true)
    bin=$(pg_bin)
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_owner "$bin/initdb" -D "$dir/data" -U switchyard --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || as_owner "$bin/initdb" -D "$dir/data" -U switchyard --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
  echo "$port" >"$dir/port"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c max_connections=300 -c fsync=off -c full_page_writes=off" start >/dev/null
  echo "postgres://switchyard@127.0.0.1:$port/postgres?sslmode=disable"
  ;;
stop)
  bin=$(pg_bin)
  [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
restart)
  bin=$(pg_bin)
  port=$(cat "$dir/port")
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c max_connections=300 -c fsync=off -c full_page_writes=off" start >/dev/null
  ;;
*) echo "usage: $0 start|stop|restart DIR" >&2; exit 2 ;;
esac
