#!/usr/bin/env bash
# The test command: Rust tests, then the end-to-end suites against the real porch binary
# (Node: ws + headless Chromium; Python: websockets). Every stage runs even if an earlier one
# failed, except that the e2e stages need the binary; the exit status is non-zero if any
# stage failed. Honours CARGO_TARGET_DIR.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
export PORCH_BIN="$target_dir/debug/porch"

summary=()
failed=0

# stage NAME TIMEOUT_SECS CMD...: runs CMD with a deadline, records PASS or FAIL.
stage() {
  local name="$1" secs="$2"
  shift 2
  printf '\n=== %s: %s\n' "$name" "$*"
  local start=$SECONDS
  if timeout --kill-after=10 "$secs" "$@"; then
    summary+=("PASS  $name ($((SECONDS - start))s)")
  else
    local rc=$?
    [ "$rc" -eq 124 ] && name="$name (timed out after ${secs}s)"
    summary+=("FAIL  $name (exit $rc, $((SECONDS - start))s)")
    failed=1
  fi
}

skip() {
  printf '\n=== %s: skipped (%s)\n' "$1" "$2"
  summary+=("FAIL  $1 (not run: $2)")
  failed=1
}

stage "install test deps" 1800 scripts/install-test-deps.sh

if cargo nextest --version >/dev/null 2>&1; then
  rust_tests=(cargo nextest run --workspace --no-fail-fast)
  cluster_e2e=(cargo nextest run -p porch --test e2e --no-fail-fast)
  nemesis=(cargo nextest run -p porch --test nemesis --run-ignored only --no-capture)
else
  rust_tests=(cargo test --workspace --no-fail-fast)
  cluster_e2e=(cargo test -p porch --test e2e --no-fail-fast)
  nemesis=(cargo test -p porch --test nemesis -- --ignored --nocapture)
fi

# Style: the tree is formatted (rustfmt.toml) and clippy-clean with warnings as errors, the
# fuzz workspace included. Cheap, and first, so a style slip is seen before the long stages.
stage "cargo fmt --check" 120 sh -c 'cargo fmt --all --check && cd fuzz && cargo fmt --check'
stage "cargo clippy (-D warnings)" 2400 cargo clippy --workspace --all-targets -- -D warnings
# The browser code's types (web/tsconfig.json: strict, checkJs over the SDK, the widget, the
# console and the examples) and porch.d.ts held to the implementation (web/test/types). Needs no binary.
stage "web types (tsc)" 300 sh -c 'cd web && npx --no-install tsc -p .'
# The SDK's wire constants and types (web/public/sdk/wire.gen.*, wire-types.gen.d.ts: frames
# and REST bodies, held to serde) are what porch-wire and the limits table produce
# (scripts/regen-sdk-wire.sh rewrites them). Needs no binary.
stage "sdk wire files (generated from porch-wire)" 600 cargo test -q -p porch-core --test sdk_wire
stage "cargo build --bin porch" 2400 cargo build --bin porch
built=1
[ -x "$PORCH_BIN" ] || built=0

stage "rust tests" 2400 "${rust_tests[@]}"
# The same end-to-end suite on a two-node cluster: the machine's PostgreSQL (127.0.0.1:5432,
# database test) and NATS (127.0.0.1:4222); guests on node 1, agents on node 2.
stage "rust e2e on a two-node cluster (postgres + nats)" 900 env PORCH_TEST_CLUSTER=1 "${cluster_e2e[@]}"
# The cluster nemesis (crates/porch/tests/nemesis; ignored by the stage above so it runs once,
# here): three nodes on a PostgreSQL and a NATS it starts itself (initdb, nats-server), 40 s of
# random overlapping faults (SIGKILL and SIGSTOP of nodes, PostgreSQL and NATS killed, links
# dropped, delayed, black-holed, half-open) under guests and an agent, then the checker. Its
# seed is printed (NEMESIS_SEED replays it). About 60 s with a warm build; SECURITY.md,
# "Faults", has the long run.
stage "nemesis (three nodes, 40 s of faults)" 600 "${nemesis[@]}"

