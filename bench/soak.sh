#!/usr/bin/env bash
# CI soak (BENCHMARKS.md, "S7 soak"): builds porch-bench in the debug profile and churns
# guests on the debug porch (PORCH_BIN, default target/debug/porch) for 60 s in rounds of
# 15 s: connect, send, get the acks, leave cleanly or by dropping the socket, reconnect
# resuming, refresh tokens; an agent replies and reconnects every round. Between rounds,
# with every client gone, porch's RSS, open files, threads and runtime tasks are sampled.
# Fails on any error, or when the last sample exceeds the first after the warm-up round by
# more than 16 MiB of RSS, 8 file descriptors or 16 tasks; never on timings. About 110 s
# (each quiet sample waits for the harness's idle HTTP connections to close, about 10 s).
# BENCHMARKS.md ("S7 soak") has the long run's command and figures.
# Honours CARGO_TARGET_DIR.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

# `--workspace`, never `-p`: the features scripts/test.sh and bench/smoke.sh built the
# dependencies with, so nothing is compiled again (bench/smoke.sh says why).
cargo build --workspace --bins
"$target_dir/debug/porch-bench" --porch-bin "${PORCH_BIN:-$target_dir/debug/porch}" \
  --timeout-secs 280 soak --secs 60 --round-secs 15
