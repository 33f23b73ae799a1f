#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser): Playwright's own browser download cannot
# reach its host, so the tests launch the system binary. Idempotent and quick when it is there;
# `task pytest` runs it first. Not root and missing: say so (the browser tests then fail clearly).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is missing: apt-get install chromium (tests/browser needs it)" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
chromium --version
