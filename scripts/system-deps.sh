#!/usr/bin/env bash
# Installs the Debian packages 1Mile needs, only when they are missing.
#   scripts/system-deps.sh run   SpatiaLite (for the embedded database)
#   scripts/system-deps.sh test  the above, plus Chromium, PostgreSQL + PostGIS, and a Redis
#                                server answering on 127.0.0.1:6379 (started here if none does)
#   scripts/system-deps.sh audit SpatiaLite, Chromium and Node.js with npm (for `make audit`)
set -euo pipefail
what=${1:-run}
missing=()

have_spatialite() { ldconfig -p 2>/dev/null | grep -q 'mod_spatialite\.so' || ls /usr/lib/*/mod_spatialite.so >/dev/null 2>&1; }
have_spatialite || missing+=(libsqlite3-mod-spatialite)
# PING over bash's /dev/tcp: no redis-cli needed to ask.
redis_answers() {
  timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379 && printf "PING\r\n" >&3 && read -r reply <&3 && [[ $reply == +PONG* ]]' 2>/dev/null
}
start_redis=false

if [ "$what" = audit ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi

if [ "$what" = test ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
  # PostGIS must be installable into the server the tests use: the local PostgreSQL
  # if one runs here, otherwise the one scripts/test-postgres.sh starts.
  if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
    if command -v pg_config >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
      major=$(ls /usr/lib/postgresql | sort -n | tail -1)
    else
      major=15
      missing+=(postgresql-$major)
    fi
    missing+=(postgresql-$major-postgis-3)
  fi
  # Live updates and rate limits shared between gunicorn servers (tests/test_live.py,
  # tests/test_production.py) need a real Redis; the tests use its database 0 under keys of
  # their own.
  if ! redis_answers; then
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    start_redis=true
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing system packages: run 'sudo apt-get install -y ${missing[*]}' and try again." >&2
    exit 1
  fi
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The package's own service may have started it (systemd); if not, a throw-away server:
# loopback only, nothing saved to disk.
if $start_redis && ! redis_answers; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no >/dev/null
  for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
  redis_answers || { echo "Redis did not start on 127.0.0.1:6379" >&2; exit 1; }
fi
