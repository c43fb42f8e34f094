#!/usr/bin/env bash
# Installs Soketi 1.6.1 (the Pusher-protocol peer of BENCHMARKS.md) from npm into a folder
# outside the repository: ${PORCH_PEERS_DIR:-~/.cache/porch-peers}/soketi. Nothing of it is
# committed. Idempotent: does nothing when it is already there.
#
# Soketi depends on uWebSockets.js from a GitHub URL over ssh, which cannot be fetched here
# (and in many CI sandboxes); the override swaps in the same library published on npm
# (an unofficial uWS build, @trufflesuite/uws-js-unofficial 20.30.0, with a binary for Node 20).
# porch-bench starts and stops it itself (`--target soketi`), bound to 127.0.0.1 only.
set -euo pipefail

dir="${PORCH_PEERS_DIR:-$HOME/.cache/porch-peers}/soketi"
if [ -f "$dir/node_modules/@soketi/soketi/bin/server.js" ]; then
  echo "Soketi already installed in $dir"
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed (Node.js 20)" >&2; exit 1; }
mkdir -p "$dir"
cat > "$dir/package.json" <<'JSON'
{
  "name": "porch-peer-soketi",
  "private": true,
  "dependencies": { "@soketi/soketi": "1.6.1" },
  "overrides": { "uWebSockets.js": "npm:@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0" }
}
JSON
cd "$dir"
npm install --no-audit --no-fund --loglevel=error
echo "Soketi installed in $dir"
