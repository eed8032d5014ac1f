#!/usr/bin/env bash
# Soak one shell: `bench/soak.sh SHELL [DURATION]` (mio, tokio, smol or
# blocking; DURATION like 30s or 10m, default 10m). Builds the release
# binary and the soak driver (tests/src/bin/soak), then runs mixed traffic
# against `nutshell serve --shell SHELL` on 127.0.0.1, sampling its RSS and
# open descriptors, and ends with a graceful shutdown. Exit status 0: pass.
# SOAK_WORKERS sets the number of client threads (default 8).
set -euo pipefail
cd "$(dirname "$0")/.."

shell="${1:?usage: bench/soak.sh mio|tokio|smol|blocking [DURATION]}"
duration="${2:-10m}"

cargo build --release -q -p nutshell --bin nutshell
cargo build --release -q -p nutshell-tests --bin soak
target/release/soak --server target/release/nutshell --shell "$shell" \
    --duration "$duration" --workers "${SOAK_WORKERS:-8}"
