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
say "sync: Clio calls per 1,000-event burst in one firm (target/bench/sync.json)"
cargo run --locked --release --quiet -p matterhook-e2e --bin matterhook-bench-sync
say "latency: a close in Clio to its referral won, at 20/s and 500/s, hop by hop (target/bench/latency.json)"
cargo run --locked --release --quiet -p matterhook-e2e --bin matterhook-bench-latency
say "referrals: matching among 1,000,000 referrals, webhook to status at 500/s (target/bench/referrals.json)"
cargo run --locked --release --quiet -p matterhook-e2e --bin matterhook-bench-referrals
say "review: 10,000 matters closing across 100 firms, reconciling a firm of 100,000 matters (target/bench/review.json)"
cargo run --locked --release --quiet -p matterhook-e2e --bin matterhook-bench-review
say "writeback: 20 connections x 500 activities against a per-token rate limit (target/bench/writeback.json)"
cargo run --locked --release --quiet -p matterhook-e2e --bin matterhook-bench-writeback
say "crm: a firm of 100,000 contacts and 300,000 matters, projected in full and kept current (target/bench/crm.json)"
cargo run --locked --release --quiet -p matterhook-e2e --bin matterhook-bench-crm
say "lookup: caller lookup among 1,000,000 contacts with 2,000,000 numbers, over HTTP with a lookup key (target/bench/lookup.json)"
cargo run --locked --release --quiet -p matterhook-e2e --bin matterhook-bench-lookup
say "watches: Sync All of 10,000 watches, every client stale (target/bench/watches.json)"
cargo run --locked --release --quiet -p matterhook-e2e --bin matterhook-bench-watches
say "console: the support console's dead-letter pages at 1,000,000 dead letters (target/bench/console.json)"
cargo run --locked --release --quiet -p matterhook-e2e --bin matterhook-bench-console
