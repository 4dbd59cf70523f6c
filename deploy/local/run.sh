#!/usr/bin/env bash
# `make run`: the whole local stack, wired to the Clio simulator with a seeded demo firm.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
wait_http() { # url name
  for _ in $(seq 1 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "$2 did not become ready at $1" >&2; exit 1
}


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
wait_http "http://$CLIO_SIM_ADDR/_sim/health" simulator

export MATTERHOOK_RECEIVER_ADDR="${MATTERHOOK_RECEIVER_ADDR:-127.0.0.1:8080}"
export MATTERHOOK_PUBLIC_URL="${MATTERHOOK_PUBLIC_URL:-http://$MATTERHOOK_RECEIVER_ADDR}"

say "starting the receiver"
target/debug/matterhook-receiver &
pids+=($!)
wait_http "http://$MATTERHOOK_RECEIVER_ADDR/readyz" receiver

# Each worker and the scheduler serve /healthz, /readyz and /metrics on a port of their own.
say "starting the journal worker"
MATTERHOOK_HEALTH_ADDR=127.0.0.1:9101 target/debug/matterhook-worker-journal &
pids+=($!)

# Sweeps are looked for every few seconds here (a minute by default), so the demo firm's
# mirror fills as soon as it is connected.
say "starting the sync worker (the mirror of each firm's Clio data)"
MATTERHOOK_HEALTH_ADDR=127.0.0.1:9102 \
  MATTERHOOK_SYNC_SWEEP_TICK_SECS="${MATTERHOOK_SYNC_SWEEP_TICK_SECS:-5}" target/debug/matterhook-worker-sync &
pids+=($!)

export MATTERHOOK_API_ADDR="${MATTERHOOK_API_ADDR:-127.0.0.1:8081}"
export MATTERHOOK_API_URL="${MATTERHOOK_API_URL:-http://$MATTERHOOK_API_ADDR}"
export CLIO_REDIRECT_URI="${CLIO_REDIRECT_URI:-$MATTERHOOK_API_URL/oauth/clio/callback}"

say "starting the referral workers (matching, status)"
MATTERHOOK_HEALTH_ADDR=127.0.0.1:9103 target/debug/matterhook-worker-matching &
pids+=($!)
MATTERHOOK_HEALTH_ADDR=127.0.0.1:9104 target/debug/matterhook-worker-status &
pids+=($!)

say "starting the review worker"
MATTERHOOK_HEALTH_ADDR=127.0.0.1:9106 target/debug/matterhook-worker-review &
pids+=($!)

say "starting the CRM worker (contacts projected for a CRM)"
MATTERHOOK_HEALTH_ADDR=127.0.0.1:9108 target/debug/matterhook-worker-crm &
pids+=($!)

say "starting the watches worker (imported matters kept in step with Clio)"
MATTERHOOK_HEALTH_ADDR=127.0.0.1:9109 target/debug/matterhook-worker-watches &
pids+=($!)

say "starting the writeback worker (activities written to Clio)"
MATTERHOOK_HEALTH_ADDR=127.0.0.1:9107 target/debug/matterhook-worker-writeback &
pids+=($!)

say "starting the API"
target/debug/matterhook-api &
pids+=($!)
wait_http "$MATTERHOOK_API_URL/healthz" API

say "starting the scheduler (tokens and webhook subscriptions)"
MATTERHOOK_HEALTH_ADDR=127.0.0.1:9105 target/debug/matterhook-scheduler &
pids+=($!)

say "connecting the demo firm: /connect/clio -> the simulator's consent page -> our callback"
connect_out=$(target/debug/matterhook demo connect)
printf '%s\n' "$connect_out" | grep -v '^API token'
api_token=$(printf '%s\n' "$connect_out" | sed -n 's/^API token for .*: //p')

demo=$(curl -fsS "http://$CLIO_SIM_ADDR/_sim/demo")
matter_id=$(printf '%s' "$demo" | sed -n 's/.*"matter_ids":\[\([0-9]*\).*/\1/p')
account_id=$(printf '%s' "$demo" | sed -n 's/.*"account_id":\([0-9]*\).*/\1/p')
jane_id=$(printf '%s' "$demo" | sed -n 's/.*"contact_ids":\[[0-9]*,\([0-9]*\).*/\1/p')
priya_id=$(printf '%s' "$demo" | sed -n 's/.*"contact_ids":\[[0-9]*,[0-9]*,[0-9]*,[0-9]*,[0-9]*,\([0-9]*\).*/\1/p')

say "seeding referrals: Jane Doe from Priya Shah (received, 10%), and one we sent"
api() { curl -fsS -H "Authorization: Bearer $api_token" -H 'content-type: application/json' "$@"; }
api -X POST "$MATTERHOOK_API_URL/api/referrals" -d '{"direction":"received","partner_name":"Priya Shah",
  "partner_email":"priya@shah-law.example","client_first_name":"Jane","client_last_name":"Doe",
  "client_email":"jane.doe@example.com","commission":{"kind":"percentage","value":"10"}}' >/dev/null
