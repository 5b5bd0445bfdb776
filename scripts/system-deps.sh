#!/usr/bin/env bash
# Installs the Debian packages 1Mile needs, only when they are missing.
#   scripts/system-deps.sh run   SpatiaLite (for the embedded database)
#   scripts/system-deps.sh test  the above, plus Chromium and PostgreSQL + PostGIS
set -euo pipefail
what=${1:-run}
missing=()

have_spatialite() { ldconfig -p 2>/dev/null | grep -q 'mod_spatialite\.so' || ls /usr/lib/*/mod_spatialite.so >/dev/null 2>&1; }
have_spatialite || missing+=(libsqlite3-mod-spatialite)

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
fi

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: run 'sudo apt-get install -y ${missing[*]}' and try again." >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
