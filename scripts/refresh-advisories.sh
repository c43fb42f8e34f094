#!/usr/bin/env bash
# Refreshes supply-chain/advisory-db: the RustSec advisories of exactly the crates in
# Cargo.lock, copied from a clone of the RustSec advisory database (github.com/rustsec/
# advisory-db, CC0-1.0), with where and when they came from.
#
# Why a committed snapshot: CI cannot reach GitHub, so cargo-deny cannot fetch the database
# there. The snapshot is only as fresh as its last refresh; scripts/cargo-deny.sh prints its
# age on every run and fails when Cargo.lock names a crate the snapshot was not filtered for.
#
# Usage: scripts/refresh-advisories.sh PATH_TO_ADVISORY_DB_GIT_REPO   (bare or with a work tree)
# Run it after any Cargo.lock change that adds a crate, and at least once a month.
set -euo pipefail

src="${1:?usage: scripts/refresh-advisories.sh PATH_TO_ADVISORY_DB_GIT_REPO}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/supply-chain/advisory-db"

git -C "$src" rev-parse --verify -q HEAD:crates >/dev/null \
  || { echo "refresh-advisories: $src is not a git clone of the RustSec advisory database (no crates/ at HEAD)" >&2; exit 1; }
commit="$(git -C "$src" rev-parse HEAD)"
committed="$(git -C "$src" show -s --format=%cI HEAD)"

# Crate names of Cargo.lock, once each.
names="$(sed -n 's/^name = "\(.*\)"$/\1/p' "$root/Cargo.lock" | sort -u)"

rm -rf "$out"
mkdir -p "$out/crates"
git -C "$src" show HEAD:LICENSE.txt >"$out/LICENSE.txt"
count=0
for name in $names; do
  files="$(git -C "$src" ls-tree --name-only "HEAD:crates/$name" 2>/dev/null || true)"
  [ -n "$files" ] || continue
  mkdir -p "$out/crates/$name"
  for file in $files; do
    git -C "$src" show "HEAD:crates/$name/$file" >"$out/crates/$name/$file"
    count=$((count + 1))
  done
done
printf '%s\n' "$names" >"$out/crates.txt"
cat >"$out/SOURCE" <<INFO
source    https://github.com/rustsec/advisory-db
commit    $commit
committed $committed
refreshed $(date -u +%Y-%m-%dT%H:%M:%SZ)
newest-known $commit
newest-checked $(date -u +%F)
crates    $(printf '%s\n' "$names" | wc -l) (crates.txt: every crate name of Cargo.lock at refresh)
advisories $count
INFO
echo "refresh-advisories: $count advisories for $(printf '%s\n' "$names" | wc -l) crates, RustSec commit $commit ($committed)"