if [ "$built" -eq 1 ]; then
  # Explicit files rather than the directory: works with every Node version's --test.
  stage "e2e (node: ws + chromium)" 900 node --test tests/e2e/*.test.mjs
  stage "e2e (python: websockets)" 600 python3 -m pytest tests/python -q
  # Slowloris (slowhttptest) and a handshake flood from 127.0.0.1 while a guest on 127.0.0.2
  # keeps connecting; descriptors must return to baseline (SECURITY.md quotes its figures).
  stage "flood drill (slowloris + handshake flood)" 300 node tests/e2e/flood-drill.mjs --seconds 10
  # RFC 6455: the Autobahn TestSuite (all 517 cases) against the gateway's frame layer, diffed
  # with tests/autobahn/expected-results.json (docs/conformance.md). About 20 s here.
  stage "autobahn (rfc 6455 conformance)" 600 python3 tests/autobahn/run.py
  # The browser SDK, widget, custom UI and console (web/): Node units, then Chromium.
  # (The package and the cross-browser suites have stages of their own, below.)
  stage "web (sdk + chromium)" 900 sh -c 'node --test $(ls web/test/*.test.mjs | grep -v -e sdk-package -e cross-browser)'
  # The SDK as a package: the committed esbuild builds are current, npm pack, a scratch
  # project imports it from Node, type-checks and bundles it, a plain page loads the IIFE
  # from Porch's versioned URL in Chromium.
  stage "sdk package (npm pack, esbuild, script tag)" 300 node --test web/test/sdk-package.test.mjs
  # The SDK's guest and agent and the widget's main path in Chromium and in Firefox ESR
  # (puppeteer-core over WebDriver BiDi).
  stage "cross-browser (chromium + firefox)" 420 node --test web/test/cross-browser.test.mjs
  # The load harness (crates/porch-bench), tiny: against porch and the bare echo server.
  stage "bench smoke" 600 bench/smoke.sh
  # The soak (porch-bench soak, S7): 60 s of connection churn in rounds; fails if porch's
  # RSS, open files or runtime tasks grow beyond stated bounds between quiet samples, never
  # on timings. About 110 s with a warm build.
  stage "soak (60 s of churn, growth bounded)" 300 bench/soak.sh
  # libFuzzer, 20 s per target (nightly; build cached in ~/.cache/porch-fuzz-target).
  stage "fuzz (short run)" 900 fuzz/run.sh 20
  # Schemathesis against docs/openapi.json, every check; bounded to about 2 minutes.
  stage "schemathesis (openapi, all checks)" 300 tests/schemathesis/run.sh
  # The artifacts operators deploy (tests/ship): the release build they are made from (cached
  # in $CARGO_TARGET_DIR), the container image (buildah, podman), the Debian package (lintian,
  # dpkg -i, systemd-analyze), the compose file, Caddyfile and Kubernetes manifests (their
  # validators), Caddy terminating TLS in front of Porch, and the compose file's two nodes.
  # Measured here (2 cores, other builds running): cold, with no release cache, 17 min for
  # the release build plus about a minute of tests; warm, the workspace's crates rebuilt
  # (a fresh clone), about 3 min; nothing rebuilt, under a minute.
  stage "ship (image, package, compose, kubernetes)" 2400 tests/ship/run.sh
else
  skip "e2e (node: ws + chromium)" "no porch binary at $PORCH_BIN"
  skip "e2e (python: websockets)" "no porch binary at $PORCH_BIN"
  skip "flood drill (slowloris + handshake flood)" "no porch binary at $PORCH_BIN"
  skip "autobahn (rfc 6455 conformance)" "no porch binary at $PORCH_BIN"
  skip "web (sdk + chromium)" "no porch binary at $PORCH_BIN"
  skip "sdk package (npm pack, esbuild, script tag)" "no porch binary at $PORCH_BIN"
  skip "cross-browser (chromium + firefox)" "no porch binary at $PORCH_BIN"
  skip "bench smoke" "no porch binary at $PORCH_BIN"
  skip "soak (60 s of churn, growth bounded)" "no porch binary at $PORCH_BIN"
  skip "fuzz (short run)" "no porch binary at $PORCH_BIN"
  skip "schemathesis (openapi, all checks)" "no porch binary at $PORCH_BIN"
  skip "ship (image, package, compose, kubernetes)" "no porch binary at $PORCH_BIN"
fi

# Not under the binary's condition: they read Cargo.lock, not the build.
# cargo-deny: licenses, duplicate versions, sources, and advisories from the committed
# RustSec snapshot (its age is printed, and warned about past 120 days; SECURITY.md,
# "Supply chain"), then the script's own test: an old snapshot warns and passes, a planted
# advisory and an unfiltered crate still fail.
stage "cargo deny" 300 scripts/cargo-deny.sh
stage "cargo deny: the script's own test" 300 scripts/test-cargo-deny.sh

printf '\n=== summary\n'
printf '%s\n' "${summary[@]}"
passed_count=$(printf '%s\n' "${summary[@]}" | grep -c '^PASS' || true)
failed_count=$(printf '%s\n' "${summary[@]}" | grep -c '^FAIL' || true)
echo "stages: $passed_count passed, $failed_count failed"
exit "$failed"