api -X POST "$MATTERHOOK_API_URL/api/referrals" -d '{"direction":"sent","partner_name":"Omar Haddad",
  "client_first_name":"Wei","client_last_name":"Chen"}' >/dev/null

connection_id=$(printf '%s' "$connect_out" | sed -n 's/.*as connection \([0-9]*\).*/\1/p')
say "turning review requests on for connection $connection_id (the demo firm's opt-out box is \"Skip review request\")"
api -X PATCH "$MATTERHOOK_API_URL/api/connections/$connection_id/settings" \
  -d '{"review_requests":{"enabled":true,"triggers":["closed","manual"],"dont_send_field":"Skip review request"}}' >/dev/null
wei_matter=$(printf '%s' "$demo" | sed -n 's/.*"matter_ids":\[[0-9]*,[0-9]*,[0-9]*,[0-9]*,\([0-9]*\).*/\1/p')
attorney_id=$(printf '%s' "$demo" | sed -n 's/.*"attorney_id":\([0-9]*\).*/\1/p')
# With the manual trigger on, the connection registered "Send Review" on matters inside Clio.
send_review_id=$(curl -fsS "http://$CLIO_SIM_ADDR/_sim/custom-actions" | sed -n 's/.*"id":\([0-9]*\).*"label":"Send Review".*/\1/p' | head -n1)

say "turning activity writeback on, and logging a call with Jane Doe to Clio"
api -X PATCH "$MATTERHOOK_API_URL/api/connections/$connection_id/settings" \
  -d '{"writeback":{"enabled":true}}' >/dev/null
# Jane must be in the mirror first (the first sweep runs within seconds of connecting).
activity=""
for _ in $(seq 1 100); do
  activity=$(curl -sS -H "Authorization: Bearer $api_token" -H 'content-type: application/json' \
    -H "Idempotency-Key: demo-call-$(date +%s)" -X POST "$MATTERHOOK_API_URL/api/activities" \
    -d "{\"connection_id\":$connection_id,\"contact_id\":$jane_id,\"type\":\"call\",\"direction\":\"outbound\",
         \"subject\":\"Intake call\",\"body\":\"Discussed the lease dispute and next steps.\",
         \"occurred_at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}")
  case "$activity" in *'"id":'*) break ;; esac
  sleep 0.3
