#!/usr/bin/env bash
# Soak one shell: `bench/soak.sh SHELL [DURATION]` (mio, tokio, smol or
# blocking; DURATION like 30s or 10m, default 10m). Builds the release
# binary and the soak driver (tests/src/bin/soak), then runs mixed traffic
# against `nutshell serve --shell SHELL` on 127.0.0.1, sampling its RSS and
# open descriptors, and ends with a graceful shutdown. Exit status 0: pass.
# SOAK_WORKERS sets the number of client threads (default 8).
#
# With a C compiler (cc) it also builds the heap probe
# (tests/src/bin/soak/heap_probe.c) and preloads it into the server, so
# the memory verdict is on the server's live heap and RSS growth that is
# only the allocator keeping freed memory is reported as such (see the
# driver's docs). Without cc, or with SOAK_HEAP_PROBE=0, RSS is judged.
set -euo pipefail
cd "$(dirname "$0")/.."

shell="${1:?usage: bench/soak.sh mio|tokio|smol|blocking [DURATION]}"
duration="${2:-10m}"

cargo build --release -q -p nutshell --bin nutshell
cargo build --release -q -p nutshell-tests --bin soak

probe=()
if [ "${SOAK_HEAP_PROBE:-1}" != 0 ]; then
    if command -v cc >/dev/null; then
        cc -O2 -shared -fPIC -pthread -o target/release/soak-heap-probe.so \
            tests/src/bin/soak/heap_probe.c
        probe=(--heap-probe target/release/soak-heap-probe.so)
    else
        echo "soak: no cc, so no heap probe: the memory verdict is on RSS" >&2
    fi
fi
target/release/soak --server target/release/nutshell --shell "$shell" \
    --duration "$duration" --workers "${SOAK_WORKERS:-8}" "${probe[@]}"
