#!/usr/bin/env bash
# Installs what the test suites need, and nothing when it is all there already (so
# scripts/test.sh can run it every time). Everything comes from the package registries by
# name: Debian's chromium (never a browser a tool downloads itself), npm packages from
# tests/e2e/package-lock.json, Python packages from tests/python/requirements.txt.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf 'install-test-deps: %s\n' "$*"; }

# Root in CI; elsewhere use sudo for apt if there is one.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# 1. Chromium, for tests/e2e/browser.test.mjs (driven by playwright-core).
if [ ! -x /usr/bin/chromium ]; then
  say "installing chromium (Debian package)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# 2. Node packages (ws, playwright-core), exactly as locked. npm writes
#    node_modules/.package-lock.json on every install: older than the lock means stale.
e2e="$root/tests/e2e"
if [ ! -f "$e2e/node_modules/.package-lock.json" ] || [ "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ]; then
  say "npm ci in tests/e2e"
  (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$e2e/node_modules/.package-lock.json"
fi

# 2b. The same for the web tests (web/package-lock.json: ws, playwright-core, axe-core; dev
#     dependencies only: what web/public serves needs no Node).
web="$root/web"
if [ ! -f "$web/node_modules/.package-lock.json" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  say "npm ci in web"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$web/node_modules/.package-lock.json"
fi

# 3. Python packages (websockets >= 14 for its asyncio client API, pytest).
if ! python3 - <<'EOF' 2>/dev/null
import sys
import pytest, websockets
sys.exit(0 if int(websockets.__version__.split(".")[0]) >= 14 else 1)
EOF
then
  say "pip install -r tests/python/requirements.txt"
  pip_args=(-q --disable-pip-version-check --root-user-action=ignore -r tests/python/requirements.txt)
  # A Debian-managed python refuses plain installs (PEP 668); this is a test machine.
  python3 -m pip install "${pip_args[@]}" || python3 -m pip install --break-system-packages "${pip_args[@]}"
fi

# 4. cargo-nextest, the Rust test runner of scripts/test.sh.
if ! cargo nextest --version >/dev/null 2>&1; then
  say "cargo install cargo-nextest"
  cargo install cargo-nextest --locked
fi

say "ok"
