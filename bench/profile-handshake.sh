#!/usr/bin/env bash
# The profile behind S2's figures (BENCHMARKS.md): instructions per handshake in Porch's own
# process, counted by callgrind, which counts the same whatever else the machine is doing.
#
#   bench/profile-handshake.sh PORCH_BENCH PORCH [COUNT] [OUT_DIR]
#
# Runs `porch-bench handshake --target porch` with `porch serve` under callgrind (with
# instrumentation off while the bench creates its guests), turns it on once the first
# handshake is counted, dumps them once the bench is done, and divides by the handshakes in
# between (`porch_gateway_upgrades_total` on /metrics). Prints the per-handshake total and the
# top inclusive costs; the dump stays in OUT_DIR for `callgrind_annotate`.
set -euo pipefail

bench="$1"
porch="$(realpath "$2")"
count="${3:-600}"
out="$(realpath -m "${4:-/tmp/porch-profile-handshake}")"
rm -rf "$out" && mkdir -p "$out"

# The bench starts `porch serve` through this wrapper: valgrind runs in the background, so the
# bench's kill of the wrapper at the end leaves it to be dumped and stopped here.
cat > "$out/porch" <<EOF
#!/bin/sh
if [ "\$1" = serve ]; then
  valgrind --tool=callgrind --instr-atstart=no --separate-threads=no --dump-instr=no \
    --callgrind-out-file="$out/callgrind.out" "$porch" "\$@" &
  echo \$! > "$out/pid"
  wait
else
  exec "$porch" "\$@"
fi
EOF
chmod +x "$out/porch"

metric() { # the gateway's upgrades so far, read from the node's /metrics
  local port
  port="$(ss -ltnpH | awk -v pid="pid=$(cat "$out/pid")," 'index($0, pid) { n = split($4, a, ":"); print a[n]; exit }')"
  curl -sf "http://127.0.0.1:$port/metrics" | awk '$1 == "porch_gateway_upgrades_total" { print $2 }'
}

"$bench" --porch-bin "$out/porch" handshake --target porch --count "$count" --concurrency 20 \
  --max-secs 600 > "$out/bench.log" 2>&1 &
bench_pid=$!
# The handshakes start once the first upgrade is counted (the guests are created before).
until [ -s "$out/pid" ] && [ "$(metric 2>/dev/null || echo 0)" -gt 0 ] 2>/dev/null; do
  kill -0 "$bench_pid" 2>/dev/null || { cat "$out/bench.log"; exit 1; }
  sleep 0.05
done
callgrind_control -i on "$(cat "$out/pid")" > /dev/null
callgrind_control -z "$(cat "$out/pid")" > /dev/null
before="$(metric)"
wait "$bench_pid" || true
after="$(metric)"
callgrind_control -d "$(cat "$out/pid")" > /dev/null
kill "$(cat "$out/pid")" 2>/dev/null || true
sleep 1

# The `-d` dump is part 1; the file without a suffix is what ran after it (the shutdown).
dump="$out/callgrind.out.1"
callgrind_annotate "$dump" > "$out/annotate.txt" 2>/dev/null
total="$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$out/annotate.txt")"
handshakes=$((after - before))
echo "handshakes in the window: $handshakes (upgrades $before -> $after)"
echo "instructions per handshake: $((total / handshakes))"
callgrind_annotate --inclusive=yes "$dump" > "$out/inclusive.txt" 2>/dev/null
echo "dump: $dump; top inclusive costs: $out/inclusive.txt"
