//! `make bench`'s CRM figures, for a firm of 100,000 contacts and 300,000 matters:
//! - `full_projection_s`: the job a settings change starts, projecting every contact;
//! - `p50_ms`, `p99_ms`: from a contact's change in Clio (the simulator) to its changed
//!   projection, through the receiver, the sync stage (its 250 ms window), the relay and the CRM
//!   worker, 200 contacts changed at 20/s;
//! - `rows_read_per_update`: rows PostgreSQL read (sequential and by index) per update, over the
//!   whole path (the sync stage's reads included): an update must not re-scan the firm.
//!
//! Writes `target/bench/crm.json`.

use std::time::{Duration, Instant};

use clio_sim::Kind;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use matterhook_e2e::sync::Rig;
use matterhook_sync::SyncHandler;
use serde_json::json;

const CONTACTS: i64 = 100_000;
const MATTERS: i64 = 300_000;
const UPDATES: usize = 200;
const RATE: f64 = 20.0;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Rows read so far from each table the path touches, sequentially and through indexes.
async fn rows_read(r: &Rig) -> std::collections::BTreeMap<String, i64> {
    #[derive(diesel::QueryableByName)]
    struct Read {
        #[diesel(sql_type = diesel::sql_types::Text)]
        relname: String,
        #[diesel(sql_type = BigInt)]
        rows: i64,
    }
    // Statistics reach the view within a second of a transaction's end.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut conn = r.s.p.pool.get().await.expect("conn");
    diesel::sql_query(
        "SELECT relname::text AS relname, \
         (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::bigint AS rows \
         FROM pg_stat_user_tables WHERE relname IN ('clio_contacts', 'clio_matters', \
         'clio_contact_emails', 'clio_contact_phones', 'clio_custom_fields', 'crm_contacts', \
         'crm_events', 'connections', 'connection_settings', 'sync_queue', 'outbox')",
    )
    .load::<Read>(&mut conn)
    .await
    .expect("statistics")
    .into_iter()
    .map(|r| (r.relname, r.rows))
    .collect()
}

