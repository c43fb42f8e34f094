#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (deny.toml): licenses, bans (duplicate versions,
# wildcards), sources (crates.io only), then advisories against the committed RustSec
# snapshot in supply-chain/advisory-db (SECURITY.md, "Supply chain").
#
# Usage: scripts/cargo-deny.sh [all|advisories]      (default: all)
#
# What fails the run: a license, ban or source outside deny.toml's policy; a RustSec
# advisory in the snapshot against a version in Cargo.lock; a crate of Cargo.lock the
# snapshot was not filtered for (its advisories would pass unchecked).
# What only warns: the snapshot's age. CI cannot reach GitHub, where the database lives, so
# nothing done inside CI can make an old snapshot newer; failing on age would stop every
# change from landing without making anything safer. The warning says how old it is, the
# newest RustSec commit known to be reachable, and how to refresh where GitHub is reachable.
#
# Environment (for scripts/test-cargo-deny.sh and operators):
#   ADVISORY_SNAPSHOT_DIR           the snapshot to check against [supply-chain/advisory-db]
#   ADVISORY_SNAPSHOT_MAX_AGE_DAYS  age past which the warning is printed [120]
#   PORCH_DENY_NOW                  "now" for the age, any date `date -d` reads [the clock]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
checks="${1:-all}"
snapshot="${ADVISORY_SNAPSHOT_DIR:-$root/supply-chain/advisory-db}"
max_age_days="${ADVISORY_SNAPSHOT_MAX_AGE_DAYS:-120}"
now="${PORCH_DENY_NOW:-now}"

say() { printf 'cargo-deny: %s\n' "$*"; }
die() { printf 'cargo-deny: %s\n' "$*" >&2; exit 1; }

case "$checks" in all | advisories) ;; *) die "usage: scripts/cargo-deny.sh [all|advisories]" ;; esac
cargo deny --version >/dev/null 2>&1 || die "cargo-deny is not installed; run scripts/install-test-deps.sh (cargo install cargo-deny --locked)"
[ -f "$snapshot/SOURCE" ] && [ -f "$snapshot/crates.txt" ] || die "no advisory snapshot in $snapshot; run scripts/refresh-advisories.sh"
now_secs="$(date -u -d "$now" +%s)" || die "PORCH_DENY_NOW=$now is not a date"

# cargo-deny reads `cargo metadata` for every platform, so it needs every crate of Cargo.lock
# in the local registry, not only those this machine builds (wasip2, the Windows ones): fetch
# them (crates.io is reachable; the advisory database is not, hence --offline below).
cargo fetch --locked --quiet || die "cargo fetch failed: cargo-deny needs every crate of Cargo.lock downloaded"

status=0
if [ "$checks" = all ]; then
  cargo deny --offline check licenses bans sources || status=1
fi

# Advisories. First: is every crate of Cargo.lock in the snapshot's filter?
uncovered="$(comm -23 <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.lock | sort -u) <(sort -u "$snapshot/crates.txt"))"
if [ -n "$uncovered" ]; then
  say "FAIL: these crates of Cargo.lock were not in Cargo.lock when the advisory snapshot was taken, so their advisories are not checked:"
  printf '  %s\n' $uncovered
  say "fix: scripts/refresh-advisories.sh PATH_TO_A_CLONE_OF_github.com/rustsec/advisory-db"
  status=1
fi

field() { awk -v k="$1" '$1 == k {print $2}' "$snapshot/SOURCE"; }
commit="$(field commit)"
committed="$(field committed)"
newest_known="$(field newest-known)"
newest_checked="$(field newest-checked)"
age_days=$(((now_secs - $(date -u -d "$committed" +%s)) / 86400))

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
say "advisories published since then are NOT checked."
if [ "$age_days" -gt "$max_age_days" ]; then
  cat <<WARN

############################################################################################
cargo-deny: WARNING, $(date -u -d "@$now_secs" +%F): the advisory snapshot is $age_days days old (limit $max_age_days).
  It holds RustSec advisories up to $committed (commit ${commit:0:12}).
  Newest RustSec commit known to be reachable from here: ${newest_known:0:12} (checked $newest_checked).
  Advisories published after $committed are NOT checked by this run. This is a warning, not a
  failure: CI cannot reach github.com, so no run inside it can renew the snapshot.
  Where github.com is reachable:
    git clone https://github.com/rustsec/advisory-db /tmp/advisory-db
    scripts/refresh-advisories.sh /tmp/advisory-db     # then commit supply-chain/advisory-db
  Before a release, also run against the live database:  cargo deny check advisories
############################################################################################

WARN
fi
exit "$status"
