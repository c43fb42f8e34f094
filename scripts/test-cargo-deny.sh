#!/usr/bin/env bash
# Tests scripts/cargo-deny.sh itself (CI stage "cargo deny: the script's own test"):
#   1. a snapshot far past its age limit ("now" set years ahead) warns, loudly and dated,
#      and passes: an age nobody inside CI can fix must not stop every change from landing;
#   2. an advisory planted against a crate version in Cargo.lock still fails the run;
#   3. a crate of Cargo.lock the snapshot was not filtered for still fails the run.
# Each case runs the advisory part only, on a copy of the committed snapshot.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="$(mktemp -d "${TMPDIR:-/tmp}/porch-deny-test-XXXXXX")"
trap 'rm -rf "$work"' EXIT
failures=0

fail() { printf 'test-cargo-deny: FAIL: %s\n' "$*"; failures=$((failures + 1)); }
pass() { printf 'test-cargo-deny: ok: %s\n' "$*"; }

# run NAME SNAPSHOT [ENV=VALUE...]: the advisory check on SNAPSHOT; output in $work/NAME.log.
run() {
  local name="$1" snapshot="$2"
  shift 2
  set +e
  env ADVISORY_SNAPSHOT_DIR="$snapshot" "$@" scripts/cargo-deny.sh advisories >"$work/$name.log" 2>&1
  local rc=$?
  set -e
  return "$rc"
}

# A crate every build locks (the test reads its version from Cargo.lock, so it never drifts).
crate=itoa
version="$(awk -v c="$crate" '$0 == "name = \"" c "\"" {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
[ -n "$version" ] || { echo "test-cargo-deny: $crate is not in Cargo.lock; pick another crate"; exit 1; }

# 1. Old snapshot: warning, exit 0.
cp -r supply-chain/advisory-db "$work/old"
if run old "$work/old" PORCH_DENY_NOW=2031-01-01; then
  if grep -q 'WARNING, 2031-01-01: the advisory snapshot is [0-9]* days old' "$work/old.log" \
    && grep -q 'Newest RustSec commit known to be reachable' "$work/old.log" \
    && grep -q 'scripts/refresh-advisories.sh' "$work/old.log" \
    && grep -q 'cargo deny check advisories' "$work/old.log"; then
    pass "a snapshot years old warns (dated, with the refresh steps) and passes"
  else
    fail "a snapshot years old passed without the dated warning:"; cat "$work/old.log"
  fi
else
  fail "a snapshot years old failed the run:"; cat "$work/old.log"
fi

# 2. A planted advisory against the locked version: exit non-zero, naming it.
cp -r supply-chain/advisory-db "$work/planted"
mkdir -p "$work/planted/crates/$crate"
cat >"$work/planted/crates/$crate/RUSTSEC-2099-0001.md" <<ADVISORY
\`\`\`toml
[advisory]
id = "RUSTSEC-2099-0001"
package = "$crate"
date = "2026-08-20"
url = "https://example.invalid/planted"
categories = ["memory-corruption"]

[versions]
patched = [">= 999.0.0"]
\`\`\`

# A planted advisory (scripts/test-cargo-deny.sh)

Every version of $crate below 999 is affected, so the locked $version is.
ADVISORY
if run planted "$work/planted" PORCH_DENY_NOW=2031-01-01; then
  fail "an advisory against $crate $version passed:"; cat "$work/planted.log"
elif grep -q 'RUSTSEC-2099-0001' "$work/planted.log"; then
  pass "an advisory against the locked $crate $version fails the run, even with the age only a warning"
else
  fail "the run failed, but not on the planted advisory:"; cat "$work/planted.log"
fi

# 3. A crate the snapshot was not filtered for: exit non-zero, naming it.
cp -r supply-chain/advisory-db "$work/unfiltered"
grep -vx "$crate" supply-chain/advisory-db/crates.txt >"$work/unfiltered/crates.txt"
if run unfiltered "$work/unfiltered"; then
  fail "a crate outside the snapshot's filter passed:"; cat "$work/unfiltered.log"
elif grep -q "^  $crate\$" "$work/unfiltered.log"; then
  pass "a crate of Cargo.lock outside the snapshot's filter fails the run"
else
  fail "the run failed, but did not name $crate:"; cat "$work/unfiltered.log"
fi

[ "$failures" -eq 0 ] || { echo "test-cargo-deny: $failures case(s) failed"; exit 1; }
echo "test-cargo-deny: all cases passed"
