#!/usr/bin/env bash
# The CI stage of the artifacts operators deploy (scripts/test.sh, "ship"): the release build
# they are made from (cached in $CARGO_TARGET_DIR/release), then tests/ship with the venv
# scripts/install-test-deps.sh made (its validators, pytest and websockets).
#   tests/ship/run.sh [PYTEST_ARGS...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv="${PORCH_SHIP_VENV:-$HOME/.cache/porch-venv-ship}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

start=$SECONDS
cargo build --release --bin porch
echo "ship: release build took $((SECONDS - start))s"
export PORCH_RELEASE_BIN="$target_dir/release/porch"
export CONTAINERS_CONF="$root/packaging/container/containers.conf"
start=$SECONDS
status=0
"$venv/bin/python" -m pytest tests/ship -q -p no:cacheprovider "$@" || status=$?
echo "ship: tests took $((SECONDS - start))s"
exit "$status"