done
activity_id=$(printf '%s' "$activity" | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
for _ in $(seq 1 100); do
  state=$(api "$MATTERHOOK_API_URL/api/activities/$activity_id" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p')
  [ "$state" = "queued" ] || break
  sleep 0.2
done
say "activity $activity_id is $state: $(curl -fsS "$CLIO_BASE_URL/_sim/records/notes?account_id=$account_id" | grep -o '"subject":"Call: Intake call"' | head -n1)"

say "turning the CRM contact feed on: every person, with the responsible attorney as a tag"
job=$(curl -fsS -D - -o /dev/null -H "Authorization: Bearer $api_token" -H 'content-type: application/json' \
  -X PATCH "$MATTERHOOK_API_URL/api/connections/$connection_id/settings" \
  -d '{"crm":{"enabled":true,"scope":"all","tags":{"responsible_attorney":"most_recent"}}}' |
  tr -d '\r' | sed -n 's/^[Mm]atterhook-[Jj]ob: //p')
job_state=done # settings already as wanted (a second run on the same database): no job
for _ in $(seq 1 100); do
  [ -n "$job" ] || break
  job_state=$(api "$MATTERHOOK_API_URL$job" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p')
  [ "$job_state" = "done" ] || [ "$job_state" = "failed" ] && break
  sleep 0.2
done
say "CRM projection $job_state; the demo firm's contacts as the CRM sees them:"
api "$MATTERHOOK_API_URL/api/crm/contacts" | grep -o '"last_name":"[^"]*","name":"[^"]*"\|"tags":\[[^]]*\]' |
  sed 's/^"last_name":"[^"]*","name":/    /' | paste - -

say "caller lookup: a key for a phone receptionist, and Jane Doe (saved as (555) 123-4567) found from +15551234567"
lookup_key=$(api -X POST "$MATTERHOOK_API_URL/api/connections/$connection_id/lookup-keys" \
  -d '{"name":"Demo receptionist"}' | sed -n 's/.*"key":"\(mhk_[^"]*\)".*/\1/p')
curl -fsS -H "Authorization: Bearer $lookup_key" "$MATTERHOOK_API_URL/api/caller-lookup?phone=%2B15551234567" |
  grep -o '"match":"[a-z]*"\|"source":"[a-z]*"\|"transfer_to":{[^}]*}' | sed 's/^/    /'

say "watches: Jane Doe's and José Álvarez's matters imported, Litigation mapped to the case type Civil Litigation"
jose_matter=$(printf '%s' "$demo" | sed -n 's/.*"matter_ids":\[[0-9]*,\([0-9]*\).*/\1/p')
api -X PATCH "$MATTERHOOK_API_URL/api/connections/$connection_id/settings" \
  -d '{"watches":{"mapping":{"Litigation":"Civil Litigation"}}}' >/dev/null
# The matters must be in the mirror (the first sweep has run by now; a slow one is waited for).
for _ in $(seq 1 100); do
  watches=$(api -X POST "$MATTERHOOK_API_URL/api/watches/import" \
    -d "{\"connection_id\":$connection_id,\"matter_ids\":[$matter_id,$jose_matter]}")
  case "$watches" in *'"unknown":[]'*) break ;; esac
  sleep 0.2
done
printf '%s\n' "$watches" | grep -o '"fields":{[^}]*}' | sed 's/^/    /'
watch_id=$(api "$MATTERHOOK_API_URL/api/watches?limit=1" | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | head -n1)

cat <<INFO

  matterhook is running (Ctrl-C stops it)

  receiver         http://$MATTERHOOK_RECEIVER_ADDR   (/healthz /readyz /metrics; Clio delivers to /webhooks/clio/{token})
  API              $MATTERHOOK_API_URL   (/healthz /readyz /metrics; OpenAPI: $MATTERHOOK_API_URL/openapi.json)
  health, metrics  workers and scheduler: http://127.0.0.1:9101 (journal) … 9102 (sync), 9103 (matching), 9104 (status), 9105 (scheduler), 9106 (review), 9107 (writeback), 9108 (crm), 9109 (watches)
    as alice       curl -H "Authorization: Bearer $api_token" $MATTERHOOK_API_URL/api/connections
    connect again  open $MATTERHOOK_API_URL/connect/clio?region=us with that bearer token
  scheduler        renews webhook subscriptions, refreshes tokens:  target/debug/matterhook subscriptions list
  referrals        curl -H "Authorization: Bearer $api_token" $MATTERHOOK_API_URL/api/referrals
    open a matter for Jane Doe (the referral links itself):
                   curl -X POST -H 'content-type: application/json' -d '{"account_id":$account_id,"client":{"id":$jane_id},"status":"open","description":"Lease dispute"}' $CLIO_BASE_URL/_sim/records/matters
    close it (the referral is won):  curl -X POST -H 'content-type: application/json' -d '{"status":"closed"}' $CLIO_BASE_URL/_sim/matters/<its id>/status
    drafts         curl -H "Authorization: Bearer $api_token" $MATTERHOOK_API_URL/api/action-queue
  review requests  on for connection $connection_id:  curl -H "Authorization: Bearer $api_token" $MATTERHOOK_API_URL/api/connections/$connection_id/settings
    close Wei Chen's matter (a request appears, due within 30 s):
                   curl -X POST -H 'content-type: application/json' -d '{"status":"closed"}' $CLIO_BASE_URL/_sim/matters/$wei_matter/status
                   curl -H "Authorization: Bearer $api_token" $MATTERHOOK_API_URL/api/review-requests
    "Send Review" inside Clio (custom action $send_review_id): click it on the first matter, then open the URL it gives within a minute:
                   curl -X POST -H 'content-type: application/json' -d '{"user_id":$attorney_id,"subject_id":$matter_id}' $CLIO_BASE_URL/_sim/custom-actions/$send_review_id/click
  CRM contacts     curl -H "Authorization: Bearer $api_token" "$MATTERHOOK_API_URL/api/crm/contacts?tag=Active%20Client"
    changes, events  curl -H "Authorization: Bearer $api_token" "$MATTERHOOK_API_URL/api/crm/changes?after=0"
                   curl -H "Authorization: Bearer $api_token" "$MATTERHOOK_API_URL/api/crm/events"
    a new client   open a matter for Priya Natarajan (no matter yet), then read the events again:
                   curl -X POST -H 'content-type: application/json' -d '{"account_id":$account_id,"client":{"id":$priya_id},"status":"open","description":"Visa"}' $CLIO_BASE_URL/_sim/records/matters
  caller lookup    key $lookup_key (shown once; sees this firm only):
                   curl -H "Authorization: Bearer $lookup_key" "$MATTERHOOK_API_URL/api/caller-lookup?phone=555.123.4567"
                   curl -H "Authorization: Bearer $lookup_key" "$MATTERHOOK_API_URL/api/caller-lookup?phone=4567"
    staff          curl -H "Authorization: Bearer $api_token" $MATTERHOOK_API_URL/api/staff
  watches          curl -H "Authorization: Bearer $api_token" $MATTERHOOK_API_URL/api/watches
    browse matters curl -H "Authorization: Bearer $api_token" "$MATTERHOOK_API_URL/api/clio/matters?q=estate"
    rename Jane in Clio (her watch follows within seconds, no button):
                   curl -X PATCH -H 'content-type: application/json' -d '{"last_name":"Doe-Park"}' $CLIO_BASE_URL/_sim/records/contacts/$jane_id
                   curl -H "Authorization: Bearer $api_token" $MATTERHOOK_API_URL/api/watches/$watch_id
    edit, sync one curl -X PATCH -H "Authorization: Bearer $api_token" -H 'content-type: application/json' -d '{"fields":{"city":"Salem"},"notes":"weekly check","priority":"high"}' $MATTERHOOK_API_URL/api/watches/$watch_id
                   curl -X POST -H "Authorization: Bearer $api_token" $MATTERHOOK_API_URL/api/watches/$watch_id/sync
    Sync All       curl -X POST -H "Authorization: Bearer $api_token" $MATTERHOOK_API_URL/api/watches/sync   (progress: /api/jobs/{id})
                   target/debug/matterhook watches sync --connection $connection_id
  writeback        activity $activity_id ($state), a call logged as a note on Jane Doe in Clio:
                   curl -H "Authorization: Bearer $api_token" $MATTERHOOK_API_URL/api/activities
                   curl "$CLIO_BASE_URL/_sim/records/notes?account_id=$account_id"
    log another    curl -H "Authorization: Bearer $api_token" -H 'content-type: application/json' -H 'Idempotency-Key: my-note-1' -d '{"connection_id":$connection_id,"contact_id":$jane_id,"type":"note","subject":"Follow-up","body":"Sent the engagement letter.","occurred_at":"$(date -u +%Y-%m-%dT%H:%M:%SZ)"}' $MATTERHOOK_API_URL/api/activities
  journal worker   records every Clio event:  psql "$DATABASE_URL" -c 'select * from event_journal'
  sync worker      mirrors the firm:  psql "$DATABASE_URL" -c 'select clio_id, display_number, status, client_name from clio_matters'
    domain events  psql "$DATABASE_URL" -c 'select routing_key, message from outbox_published'   (published by the relay, kept 72 h)
    sweep now      target/debug/matterhook sync --connection 1
  dead letters     target/debug/matterhook dlq list
  support console  open $MATTERHOOK_API_URL/console and sign in with alice's token (an admin): dead letters, connections, queues
  Clio simulator   $CLIO_BASE_URL        (the demo firm: Hartley & Finch LLP)
    demo firm ids  curl $CLIO_BASE_URL/_sim/demo
    close a matter curl -X POST -H 'content-type: application/json' -d '{"status":"closed"}' $CLIO_BASE_URL/_sim/matters/$matter_id/status
    deliveries     curl $CLIO_BASE_URL/_sim/deliveries
  PostgreSQL       ${DATABASE_URL%%://*}://…@${DATABASE_URL##*@}   (migrated)
  RabbitMQ         amqp://127.0.0.1:5672

INFO
wait
