#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback, runs the given command with
# PERCORSI_TEST_DATABASE_URL pointing at it, then stops and removes the cluster.
set -euo pipefail

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pgbin" ] || { echo "PostgreSQL is not installed (scripts/install-deps.sh)" >&2; exit 1; }
dir=$(mktemp -d /tmp/percorsi-pg.XXXXXX)
port=${PERCORSI_PG_PORT:-55432}

as_pg() {
  # PostgreSQL refuses to run as root: use the postgres system account then.
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"

cleanup() {
  as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

as_pg "$pgbin/initdb" -D "$dir/data" -U percorsi --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null

export PERCORSI_TEST_DATABASE_URL="postgres://percorsi@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
"$@"
