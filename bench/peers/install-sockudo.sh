#!/usr/bin/env bash
# Installs Sockudo 5.2.0 (a Rust server of the Pusher protocol, like Soketi; a peer of
# BENCHMARKS.md) from crates.io into a folder outside the repository:
# ${PORCH_PEERS_DIR:-~/.cache/porch-peers}/sockudo/bin/sockudo. Nothing of it is committed;
# porch-bench starts and stops it (`--target sockudo`), bound to 127.0.0.1 only.
# Idempotent: does nothing when that version is already there.
#
# Its build needs `protoc` (Debian: protobuf-compiler; installed here when missing and apt is
# usable) and takes about 9 minutes of two cores and 1.1 GB of build files, which are removed
# afterwards. `--features local` leaves out Redis, NATS and the other cluster adapters.
set -euo pipefail

version="5.2.0"
dir="${PORCH_PEERS_DIR:-$HOME/.cache/porch-peers}/sockudo"
bin="$dir/bin/sockudo"
if [ -x "$bin" ] && [ -f "$dir/version" ] && [ "$(cat "$dir/version")" = "$version" ]; then
  echo "Sockudo $version already installed in $dir"
  exit 0
fi
if ! command -v protoc >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q protobuf-compiler >/dev/null
  else
    echo "Sockudo's build needs protoc: install protobuf-compiler" >&2
    exit 1
  fi
fi
command -v cargo >/dev/null || { echo "cargo is needed (rustc 1.95 or later)" >&2; exit 1; }
mkdir -p "$dir"
build="$dir/build-target"
CARGO_TARGET_DIR="$build" cargo install sockudo --version "$version" --locked \
  --no-default-features --features local --root "$dir"
rm -rf "$build"
echo "$version" > "$dir/version"
echo "Sockudo $version installed in $dir"
