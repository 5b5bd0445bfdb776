#!/usr/bin/env bash
# Prints the URL of a PostgreSQL server the tests can use as superuser without a password.
# Uses TEST_DATABASE_URL if set, else the server on 127.0.0.1:5432 if it lets postgres in,
# else starts a private throw-away cluster (trust auth, port 54329) under .pg/.
set -euo pipefail
if [ -n "${TEST_DATABASE_URL:-}" ]; then echo "$TEST_DATABASE_URL"; exit 0; fi
default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
if command -v psql >/dev/null 2>&1 && psql "postgresql://postgres@127.0.0.1:5432/postgres" -Atqc 'select 1' >/dev/null 2>&1; then
  echo "$default"; exit 0
fi
major=$(ls /usr/lib/postgresql | sort -n | tail -1)
bin=/usr/lib/postgresql/$major/bin
root=$(pwd)/.pg
port=54329
if ! "$bin/pg_isready" -h 127.0.0.1 -p $port -q 2>/dev/null; then
  mkdir -p "$root"
  # PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
  runas=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$root"; runas=(runuser -u postgres --); fi
  if [ ! -f "$root/data/PG_VERSION" ]; then
    "${runas[@]}" "$bin/initdb" -D "$root/data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  "${runas[@]}" "$bin/pg_ctl" -D "$root/data" -l "$root/log" -w \
    -o "-p $port -k $root -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
