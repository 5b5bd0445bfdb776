#!/usr/bin/env bash
# What `make audit` needs beyond the app: Debian's Chromium and Node.js (through
# scripts/system-deps.sh audit), then Lighthouse and axe-core from npm, pinned, into .audit/ (never global).
set -euo pipefail
LIGHTHOUSE_VERSION=${LIGHTHOUSE_VERSION:-12.8.2}   # 12.x runs on Node 18.16+ (Debian 12's nodejs is 18.19)
AXE_VERSION=${AXE_VERSION:-4.14.1}                 # the version tests/test_accessibility.py vendors
prefix=.audit

scripts/system-deps.sh audit

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
