#!/usr/bin/env bash
# Installs Node's `ws` 8 (the library of the `ws-relay` peer of BENCHMARKS.md) from npm into a
# folder outside the repository: ${PORCH_PEERS_DIR:-~/.cache/porch-peers}/ws-relay. Nothing of
# it is committed; the relay itself is bench/peers/ws-relay.mjs, which porch-bench starts and
# stops (`--target ws-relay`), bound to 127.0.0.1 only. Idempotent: does nothing when it is
# already there. The version is the one tests/e2e and web lock, so one copy serves all.
set -euo pipefail

version="8.23.0"
dir="${PORCH_PEERS_DIR:-$HOME/.cache/porch-peers}/ws-relay"
installed="$dir/node_modules/ws/package.json"
if [ -f "$installed" ] && grep -q "\"version\": \"$version\"" "$installed"; then
  echo "ws $version already installed in $dir"
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed (Node.js 20)" >&2; exit 1; }
mkdir -p "$dir"
cat > "$dir/package.json" <<JSON
{
  "name": "porch-peer-ws-relay",
  "private": true,
  "dependencies": { "ws": "$version" }
}
JSON
cd "$dir"
npm install --no-audit --no-fund --loglevel=error
echo "ws $version installed in $dir"
