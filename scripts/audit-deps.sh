#!/usr/bin/env bash
# What `make audit` needs beyond the app: Debian's Chromium and Node.js (apt, as root, only when
# missing), then Lighthouse and axe-core from npm, pinned, into .audit/ (never global).
set -euo pipefail
LIGHTHOUSE_VERSION=${LIGHTHOUSE_VERSION:-12.8.2}   # 12.x runs on Node 18.16+ (Debian 12's nodejs is 18.19)
AXE_VERSION=${AXE_VERSION:-4.14.1}                 # the version tests/test_accessibility.py vendors
prefix=.audit

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
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

major=$(node --version | sed -E 's/^v([0-9]+).*/\1/')
if [ "$major" -lt 18 ]; then
  echo "Lighthouse $LIGHTHOUSE_VERSION needs Node.js 18.16 or later; this is $(node --version)." >&2
  exit 1
fi

installed() { node -p "require('./$prefix/node_modules/$1/package.json').version" 2>/dev/null; }
if [ "$(installed lighthouse)" != "$LIGHTHOUSE_VERSION" ] || [ "$(installed axe-core)" != "$AXE_VERSION" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error \
    "lighthouse@$LIGHTHOUSE_VERSION" "axe-core@$AXE_VERSION"
fi
