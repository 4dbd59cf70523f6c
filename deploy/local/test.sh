#!/usr/bin/env bash
# `make test`: every test (unit, integration against PostgreSQL and RabbitMQ, end to end).
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

deploy/local/ensure-services.sh --browser

# Test databases are dropped by the tests themselves; a killed run can leave some behind, and a
# changed migration must not be served from an old template.
if command -v psql >/dev/null; then
  say "removing leftover test databases"
  PGPASSWORD="${PGPASSWORD:-postgres}" psql -h 127.0.0.1 -U postgres -d postgres -Atqc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'matterhook\_test\_%'" |
    while read -r db; do
      PGPASSWORD="${PGPASSWORD:-postgres}" psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
    done
fi

# Test namespaces delete their queues; a killed run can leave some behind.
if command -v rabbitmqctl >/dev/null; then
  leftovers=$(rabbitmqctl -q list_queues name 2>/dev/null | grep -E '^mh(test|bench)-' || true)
  if [ -n "$leftovers" ]; then
    say "removing leftover test queues"
    for q in $leftovers; do rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true; done
  fi
fi

# The Kubernetes and KEDA manifests, against their schemas (no cluster here).
say "validating deploy/k8s"
deploy/k8s/check.sh

# The telemetry tests start every binary as a process: build them first.
say "building the binaries"
cargo build --locked --workspace --bins
say "running every test"
cargo test --locked --workspace "$@"

# The API's whole contract, attacked from its OpenAPI document (schemathesis, as a user and as an
# admin): no 5xx, no undocumented status, content type or body. Then, last because it restarts the
# broker and the database every other test uses, the short chaos run (the whole stack as
# processes, every fault once, under load; `make chaos` is the long form). Only a whole run does
# these (`make test` with no arguments).
if [ "$#" -eq 0 ]; then
  say "the API against its OpenAPI document (schemathesis)"
  deploy/local/contract.sh
  if rabbitmqctl -q status >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | grep -q ' 5432 '; then
    say "the chaos run (short form)"
    CHAOS_SECONDS=150 CHAOS_ROUNDS=1 CHAOS_FIRMS=4 deploy/local/chaos.sh
  else
    say "skipping the chaos run: it restarts RabbitMQ and PostgreSQL, which this user cannot (run as root, or make chaos)"
  fi
fi
