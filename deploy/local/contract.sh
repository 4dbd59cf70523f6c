#!/usr/bin/env bash
# The API against its own OpenAPI document: schemathesis (PyPI) generates requests from
# /openapi.json, positive and negative, and checks every answer against the document (no 5xx;
# documented status codes, content types and response schemas). As a plain user (bob, no
# connection), then as an admin (alice, the simulator's demo firm connected).
#
# Starts its own stack from the debug binaries as built (`cargo build --locked --workspace
# --bins`; this script builds nothing): the Clio simulator, the receiver and the API, on ports,
# a database (dropped and recreated each run) and an AMQP prefix of their own, so it can run
# beside `make run`. Everything it started is stopped, and its queues deleted, on exit.
#
# Output in target/contract/: each process's log; per run, the console output
# (schemathesis-<who>.log, a curl command per failure) and JUnit, NDJSON and VCR reports in
# <who>/. Exits non-zero if any run found a failure.
#
# Knobs (environment): CONTRACT_MAX_EXAMPLES (100 per operation), CONTRACT_SEED (random, printed
# at the end of each run), CONTRACT_MODE (all), CONTRACT_PHASES (all four), CONTRACT_WORKERS (1),
# CONTRACT_TIMEOUT (300 s per run), CONTRACT_ONLY (user or admin), CONTRACT_SCHEMA (see below),
# SCHEMATHESIS_VENV (target/schemathesis-venv), CONTRACT_DATABASE_URL and the CONTRACT_*_ADDR
# ports below.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
wait_http() { # url name
  for _ in $(seq 1 150); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$2 did not become ready at $1 (see target/contract/$2.log)"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

schemathesis_version=4.32.5
venv=$(realpath -m "${SCHEMATHESIS_VENV:-target/schemathesis-venv}")
out=$(realpath -m target/contract)
prefix=mhtest-contract

export DATABASE_URL="${CONTRACT_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/matterhook_contract}"
export MATTERHOOK_AMQP_PREFIX="$prefix"
export RUST_LOG="${RUST_LOG:-info}"
# Ports apart from `make run`'s (7700, 8080, 8081).
export CLIO_SIM_ADDR="${CONTRACT_SIM_ADDR:-127.0.0.1:17700}"
export CLIO_BASE_URL="http://$CLIO_SIM_ADDR"
export MATTERHOOK_RECEIVER_ADDR="${CONTRACT_RECEIVER_ADDR:-127.0.0.1:18080}"
export MATTERHOOK_PUBLIC_URL="http://$MATTERHOOK_RECEIVER_ADDR"
export MATTERHOOK_API_ADDR="${CONTRACT_API_ADDR:-127.0.0.1:18081}"
export MATTERHOOK_API_URL="http://$MATTERHOOK_API_ADDR"
export CLIO_REDIRECT_URI="$MATTERHOOK_API_URL/oauth/clio/callback"

for bin in matterhook matterhook-api matterhook-receiver clio-sim; do
  [ -x "target/debug/$bin" ] || die "target/debug/$bin is missing: cargo build --locked --workspace --bins"
done
for addr in "$CLIO_SIM_ADDR" "$MATTERHOOK_RECEIVER_ADDR" "$MATTERHOOK_API_ADDR"; do
  ! port_open "${addr##*:}" || die "port ${addr##*:} is taken (another contract run?)"
done

deploy/local/ensure-services.sh

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qF "$schemathesis_version"; then
  say "installing schemathesis $schemathesis_version into $venv"
  # Debian's python3 has venv as a package of its own.
  python3 -m venv "$venv" 2>/dev/null || {
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$venv"
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

mkdir -p "$out"
rm -rf "$out/user" "$out/admin" "$out/admin-disconnect"

pids=()
delete_queues() {
  command -v rabbitmqctl >/dev/null || return 0
  local q
  for q in $(rabbitmqctl -q list_queues name 2>/dev/null | grep "^$prefix" || true); do
    rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true
  done
}
stop() {
  trap - INT TERM EXIT
  say "stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  delete_queues
}
trap 'stop; exit 130' INT TERM
trap stop EXIT

pg() { PGPASSWORD="${PGPASSWORD:-postgres}" psql -h 127.0.0.1 -U postgres -d postgres -Atqc "$1"; }
say "a fresh database: ${DATABASE_URL##*/}"
db=${DATABASE_URL##*/}
pg "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
pg "CREATE DATABASE \"$db\""
# Other work on this machine may restart PostgreSQL (chaos tests do); the API answers 500 then.
pg_started=$(pg "SELECT pg_postmaster_start_time()")
delete_queues # a killed run's
target/debug/matterhook migrate >"$out/migrate.log"

say "starting the Clio simulator with the demo firm on $CLIO_SIM_ADDR"
target/debug/clio-sim --seed-demo --listen "$CLIO_SIM_ADDR" >"$out/simulator.log" 2>&1 &
pids+=($!)
wait_http "$CLIO_BASE_URL/_sim/health" simulator

say "starting the receiver on $MATTERHOOK_RECEIVER_ADDR"
target/debug/matterhook-receiver >"$out/receiver.log" 2>&1 &
pids+=($!)
wait_http "$MATTERHOOK_PUBLIC_URL/readyz" receiver

say "starting the API on $MATTERHOOK_API_ADDR"
target/debug/matterhook-api >"$out/api.log" 2>&1 &
pids+=($!)
wait_http "$MATTERHOOK_API_URL/readyz" api

say "connecting the demo firm as alice (an admin)"
connect_out=$(target/debug/matterhook demo connect)
printf '%s\n' "$connect_out" | grep -v '^API token' | sed 's/^/    /'
admin_token=$(printf '%s\n' "$connect_out" | sed -n 's/^API token for .*: //p')
[ -n "$admin_token" ] || die "no token in the output of \`matterhook demo connect\`"
say "adding bob, a user without admin rights or connections"
user_token=$(target/debug/matterhook users add bob@example.com)
[ -n "$user_token" ] || die "no token from \`matterhook users add\`"

# /connect/clio and /oauth/clio/callback stay in: both document their redirects (302, 303), so
# schemathesis does not follow them (it only follows redirects of operations that document none),
# and a generated callback carries a state that was never handed out, which stores nothing. So
# nothing is excluded. The console's pages (/console) are not in the document, so not tested.
#
# POST /api/connections/{id}/disconnect is run last, on its own: a generated id of 1 disconnects
# alice's only connection, after which every connection-scoped operation answers 404 and the rest
# of her run would test nothing past the lookup of the connection. bob (no connections) runs it
# among the rest.

# CONTRACT_SCHEMA: a local copy of the document to test instead of the served one (to try a fix
# to the document before rebuilding); the requests still go to this API.
if [ -n "${CONTRACT_SCHEMA:-}" ]; then
  schema=("$(realpath "$CONTRACT_SCHEMA")" --url "$MATTERHOOK_API_URL")
else
  schema=("$MATTERHOOK_API_URL/openapi.json")
fi
checks=not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance
# One worker: with several, schemathesis 4.32.5 on Python 3.11 sometimes fails an operation with
# "SystemError: AST constructor recursion depth mismatch" (a run-time error of its own, not ours).
failed=()
run_schemathesis() { # who token [schemathesis options...]
  local who=$1 token=$2 started status
  shift 2
  say "schemathesis as $who"
  started=$(date +%s)
  status=0
  # From target/contract: schemathesis and Hypothesis keep caches in the working directory.
  (cd "$out" && timeout "${CONTRACT_TIMEOUT:-300}" "$venv/bin/schemathesis" run "${schema[@]}" \
    -H "Authorization: Bearer $token" \
    --checks "$checks" \
    --mode "${CONTRACT_MODE:-all}" \
    --phases "${CONTRACT_PHASES:-examples,coverage,fuzzing,stateful}" \
    --max-examples "${CONTRACT_MAX_EXAMPLES:-100}" \
    --workers "${CONTRACT_WORKERS:-1}" \
    --continue-on-failure \
    --request-timeout 10 \
    ${CONTRACT_SEED:+--seed "$CONTRACT_SEED"} \
    --generation-database none \
    --report junit,ndjson,vcr --report-dir "$out/$who" \
    --no-color "$@") \
    2>&1 | tee "$out/schemathesis-$who.log" || status=$?
  say "schemathesis as $who: exit $status in $(($(date +%s) - started)) s (log: target/contract/schemathesis-$who.log)"
  [ "$status" -eq 0 ] || failed+=("$who")
}
disconnect=/api/connections/{id}/disconnect
if [ "${CONTRACT_ONLY:-user}" != admin ]; then
  run_schemathesis user "$user_token"
fi
if [ "${CONTRACT_ONLY:-admin}" != user ]; then
  run_schemathesis admin "$admin_token" --exclude-path "$disconnect"
  run_schemathesis admin-disconnect "$admin_token" --include-path "$disconnect"
fi

if [ "$(pg "SELECT pg_postmaster_start_time()" 2>/dev/null || true)" != "$pg_started" ]; then
  say "warning: PostgreSQL restarted during the run; 500s from then on may be that, not the API (target/contract/api.log)"
fi
if [ "${#failed[@]}" -gt 0 ]; then
  say "failures as: ${failed[*]}"
  exit 1
fi
say "no failures"
