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

# 1a. Firefox ESR (Debian's), for web/test/cross-browser.test.mjs (driven by puppeteer-core over
#     WebDriver BiDi; like Chromium, never a browser a tool downloads).
if [ ! -x /usr/bin/firefox-esr ]; then
  say "installing firefox-esr (Debian package)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr >/dev/null
fi

# 1b. slowhttptest (Debian), the slowloris attacker of tests/e2e/flood-drill.mjs.
if ! command -v slowhttptest >/dev/null 2>&1; then
  say "installing slowhttptest (Debian package)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slowhttptest >/dev/null
fi

# 2. Node packages (ws, playwright-core, jose), exactly as locked. npm writes
#    node_modules/.package-lock.json on every install: older than the lock means stale.
e2e="$root/tests/e2e"
if [ ! -f "$e2e/node_modules/.package-lock.json" ] || [ "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ]; then
  say "npm ci in tests/e2e"
  (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$e2e/node_modules/.package-lock.json"
fi

# 2b. The same for the web tests (web/package-lock.json: ws, playwright-core, puppeteer-core, axe-core,
#     typescript, esbuild (the SDK's builds; its binary comes in the @esbuild/linux-x64 package); dev
#     dependencies only: what web/public serves needs no Node).
web="$root/web"
if [ ! -f "$web/node_modules/.package-lock.json" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  say "npm ci in web"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$web/node_modules/.package-lock.json"
fi

# 3. Python packages (websockets >= 14 for its asyncio client API, pytest, PyJWT for
#    docs/identity.md's signer).
if ! python3 - <<'EOF' 2>/dev/null
import sys
import jwt, pytest, websockets
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

# 5. The Autobahn TestSuite (tests/autobahn/run.py): Python 2.7 only, so pyenv's 2.7.18, with
#    autobahntestsuite from PyPI in a folder of its own outside the clone (the launcher
#    tests/autobahn/wstest27.py adds it with site.addsitedir). No 2.7.18, no conformance run:
#    fail here, loudly, rather than skip the suite.
py27="${PORCH_PYTHON27:-$HOME/.pyenv/versions/2.7.18/bin/python2.7}"
autobahn_dir="${PORCH_AUTOBAHN_DIR:-$HOME/.cache/porch-autobahn}"
autobahn_version="25.10.1"
if [ ! -x "$py27" ] || [ "$("$py27" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" != "2.7.18" ]; then
  say "FAIL: no Python 2.7.18 at $py27 (the Autobahn TestSuite needs it): pyenv install 2.7.18, or set PORCH_PYTHON27"
  exit 1
fi
if [ ! -d "$autobahn_dir/autobahntestsuite-$autobahn_version.dist-info" ]; then
  say "pip install autobahntestsuite==$autobahn_version into $autobahn_dir (python 2.7)"
  "$py27" -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --target "$autobahn_dir" --upgrade "autobahntestsuite==$autobahn_version"
fi

# 6. cargo-fuzz, for the short fuzz run (fuzz/run.sh). The targets build only on nightly
#    (libFuzzer instrumentation), so a missing nightly fails here, loudly, not at run time.
if ! cargo +nightly --version >/dev/null 2>&1; then
  say "FAIL: no nightly Rust toolchain (fuzz/run.sh needs it): rustup toolchain install nightly --profile minimal"
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "cargo install cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# 7. Schemathesis, for tests/schemathesis/run.sh: pinned, in a venv outside the clone.
st_venv="${PORCH_SCHEMATHESIS_VENV:-$HOME/.cache/porch-venv-schemathesis}"
st_version="4.32.5"
if [ "$("$st_venv/bin/st" --version 2>/dev/null)" != "st, version $st_version" ]; then
  say "pip install schemathesis==$st_version into $st_venv"
  python3 -m venv "$st_venv"
  "$st_venv/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$st_version"
  [ "$("$st_venv/bin/st" --version)" = "st, version $st_version" ] || { say "FAIL: schemathesis $st_version did not install in $st_venv"; exit 1; }
fi

# 8. cargo-deny, for scripts/cargo-deny.sh (licenses, bans, sources, advisories).
if ! cargo deny --version >/dev/null 2>&1; then
  say "cargo install cargo-deny"
  cargo install cargo-deny --locked
fi

# 9. For tests/ship (the artifacts operators deploy): podman and buildah (the image, FROM
#    scratch, run with runc: packaging/container/containers.conf), lintian (the Debian
#    package), systemd-analyze (the unit), caddy (the TLS proxy of the compose file), sqlite3
#    and pg_dump (the backup commands of docs/deploy.md); then a
#    venv with the compose and Kubernetes validators, pytest and websockets.
ship_apt=()
for tool in podman:podman buildah:buildah runc:runc lintian:lintian caddy:caddy systemd-analyze:systemd \
  sqlite3:sqlite3 pg_dump:postgresql-client; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || ship_apt+=("${tool#*:}")
done
if [ "${#ship_apt[@]}" -gt 0 ]; then
  say "installing ${ship_apt[*]} (Debian packages, for tests/ship)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${ship_apt[@]}" >/dev/null
fi
ship_venv="${PORCH_SHIP_VENV:-$HOME/.cache/porch-venv-ship}"
ship_reqs="$root/tests/ship/requirements.txt"
if [ ! -f "$ship_venv/.requirements.txt" ] || ! cmp -s "$ship_reqs" "$ship_venv/.requirements.txt"; then
  say "pip install -r tests/ship/requirements.txt into $ship_venv"
  python3 -m venv "$ship_venv"
  "$ship_venv/bin/python" -m pip install -q --disable-pip-version-check -r "$ship_reqs"
  cp "$ship_reqs" "$ship_venv/.requirements.txt"
fi

say "ok"
