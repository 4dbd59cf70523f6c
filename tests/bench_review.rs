//! `make bench`'s review figures: 10,000 matters closing across 100 firms, each closing carried
//! from Clio's webhook through the receiver, the sync stage and its outbox to the review worker
//! (every request created, p99 from the closing to its request); and the daily reconciliation of
//! a firm with 100,000 matters. Writes `target/bench/review.json`.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use clio_sim::Kind;
use diesel::sql_types::{BigInt, Date};
use diesel_async::RunQueryDsl;
use matterhook_e2e::sync::Rig;
use matterhook_sync::SyncHandler;
use serde_json::json;

const FIRMS: usize = 100;
const MATTERS_PER_FIRM: usize = 100;
const RATE: f64 = 200.0;
const RECONCILE_MATTERS: i64 = 100_000;
/// Of those, closed the day before the reconciliation (the rest long ago).
const CLOSED_YESTERDAY: i64 = 1_000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A firm: its account, its connection, its open matters.
struct Firm {
    connection: i64,
    matters: Vec<i64>,
}

async fn firms(r: &mut Rig) -> Vec<Firm> {
    let sim = r.s.p.world.sim.clone();
    let mut out = Vec::with_capacity(FIRMS);
    for i in 0..FIRMS {
        let firm = if i == 0 {
            r.s.p.world.firm.clone()
        } else {
            clio_sim::seed::demo_firm(&sim).expect("firm")
        };
        let connection = if i == 0 {
            r.id
        } else {
            let user = r.s.user(&format!("lawyer{i}@bench.example")).await;
            let (_, answer) = r.s.connect_as(&user, firm.attorney_id, "allow").await;
            assert_eq!(answer.status(), 200, "connected");
            let body: serde_json::Value = answer.json().await.expect("json");
            body["connection_id"].as_i64().expect("id")
        };
        r.stage
            .sweep_connection(connection, matterhook_sync::SweepMode::Incremental)
            .await
            .expect("baseline");
        let mut conn = r.s.p.pool.get().await.expect("conn");
        let on = json!({"review_requests": {"enabled": true, "cooldown_days": 0}});
        let user_id = matterhook_store::connections::get(&mut conn, connection)
            .await
            .expect("q")
            .expect("row")
            .user_id;
        matterhook_store::settings::save(&mut conn, connection, user_id, &json!({}), &on)
            .await
            .expect("settings");
        drop(conn);
        // A client of its own per matter (the cooldown is off, but each request is one person).
        let matters = (0..MATTERS_PER_FIRM)
            .map(|m| {
                let client = sim
                    .create(Kind::Contact, firm.account_id, json!({"type": "Person",
                        "first_name": "Client", "last_name": format!("N{m}"),
                        "email_addresses": [{"address": format!("c{i}-{m}@bench.example"), "primary": true}]}))
                    .expect("client")
                    .id;
                sim.create(Kind::Matter, firm.account_id,
                    json!({"client": {"id": client}, "status": "open", "description": "Bench"}))
                    .expect("matter")
                    .id
            })
            .collect();
        out.push(Firm {
            connection,
            matters,
        });
    }
    out
}

