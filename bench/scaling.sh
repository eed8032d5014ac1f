#!/usr/bin/env bash
# The scaling run for a many-core machine: every shell at 1, 2, 4 and 8
# server threads on GET / (64 connections, and pipelined), then the default
# comparison at one thread. The server and the load generator are pinned to
# different cores by `nutshell compare` itself.
#
#   bash bench/scaling.sh                       # builds, writes to ./scaling-out
#   BIN=path/to/nutshell OUT=dir bash bench/scaling.sh
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-scaling-out}
if [ -z "${BIN:-}" ]; then
    cargo build --release -p nutshell
    BIN=target/release/nutshell
fi
mkdir -p "$OUT"
{ nproc; lscpu; command -v taskset || echo "no taskset: no pinning"; } > "$OUT/machine.txt" 2>&1
timeout 420 "$BIN" compare --threads 1,2,4,8 --workloads get-64,pipelined \
    --shells mio,tokio,smol,hyper --duration 2s \
    --json "$OUT/scaling.json" --plot "$OUT/scaling.svg" > "$OUT/scaling.txt" 2> "$OUT/scaling.err"
echo "scaling: exit $?"
timeout 240 "$BIN" compare --duration 2s \
    --json "$OUT/full.json" --plot "$OUT/full.svg" > "$OUT/full.txt" 2> "$OUT/full.err"
echo "full: exit $?"
cat "$OUT/scaling.txt" "$OUT/full.txt"