#[tokio::main]
async fn main() {
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
    let sim = r.s.p.world.sim.clone();
    let firm = r.s.p.world.firm.clone();
    // The contacts changed later live in the simulator too: clients, each with an open matter.
    let live: Vec<i64> = (0..UPDATES)
        .map(|i| {
            let id = sim
                .create(
                    Kind::Contact,
                    firm.account_id,
                    json!({"type": "Person", "first_name": "Live", "last_name": format!("N{i}"),
                           "is_client": true,
                           "email_addresses": [{"address": format!("live{i}@bench.example"), "primary": true}]}),
                )
                .expect("contact")
                .id;
            sim.create(
                Kind::Matter,
                firm.account_id,
                json!({"client": {"id": id}, "status": "Open", "description": "Bench",
                       "responsible_attorney": {"id": firm.attorney_id}}),
            )
            .expect("matter");
            id
        })
        .collect();
    r.baseline().await;

    // The firm's history, written to its mirror directly: 100,000 people and 300,000 matters.
    {
        let mut conn = r.s.p.pool.get().await.expect("conn");
        diesel::sql_query("SET statement_timeout = 0")
            .execute(&mut conn)
            .await
            .expect("no timeout");
        diesel::sql_query(
            "INSERT INTO clio_contacts (clio_account_id, clio_id, kind, name, first_name, last_name, \
             is_client, primary_email, custom_field_values, data) \
             SELECT $1, 20000000 + g, 'Person', 'Client N' || g, 'Client', 'N' || g, true, \
                    'c' || g || '@crm.example', '[]', \
                    jsonb_build_object('email_addresses', jsonb_build_array(jsonb_build_object( \
                        'address', 'c' || g || '@crm.example', 'primary', true)), \
                      'phone_numbers', jsonb_build_array(jsonb_build_object( \
                        'number', '+1 617 555 ' || lpad((g % 10000)::text, 4, '0'), 'primary', true)), \
                      'addresses', jsonb_build_array(jsonb_build_object('city', 'Boston', \
                        'province', 'MA', 'primary', true))) \
             FROM generate_series(1, $2) g",
        )
        .bind::<BigInt, _>(firm.account_id)
        .bind::<BigInt, _>(CONTACTS)
        .execute(&mut conn)
        .await
        .expect("contacts");
        diesel::sql_query(
            "INSERT INTO clio_matters (clio_account_id, clio_id, display_number, status, client_id, \
             practice_area, clio_updated_at, custom_field_values, data) \
             SELECT $1, 30000000 + g, 'M' || g, \
                    (ARRAY['Open', 'Pending', 'Closed'])[1 + g % 3], \
                    20000000 + 1 + (g - 1) % $3, \
                    (ARRAY['Litigation', 'Estates', 'Family'])[1 + g % 3], \
                    now() - make_interval(secs => g), '[]', \
                    jsonb_build_object('responsible_attorney', jsonb_build_object('id', $4::bigint, \
                      'name', 'Alice Hartley')) \
             FROM generate_series(1, $2) g",
        )
        .bind::<BigInt, _>(firm.account_id)
        .bind::<BigInt, _>(MATTERS)
        .bind::<BigInt, _>(CONTACTS)
        .bind::<BigInt, _>(firm.attorney_id)
        .execute(&mut conn)
        .await
        .expect("matters");
        diesel::sql_query("ANALYZE")
            .execute(&mut conn)
            .await
            .expect("analyze");
    }

    // The full projection: the job the settings change starts.
    let (status, body) =
        r.s.api_send(
            &r.bob,
            reqwest::Method::PATCH,
            &format!("/api/connections/{}/settings", r.id),
            Some(json!({"crm": {"enabled": true, "scope": "all",
                                "tags": {"responsible_attorney": "most_recent", "location": true}}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let started = Instant::now();
    let report = loop {
        if let Some(report) = matterhook_crm::jobs::run_one(&r.s.p.pool)
            .await
            .expect("job")
        {
            break report;
        }
    };
    let full_projection_s = started.elapsed().as_secs_f64();
    println!(
        "crm: full projection of {} contacts ({MATTERS} matters) in {full_projection_s:.1} s",
        report.contacts
    );

    // Live: the production pipeline, each contact changed once.
    let url = r.s.p.db.url().to_owned();
    let own_pool = move |size| matterhook_store::connect_pool(&url, size).expect("pool");
    let prefetch = matterhook_bus::RuntimeConfig::default().prefetch;
    let crm =
        r.s.p
            .start_worker_on(
                matterhook_crm::CrmProjector,
                6,
                own_pool(usize::from(prefetch) + 2),
                prefetch,
            )
            .await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let stage = matterhook_sync::SyncStage::new(
        own_pool(10),
        r.s.connections.clone(),
        matterhook_sync::SyncConfig {
            names: r.s.p.names.clone(),
            ..matterhook_sync::SyncConfig::default()
        },
    );
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
    let read_before = rows_read(&r).await;
    let mut changed_at = Vec::with_capacity(UPDATES);
    let start = Instant::now();
    for (i, id) in live.iter().enumerate() {
        tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / RATE)).into()).await;
        changed_at.push(chrono::Utc::now());
        sim.update(
            Kind::Contact,
            *id,
            json!({"first_name": format!("Changed{i}")}),
        )
        .expect("changed");
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    let updated = loop {
        let mut conn = r.s.p.pool.get().await.expect("conn");
        let rows: Vec<(
            i64,
            Option<serde_json::Value>,
            chrono::DateTime<chrono::Utc>,
        )> = {
            use diesel::{ExpressionMethods, QueryDsl};
            use matterhook_store::schema::crm_contacts as k;
            k::table
                .filter(k::connection_id.eq(r.id))
                .filter(k::contact_id.eq_any(&live))
                .select((k::contact_id, k::projection, k::updated_at))
                .load(&mut conn)
                .await
                .expect("projection")
        };
        let done: Vec<(i64, chrono::DateTime<chrono::Utc>)> = rows
            .into_iter()
            .filter(|(_, p, _)| {
                p.as_ref()
                    .and_then(|p| p["first_name"].as_str())
                    .is_some_and(|n| n.starts_with("Changed"))
            })
            .map(|(id, _, at)| (id, at))
            .collect();
        if done.len() >= UPDATES || Instant::now() > deadline {
            break done;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let read_after = rows_read(&r).await;
    let ms = |d: chrono::Duration| d.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let mut latencies: Vec<f64> = updated
        .iter()
        .filter_map(|(id, at)| {
            let i = live.iter().position(|l| l == id)?;
            Some(ms(*at - changed_at[i]))
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    let by_table: std::collections::BTreeMap<String, f64> = read_after
        .iter()
        .map(|(t, n)| {
            let before = read_before.get(t).copied().unwrap_or(0);
            (t.clone(), (n - before) as f64 / UPDATES as f64)
        })
        .collect();
    let rows_read_per_update: f64 = by_table.values().sum();
    println!("crm: rows read per update, by table: {by_table:?}");
    println!(
        "crm: {} of {UPDATES} contacts changed at {RATE}/s reached their projection: p50 {p50:.0} ms, \
         p99 {p99:.0} ms; rows read per update (sync stage and CRM worker) {rows_read_per_update:.1}",
        latencies.len()
    );
    let _ = stop.send(true);
    let _ = batcher.await;
    let _ = relay.await;
    crm.stop().await.expect("stops");
    let report = json!({
        "contacts": CONTACTS,
        "matters": MATTERS,
        "projected": report.contacts,
        "full_projection_s": full_projection_s,
        "updates": UPDATES,
        "updated": latencies.len(),
        "rate_per_s": RATE,
        "p50_ms": p50,
        "p99_ms": p99,
        "rows_read_per_update": rows_read_per_update,
        "rows_read_per_update_by_table": by_table,
    });
    std::fs::create_dir_all("target/bench").expect("dir");
    std::fs::write(
        "target/bench/crm.json",
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write");
    r.stop().await;
}
