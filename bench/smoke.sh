#!/usr/bin/env bash
# CI smoke run of the load harness (BENCHMARKS.md): builds porch-bench in the debug profile
# and runs `porch-bench smoke` against the debug porch binary (PORCH_BIN, default
# target/debug/porch) and the bare echo server, then S4's open-loop ladder at toy size
# (two steps of 1 s on Porch and bare), then S6's two-node row (guests on node 1, agents on
# node 2, the machine's PostgreSQL 127.0.0.1:5432 db `test` and NATS 127.0.0.1:4222, ~4 s),
# then S5 with 50 guests on both cuts, then S1b with 200 guests on two nodes held by two
# worker processes and one notice, then S8's assignment latency (10 conversations per row). Tiny counts, ~2 s per scenario (about 65 s in all with a
# warm build); it fails on errors, lost or reordered messages and unmatched answers, never
# on timings (debug builds on shared CI cores).
# Honours CARGO_TARGET_DIR.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

# Every binary of the workspace, so the porch it drives alone (no PORCH_BIN) is this tree's,
# not whatever an earlier build left in the target directory. `--workspace`, never `-p`: `-p`
# resolves the features of that package's dependencies alone, which differ from the
# workspace's, so the shared dependencies scripts/test.sh built (`cargo build --bin porch`,
# the workspace's resolution) would be compiled again (minutes on a loaded CI).
cargo build --workspace --bins
bench=("$target_dir/debug/porch-bench" --porch-bin "${PORCH_BIN:-$target_dir/debug/porch}")
"${bench[@]}" --timeout-secs 120 smoke
# S4 in open loop at toy size: a two-step ladder (500/s, then 1,000/s on 10 connections, 1 s
# each) on Porch's `send` and `ping` and on bare; fails on errors or answers that match no
# request, never on where the knee falls.
"${bench[@]}" --timeout-secs 60 pingpong --open-loop --target porch,bare --conns 10 --size 64 \
  --start-rate 500 --rate-factor 2 --max-rate 1000 --step-secs 1 --drain-secs 2
"${bench[@]}" --timeout-secs 60 cluster --store two-nodes --rate 200 --secs 2 --guests 20
# S5 at toy size, both cuts, with messages arriving during the storm: fails on any loss,
# duplicate or unrecovered resume.
"${bench[@]}" --timeout-secs 60 resume --guests 50 --cut drop --live-rate 100
"${bench[@]}" --timeout-secs 60 resume --guests 50 --cut restart --live-rate 100
# S1b at toy size: fails if a guest cannot connect or misses the notice.
"${bench[@]}" --timeout-secs 60 broadcast --guests 200 --nodes 2 --workers 2 --notices 1 \
  --gap-secs 0 --settle-secs 1
# S8 at toy size (issue 18): a visitor's first message → the offer, and on an auto-accept queue
# → the assignment, one SQLite node and two nodes; fails if an agent never hears of one.
"${bench[@]}" --timeout-secs 60 assign --store sqlite,two-nodes --rate 10 --secs 1 --agents 2 \
  --auto-accept
