#!/usr/bin/env bash
# `make bench`: the figures the issues ask for, printed and written under target/bench/.
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

deploy/local/ensure-services.sh
say "building release binaries"
cargo build --locked --release --quiet --bin matterhook-receiver --bin matterhook-bench
mkdir -p target/bench
say "ingest: broker limit, receiver throughput and latency (target/bench/ingest.json)"
target/release/matterhook-bench "$@"
