#!/usr/bin/env bash
# `make run`: the whole local stack, wired to the Clio simulator with a seeded demo firm.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

deploy/local/ensure-services.sh

export DATABASE_URL="${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/matterhook}"
export CLIO_SIM_ADDR="${CLIO_SIM_ADDR:-127.0.0.1:7700}"
export CLIO_BASE_URL="${CLIO_BASE_URL:-http://$CLIO_SIM_ADDR}"
export RUST_LOG="${RUST_LOG:-info}"

say "building the binaries"
cargo build --locked --workspace --bins --quiet

say "applying migrations"
target/debug/matterhook migrate

pids=()
stop() {
  trap - INT TERM EXIT
  say "stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

say "starting the Clio simulator with the demo firm"
target/debug/clio-sim --seed-demo --listen "$CLIO_SIM_ADDR" &
pids+=($!)
for _ in $(seq 1 50); do
  curl -fsS "http://$CLIO_SIM_ADDR/_sim/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://$CLIO_SIM_ADDR/_sim/health" >/dev/null || { echo "the simulator did not start" >&2; exit 1; }

demo=$(curl -fsS "http://$CLIO_SIM_ADDR/_sim/demo")
matter_id=$(printf '%s' "$demo" | sed -n 's/.*"matter_ids":\[\([0-9]*\).*/\1/p')

cat <<INFO

  matterhook is running (Ctrl-C stops it)

  Clio simulator   $CLIO_BASE_URL        (the demo firm: Hartley & Finch LLP)
    consent page   $CLIO_BASE_URL/oauth/authorize?response_type=code&client_id=matterhook-dev&redirect_uri=http://127.0.0.1:8081/oauth/clio/callback&state=demo
    demo firm ids  curl $CLIO_BASE_URL/_sim/demo
    close a matter curl -X POST -H 'content-type: application/json' -d '{"status":"closed"}' $CLIO_BASE_URL/_sim/matters/$matter_id/status
    deliveries     curl $CLIO_BASE_URL/_sim/deliveries
  PostgreSQL       ${DATABASE_URL%%://*}://…@${DATABASE_URL##*@}   (migrated)
  RabbitMQ         amqp://127.0.0.1:5672

INFO
wait
