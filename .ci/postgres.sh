#!/usr/bin/env bash
# A private, throwaway PostgreSQL for the cluster tests (X402Orleans.Cluster.Tests).
#
#   eval "$(bash .ci/postgres.sh start)"   # installs PostgreSQL from Debian packages if missing, initdb's a private cluster
#                                          # in a temp dir (owned by the unprivileged 'postgres' user: the server refuses
#                                          # root) on a free 127.0.0.1 port, starts it, and prints two export lines:
#                                          #   X402_TEST_POSTGRES  Npgsql connection string (superuser, trust auth, loopback)
#                                          #   X402_PG_DIR         the cluster's folder (what 'stop' drops)
#   bash .ci/postgres.sh stop              # stops the server and deletes its folder (X402_PG_DIR, or the last started one)
#
# Non-interactive (no stdin, CI=true friendly). Progress goes to stderr; stdout carries only the export lines.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE="${X402_PG_STATE:-$ROOT/.ci/out/postgres.state}"
log() { printf 'postgres.sh: %s\n' "$*" >&2; }

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && echo "$d"
}

install_postgres() {
  if [ -n "$(pg_bin)" ]; then return 0; fi
  log "installing PostgreSQL from Debian packages"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq </dev/null >&2
  $sudo apt-get install -y -qq --no-install-recommends postgresql postgresql-client </dev/null >&2
  [ -n "$(pg_bin)" ] || { log "PostgreSQL install failed"; exit 1; }
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  install_postgres
  local bin owner dir port
  bin=$(pg_bin)
  owner=postgres
  if [ "$(id -u)" -eq 0 ]; then
    id "$owner" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$owner"
    as_owner() { runuser -u "$owner" -- "$@"; }
  else
    owner=$(id -un)
    as_owner() { "$@"; }
  fi

  dir=$(mktemp -d "${TMPDIR:-/tmp}/x402-pg.XXXXXX")
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown "$owner" "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }

  local started=""
  for _ in $(seq 1 20); do
    port=$(( 20000 + RANDOM % 40000 ))
    port_free "$port" || continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_connections=100 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2; then
      started=1; break
    fi
    tail -5 "$dir/server.log" >&2 || true
  done
  [ -n "$started" ] || { log "could not start PostgreSQL"; rm -rf "$dir"; exit 1; }

  local cs="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=20;Timeout=15"
  mkdir -p "$(dirname "$STATE")"
  printf 'X402_PG_DIR=%q\nX402_PG_BIN=%q\nX402_PG_OWNER=%q\nX402_TEST_POSTGRES=%q\n' "$dir" "$bin" "$owner" "$cs" >"$STATE"
  log "PostgreSQL $("$bin/postgres" --version | grep -o "[0-9][0-9.]*" | head -1) on 127.0.0.1:$port (data $dir)"
  printf "export X402_TEST_POSTGRES='%s'\n" "$cs"
  printf "export X402_PG_DIR='%s'\n" "$dir"
}

stop() {
  local dir="${X402_PG_DIR:-}" bin="" owner=""
  if [ -f "$STATE" ]; then
    # shellcheck disable=SC1090
    . "$STATE"
    dir="${X402_PG_DIR:-$dir}"; bin="${X402_PG_BIN:-}"; owner="${X402_PG_OWNER:-}"
  fi
  [ -n "$dir" ] && [ -d "$dir" ] || { log "nothing to stop"; rm -f "$STATE"; return 0; }
  bin="${bin:-$(pg_bin)}"
  if [ -f "$dir/data/postmaster.pid" ]; then
    if [ "$(id -u)" -eq 0 ] && [ -n "$owner" ] && [ "$owner" != root ]; then
      runuser -u "$owner" -- "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
    else
      "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
    fi
  fi
  rm -rf "$dir" "$STATE"
  log "stopped and removed $dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
