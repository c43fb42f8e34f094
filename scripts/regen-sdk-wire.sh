#!/usr/bin/env bash
# Rewrites the SDK's wire files (web/public/sdk/wire.gen.js, wire.gen.d.ts, wire-types.gen.d.ts,
# and web/test/types/wire-examples.gen.ts) from porch-wire and the limits table, then the SDK's
# builds (web/public/sdk/dist/) from the sources. Run it after changing an error code, a close
# code's class, a path, a client-facing limit, a frame or a REST body; then read the diff. ARCHITECTURE.md, "web/".
set -euo pipefail
cd "$(dirname "$0")/.."
PORCH_UPDATE_DOCS=1 cargo test -q -p porch-core --test sdk_wire
if [ -f web/sdk-package/build.mjs ]; then
  (cd web && node sdk-package/build.mjs)
fi
