#!/usr/bin/env bash
# `make chaos`: the whole stack under load from several firms while every binary is killed in turn,
# RabbitMQ and PostgreSQL restart, Clio answers 500s and 429s and lets webhooks lapse; then the
# table of what was lost or doubled (none, or the run fails). CHAOS_SECONDS of load (default 600),
# every fault CHAOS_ROUNDS times (default 3), CHAOS_FIRMS firms (default 6). Figures go to
# target/chaos/chaos.json; each binary's log to target/chaos/<binary>.log.
#
# It restarts the machine's RabbitMQ and PostgreSQL: run it when nothing else uses them.
# `make test` runs a short form (150 s, every fault once, 4 firms).
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

deploy/local/ensure-services.sh
say "building the binaries"
cargo build --locked --workspace --bins --quiet
say "the chaos run: ${CHAOS_SECONDS:-600} s of load, every fault ${CHAOS_ROUNDS:-3} times"
mkdir -p target/chaos
rm -f target/chaos/*.log
exec target/debug/matterhook-chaos \
  --seconds "${CHAOS_SECONDS:-600}" \
  --rounds "${CHAOS_ROUNDS:-3}" \
  --firms "${CHAOS_FIRMS:-6}" \
  --out target/chaos/chaos.json
