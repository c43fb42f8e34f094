#!/usr/bin/env bash
# Runs every fuzz target for SECS seconds each (default 20), one after the other; exits
# non-zero if any target finds a crash (a panic, i.e. a broken invariant) or cannot run.
#
#   fuzz/run.sh [SECS] [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz (scripts/install-test-deps.sh installs
# cargo-fuzz). Builds into PORCH_FUZZ_TARGET_DIR (default ~/.cache/porch-fuzz-target), never
# the stable target dir: the instrumented build differs in every crate and would evict it.
# The corpus each run grows is kept beside the build, outside the clone; the committed seeds
# in fuzz/corpus/<target> are read, never written. Crash inputs land in
# fuzz/artifacts/<target>/; reproduce one with
#   cargo +nightly fuzz run -s none <target> fuzz/artifacts/<target>/<file>
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz_dir"

secs="${1:-20}"
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(handshake_offer token_verify client_frame)
case "$secs" in '' | *[!0-9]*) echo "fuzz/run.sh: SECS must be a whole number of seconds, got '$secs'" >&2; exit 2 ;; esac

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: the nightly toolchain is missing; install it: rustup toolchain install nightly --profile minimal" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: cargo-fuzz is missing; run scripts/install-test-deps.sh (cargo install cargo-fuzz --locked)" >&2
  exit 1
fi

export CARGO_TARGET_DIR="${PORCH_FUZZ_TARGET_DIR:-$HOME/.cache/porch-fuzz-target}"
work="$CARGO_TARGET_DIR/porch-fuzz-runs"
mkdir -p "$work"
# One run at a time per build dir: two would share the corpus and overwrite each other's logs.
exec 9>"$work/lock"
flock 9

# No sanitizer: every target is safe Rust, where ASan finds nothing a panic would not, and
# it halves the executions per second. Debug assertions and overflow checks stay on.
build=(cargo +nightly fuzz build -s none)
start=$SECONDS
"${build[@]}"
echo "fuzz: build $((SECONDS - start))s (target dir $CARGO_TARGET_DIR)"

failed=0
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  log="$work/$target.log"
  mkdir -p "$corpus" "artifacts/$target"
  # libFuzzer writes new inputs into the first directory only.
  if cargo +nightly fuzz run -s none "$target" "$corpus" "corpus/$target" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    verdict=ok
  else
    verdict=CRASH
    failed=1
  fi
  execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  last=$(grep -aE '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || echo 'cov: ?')
  echo "fuzz: $target ${secs}s: $verdict, $execs executions, $last"
  if [ "$verdict" != ok ]; then
    grep -aE 'panicked at|Test unit written to|SUMMARY' "$log" | head -5 | sed 's/^/  /'
    echo "  full log: $log"
  fi
done
exit "$failed"