async fn closing_to_request(r: &mut Rig) -> (usize, usize, f64, f64, serde_json::Value) {
    let firms = firms(r).await;
    // Every creation above is mirrored before the closings start.
    for f in &firms {
        r.stage
            .sweep_connection(f.connection, matterhook_sync::SweepMode::Incremental)
            .await
            .expect("sweep");
    }
    let sim = r.s.p.world.sim.clone();
    let clock_sim = sim.clone();
    let clock: matterhook_review::Clock = Arc::new(move || clock_sim.now());
    // Each stage with a pool of its own, as each binary has in production (the rig's pool of 8 is
    // shared by its consumer and relay).
    let url = r.s.p.db.url().to_owned();
    let own_pool = move |size| matterhook_store::connect_pool(&url, size).expect("pool");
    // As `matterhook-worker-review` runs by default: 32 in flight, a pool of 34.
    let prefetch = matterhook_bus::RuntimeConfig::default().prefetch;
    let review_pool = own_pool(usize::from(prefetch) + 2);
    let review =
        r.s.p
            .start_worker_on(
                matterhook_review::ReviewTrigger { clock },
                6,
                review_pool,
                prefetch,
            )
            .await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    // The production batcher, with `MATTERHOOK_SYNC_CONCURRENCY` batches in flight (default 4).
    let concurrency = std::env::var("MATTERHOOK_SYNC_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let stage = matterhook_sync::SyncStage::new(
        own_pool(concurrency * 2 + 2),
        r.s.connections.clone(),
        matterhook_sync::SyncConfig {
            concurrency,
            names: r.s.p.names.clone(),
            ..matterhook_sync::SyncConfig::default()
        },
    );
    println!("review: sync batcher with {concurrency} batches in flight");
    let batcher = tokio::spawn({
        let s = stopped.clone();
        async move { stage.run_batches(until(s)).await }
    });
    let relay = tokio::spawn(matterhook_sync::relay::run_relay(
        r.s.p.pool.clone(),
        matterhook_test_support::amqp_url(),
        r.s.p.names.clone(),
        Vec::new(),
        until(stopped),
    ));

    // The creations' own webhook events (two per matter: its client and itself) are worked off
    // by the stage before the closings start: the closings are measured on a stage that is
    // keeping up, not behind 20,000 stale re-reads.
    let backlog = FIRMS * MATTERS_PER_FIRM * 2;
    matterhook_e2e::ingest::eventually_within(Duration::from_secs(300), || async {
        let mut conn = r.s.p.pool.get().await.expect("conn");
        let (queued, unrelayed): (i64, i64) = {
            use diesel::QueryDsl;
            use matterhook_store::schema::{outbox, sync_queue};
            (
                sync_queue::table
                    .count()
                    .get_result(&mut conn)
                    .await
                    .expect("count"),
                outbox::table
                    .count()
                    .get_result(&mut conn)
                    .await
                    .expect("count"),
            )
        };
        let answered = deliveries_answered(&r.s.p.world.sim);
        (queued == 0 && unrelayed == 0 && answered >= backlog).then_some(())
    })
    .await
    .expect("the creations' events worked off");

    // Round robin over the firms, at a steady rate.
    let order: Vec<i64> = (0..MATTERS_PER_FIRM)
        .flat_map(|m| firms.iter().map(move |f| f.matters[m]))
        .collect();
    let mut closed_at: HashMap<i64, DateTime<Utc>> = HashMap::with_capacity(order.len());
    let start = Instant::now();
    for (i, m) in order.iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / RATE);
        tokio::time::sleep_until(due.into()).await;
        closed_at.insert(*m, Utc::now());
        sim.set_matter_status(*m, "closed").expect("closed");
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    let rows = loop {
        let mut conn = r.s.p.pool.get().await.expect("conn");
        let rows: Vec<(i64, DateTime<Utc>)> = {
            use diesel::QueryDsl;
            use matterhook_store::schema::review_requests as q;
            q::table
                .select((q::matter_id, q::created_at))
                .load(&mut conn)
                .await
                .expect("requests")
        };
        if rows.len() >= order.len() {
            break rows;
        }
        if Instant::now() >= deadline {
            let made: std::collections::HashSet<i64> = rows.iter().map(|(m, _)| *m).collect();
            let missing: Vec<i64> = order
                .iter()
                .copied()
                .filter(|m| !made.contains(m))
                .collect();
            let position: Vec<usize> = missing
                .iter()
                .take(10)
                .filter_map(|m| order.iter().position(|o| o == m))
                .collect();
            let states: Vec<(i64, Option<String>, DateTime<Utc>)> = {
                use diesel::{ExpressionMethods, QueryDsl};
                use matterhook_store::schema::clio_matters as q;
                q::table
                    .filter(q::clio_id.eq_any(&missing))
                    .select((q::clio_id, q::status, q::synced_at))
                    .limit(10)
                    .load(&mut conn)
                    .await
                    .expect("mirror")
            };
            let queued: i64 = {
                use diesel::QueryDsl;
                matterhook_store::schema::sync_queue::table
                    .count()
                    .get_result(&mut conn)
                    .await
                    .expect("count")
            };
            eprintln!(
                "missing {} (positions {position:?}); mirror {states:?}; sync_queue {queued}; \
                 sim {:?}",
                missing.len(),
                missing
                    .iter()
                    .take(3)
                    .map(|m| sim.get(Kind::Matter, *m).map(|v| v["status"].clone()))
                    .collect::<Vec<_>>()
            );
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {} requests",
            rows.len(),
            order.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let _ = stop.send(true);
    let _ = batcher.await;
    let _ = relay.await;
    review.stop().await.expect("stops");
    let ms = |d: chrono::Duration| d.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let mut latencies: Vec<f64> = rows
        .iter()
        .filter_map(|(m, at)| closed_at.get(m).map(|c| ms(*at - *c)))
        .collect();
    latencies.sort_by(f64::total_cmp);
    let stages = stages(r, &sim, &closed_at).await;
    (
        order.len(),
        rows.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        stages,
    )
}

/// Deliveries the receiver answered so far.
fn deliveries_answered(sim: &clio_sim::Sim) -> usize {
    sim.deliveries()
        .iter()
        .filter(|d| d.outcome == "delivered")
        .count()
}

/// Where the time goes, p50 and p99 from the closing to: Clio's delivery answered by the
/// receiver (the event durable), the mirror written by the sync stage.
async fn stages(
    r: &Rig,
    sim: &clio_sim::Sim,
    closed_at: &HashMap<i64, DateTime<Utc>>,
) -> serde_json::Value {
    let ms = |d: chrono::Duration| d.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let mut delivered: Vec<f64> = sim
        .deliveries()
        .iter()
        .filter(|d| d.event == "matter_closed")
        .filter_map(|d| {
            let closed = closed_at.get(&d.record_id?)?;
            let first = <[_]>::first(&d.attempts)?;
            let answered = first.at + chrono::Duration::milliseconds(first.duration_ms as i64);
            Some(ms(answered - *closed))
        })
        .collect();
    delivered.sort_by(f64::total_cmp);
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let synced: Vec<(i64, DateTime<Utc>)> = {
        use diesel::{ExpressionMethods, QueryDsl};
        use matterhook_store::schema::clio_matters as m;
        m::table
            .filter(m::status.eq("Closed"))
            .select((m::clio_id, m::synced_at))
            .load(&mut conn)
            .await
            .expect("mirror")
    };
    let mut mirrored: Vec<f64> = synced
        .iter()
        .filter_map(|(id, at)| closed_at.get(id).map(|c| ms(*at - *c)))
        .collect();
    mirrored.sort_by(f64::total_cmp);
    let figure = |v: &[f64]| {
        if v.is_empty() {
            json!(null)
        } else {
            json!({"p50_ms": percentile(v, 0.5), "p99_ms": percentile(v, 0.99), "count": v.len()})
        }
    };
    json!({
        "delivered": figure(&delivered),
        "mirrored": figure(&mirrored),
    })
}

/// A firm with 100,000 mirrored matters, 1,000 of them closed yesterday: one tick's daily
/// reconciliation, timed.
async fn reconciliation(r: &Rig) -> (f64, usize) {
    // The closings' 10,000 requests fall due first, in a tick of their own: the timed tick is the
    // reconciliation's alone.
    let earlier = matterhook_review::schedule::tick(&r.s.p.pool, r.s.p.world.sim.now())
        .await
        .expect("tick");
    println!("review: the closings' requests fell due first: {earlier:?}");
    let mut conn = r.s.p.pool.get().await.expect("conn");
    diesel::sql_query("SET statement_timeout = 0")
        .execute(&mut conn)
        .await
        .expect("no statement timeout");
    let account = 9_000_001_i64;
    let now = r.s.p.world.sim.now();
    let yesterday = (now - chrono::Duration::days(1)).date_naive();
    let long_ago = (now - chrono::Duration::days(400)).date_naive();
    // The firm's clients (one per matter closed yesterday) and its matters.
    diesel::sql_query(
        "INSERT INTO clio_contacts (clio_account_id, clio_id, kind, first_name, last_name, \
         primary_email, custom_field_values, data) \
         SELECT $1, g, 'Person', 'Client', 'N' || g, 'c' || g || '@recon.example', '[]', '{}' \
         FROM generate_series(1, $2) g",
    )
    .bind::<BigInt, _>(account)
    .bind::<BigInt, _>(CLOSED_YESTERDAY)
    .execute(&mut conn)
    .await
    .expect("contacts");
    diesel::sql_query(
        "INSERT INTO clio_matters (clio_account_id, clio_id, display_number, status, close_date, \
         client_id, custom_field_values, data) \
         SELECT $1, g, 'M' || g, 'Closed', CASE WHEN g <= $3 THEN $4 ELSE $5 END, \
                CASE WHEN g <= $3 THEN g END, '[]', '{}' \
         FROM generate_series(1, $2) g",
    )
    .bind::<BigInt, _>(account)
    .bind::<BigInt, _>(RECONCILE_MATTERS)
    .bind::<BigInt, _>(CLOSED_YESTERDAY)
    .bind::<Date, _>(yesterday)
    .bind::<Date, _>(long_ago)
    .execute(&mut conn)
    .await
    .expect("matters");
    diesel::sql_query("ANALYZE clio_matters")
        .execute(&mut conn)
        .await
        .expect("analyze");
    // The firm's connection: the rig's user connected to it, review requests on (UTC days).
    let connection: i64 = {
        use diesel::ExpressionMethods;
        use matterhook_store::schema::connections as c;
        diesel::insert_into(c::table)
            .values((
                c::user_id.eq(r.bob.id),
                c::region.eq("us"),
                c::clio_user_id.eq(9_000_001_i64),
                c::clio_account_id.eq(account),
                c::account_name.eq("Reconciled & Co"),
                c::status.eq(matterhook_domain::ConnectionStatus::Connected),
            ))
            .returning(c::id)
            .get_result(&mut conn)
            .await
            .expect("connection")
    };
    let on = json!({"review_requests": {"enabled": true, "time_zone": "UTC", "cooldown_days": 0}});
    matterhook_store::settings::save(&mut conn, connection, r.bob.id, &json!({}), &on)
        .await
        .expect("settings");
    // The other firms' reconciliations are done already (the closing bench ticked none): cover
    // them so the timing is this firm's alone.
    diesel::sql_query(
        "INSERT INTO review_reconciliations (connection_id, covered_day) \
         SELECT connection_id, $1 FROM connection_settings WHERE connection_id <> $2 \
         ON CONFLICT (connection_id) DO UPDATE SET covered_day = excluded.covered_day",
    )
    .bind::<Date, _>(yesterday)
    .bind::<BigInt, _>(connection)
    .execute(&mut conn)
    .await
    .expect("covered");
    drop(conn);
    let started = Instant::now();
    let report = matterhook_review::schedule::tick(&r.s.p.pool, now)
        .await
        .expect("tick");
    assert_eq!(
        report.due + report.restricted + report.cancelled,
        0,
        "{report:?}"
    );
    (started.elapsed().as_secs_f64(), report.reconciled)
}

#[tokio::main]
async fn main() {
    // Warnings (a retried message, a failed batch) are part of the figures' story.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,lapin=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut r = Rig::start_tuned(SyncHandler::default(), |sim| {
        sim.configure(|c| c.rate_limit = 1_000_000)
    })
    .await;
    r.baseline().await;
    let (closed, created, p50, p99, stages) = closing_to_request(&mut r).await;
    println!(
        "review: {closed} matters closing across {FIRMS} firms at {RATE}/s: {created} requests, \
         webhook to request p50 {p50:.0} ms, p99 {p99:.0} ms; by stage {stages}"
    );
    let (reconcile_s, reconciled) = reconciliation(&r).await;
    println!(
        "review: daily reconciliation of a firm with {RECONCILE_MATTERS} matters \
         ({CLOSED_YESTERDAY} closed yesterday): {reconciled} requests in {reconcile_s:.2} s"
    );
    let report = json!({
        "matters_closed": closed,
        "requests_created": created,
        "p50_ms": p50,
        "p99_ms": p99,
        "rate_per_s": RATE,
        "firms": FIRMS,
        "stages": stages,
        "reconcile_s": reconcile_s,
        "reconcile_matters": RECONCILE_MATTERS,
        "reconcile_requests": reconciled,
    });
    std::fs::create_dir_all("target/bench").expect("dir");
    std::fs::write(
        "target/bench/review.json",
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write");
    r.stop().await;
}
