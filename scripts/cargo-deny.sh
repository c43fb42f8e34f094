#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (deny.toml): licenses, bans (duplicate versions,
# wildcards), sources (crates.io only), then advisories against the committed RustSec
# snapshot in supply-chain/advisory-db.
#
# What the advisory check covers, said on every run: the advisories that existed when the
# snapshot was taken (supply-chain/advisory-db/SOURCE), for the crates it was filtered for.
# Advisories published after that are NOT checked: CI cannot reach GitHub, where the
# database lives. Refresh with scripts/refresh-advisories.sh. The check fails when
# Cargo.lock names a crate the snapshot was not filtered for (it would pass unchecked) and
# when the snapshot is older than ADVISORY_SNAPSHOT_MAX_AGE_DAYS (default 120).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
snapshot="$root/supply-chain/advisory-db"
max_age_days="${ADVISORY_SNAPSHOT_MAX_AGE_DAYS:-120}"

say() { printf 'cargo-deny: %s\n' "$*"; }
die() { printf 'cargo-deny: %s\n' "$*" >&2; exit 1; }

cargo deny --version >/dev/null 2>&1 || die "cargo-deny is not installed; run scripts/install-test-deps.sh (cargo install cargo-deny --locked)"

# cargo-deny reads `cargo metadata` for every platform, so it needs every crate of Cargo.lock
# in the local registry, not only those this machine builds (wasip2, the Windows ones): fetch
# them (crates.io is reachable; the advisory database is not, hence --offline below).
cargo fetch --locked --quiet || die "cargo fetch failed: cargo-deny needs every crate of Cargo.lock downloaded"

status=0
cargo deny --offline check licenses bans sources || status=1

# Advisories. First: is every crate of Cargo.lock in the snapshot's filter?
[ -f "$snapshot/SOURCE" ] && [ -f "$snapshot/crates.txt" ] || die "no advisory snapshot in $snapshot; run scripts/refresh-advisories.sh"
uncovered="$(comm -23 <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.lock | sort -u) <(sort -u "$snapshot/crates.txt"))"
if [ -n "$uncovered" ]; then
  say "FAIL: these crates of Cargo.lock were not in Cargo.lock when the advisory snapshot was taken, so their advisories are not checked:"
  printf '  %s\n' $uncovered
  say "fix: scripts/refresh-advisories.sh PATH_TO_A_CLONE_OF_github.com/rustsec/advisory-db"
  status=1
fi

commit="$(awk '$1 == "commit" {print $2}' "$snapshot/SOURCE")"
committed="$(awk '$1 == "committed" {print $2}' "$snapshot/SOURCE")"
age_days=$(( ($(date -u +%s) - $(date -u -d "$committed" +%s)) / 86400 ))

# cargo-deny reads the database from a git repository (it takes the date from HEAD), named
# after the database URL in deny.toml. Build one from the snapshot, dated as the source.
work="$(mktemp -d "${TMPDIR:-/tmp}/porch-advisories-XXXXXX")"
trap 'rm -rf "$work"' EXIT
db="$work/advisory-db-3157b0e258782691"
mkdir -p "$db"
cp -r "$snapshot/." "$db/"
(
  cd "$db"
  git init -q
  git add -A
  GIT_AUTHOR_DATE="$committed" GIT_COMMITTER_DATE="$committed" \
    git -c user.name=porch -c user.email=porch@invalid commit -q -m "RustSec advisory-db $commit, filtered to Porch's Cargo.lock"
)
sed "s#^db-path = .*#db-path = \"$work\"#" deny.toml >"$work/deny.toml"
grep -q "^db-path = \"$work\"" "$work/deny.toml" || die "deny.toml has no db-path line to point at the snapshot"
cargo deny --offline --config "$work/deny.toml" check advisories || status=1

say "advisories were checked against the RustSec database as of $committed (commit ${commit:0:12}, $age_days days old);"
say "advisories published since then are NOT checked. Refresh: scripts/refresh-advisories.sh"
if [ "$age_days" -gt "$max_age_days" ]; then
  say "FAIL: the advisory snapshot is older than $max_age_days days"
  status=1
fi
exit "$status"
