//! `make bench`'s caller lookup figures, for a firm of 1,000,000 contacts with 2,000,000 phone
//! numbers (and a matter each):
//! - `p50_ms`, `p99_ms`: the server's own time per lookup (its `Server-Timing`), one lookup at a
//!   time, numbers typed in several spellings;
//! - `per_s`: lookups answered per second over HTTP with one lookup key, the best of 8, 16, 32
//!   and 64 keep-alive connections for 8 s each (`per_s_by_concurrency`; the load generator shares
//!   the two cores with the API and PostgreSQL);
//! - `clio_calls`: calls to Clio (the simulator) per lookup.
//!
//! Writes `target/bench/lookup.json`.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use matterhook_e2e::sync::Rig;
use matterhook_sync::SyncHandler;
use rand::Rng;
use serde_json::json;

const CONTACTS: i64 = 1_000_000;
const SEQUENTIAL: usize = 5_000;
/// Keep-alive connections the load is sent from, one setting after another (`per_s` is the best).
const CONCURRENCIES: [usize; 4] = [8, 16, 32, 64];
const LOAD_SECONDS: u64 = 8;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Contact `g`'s two numbers (ten digits, US), as stored.
fn numbers(g: i64) -> [i64; 2] {
    [2_000_000_000 + 2 * g, 2_000_000_001 + 2 * g]
}

/// A number of a random contact, typed the way callers' systems send them.
fn typed(rng: &mut impl Rng) -> String {
    let g = rng.gen_range(1..=CONTACTS);
    let n = numbers(g)[rng.gen_range(0..2)].to_string();
    match rng.gen_range(0..4) {
        0 => format!("+1{n}"),
        1 => format!("({}) {}-{}", &n[..3], &n[3..6], &n[6..]),
        2 => format!("{}.{}.{}", &n[..3], &n[3..6], &n[6..]),
        _ => n,
    }
}

fn encode(phone: &str) -> String {
    url::form_urlencoded::byte_serialize(phone.as_bytes()).collect()
}

/// One keep-alive connection to the API.
async fn open(addr: std::net::SocketAddr) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    sender
}

/// Sends one lookup; the server's time in ms when answered 200.
async fn send(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    host: &str,
    key: &str,
    phone: &str,
) -> Option<f64> {
    sender.ready().await.ok()?;
    let request = Request::get(format!("/api/caller-lookup?phone={}", encode(phone)))
        .header("host", host)
        .header("authorization", format!("Bearer {key}"))
        .body(Empty::new())
        .ok()?;
    let response = sender.send_request(request).await.ok()?;
    let ok = response.status().is_success();
    let timing = response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("lookup;dur="))
        .and_then(|v| v.parse::<f64>().ok());
    let body = response.into_body().collect().await.ok()?.to_bytes();
    (ok && !body.is_empty()).then_some(timing).flatten()
}

/// What one load run measured.
struct Load {
    per_s: f64,
    answered: u64,
    failed: u64,
}

/// `concurrency` connections sending lookups of `phones` for [`LOAD_SECONDS`].
async fn load(
    addr: std::net::SocketAddr,
    host: &str,
    key: &str,
    phones: &Arc<Vec<String>>,
    concurrency: usize,
) -> Load {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let (done, failed, stop, phones, key, host) = (
            done.clone(),
            failed.clone(),
            stop.clone(),
            phones.clone(),
            key.to_owned(),
            host.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut sender = open(addr).await;
            let mut i = c * 611;
            while !AtomicBool::load(&stop, Ordering::Relaxed) {
                let phone = &phones[i % phones.len()];
                i += 1;
                match send(&mut sender, &host, &key, phone).await {
                    Some(_) => done.fetch_add(1, Ordering::Relaxed),
                    None => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(LOAD_SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    let answered = AtomicU64::load(&done, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for t in tasks {
        let _ = t.await;
    }
    Load {
        per_s: answered as f64 / elapsed,
        answered,
        failed: AtomicU64::load(&failed, Ordering::Relaxed),
    }
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
    let r = Rig::start_tuned(SyncHandler::default(), |sim| {
        sim.configure(|c| c.rate_limit = 1_000_000)
    })
    .await;
    let firm = r.s.p.world.firm.clone();
    r.baseline().await;

    // The firm's contacts, written to its mirror directly: two numbers and one matter each.
    let seeding = Instant::now();
    {
        let mut conn = r.s.p.pool.get().await.expect("conn");
        diesel::sql_query("SET statement_timeout = 0")
            .execute(&mut conn)
            .await
            .expect("no timeout");
        diesel::sql_query(
            "INSERT INTO clio_contacts (clio_account_id, clio_id, kind, name, first_name, last_name, \
             is_client, custom_field_values, data) \
             SELECT $1, 20000000 + g, 'Person', 'Caller N' || g, 'Caller', 'N' || g, true, '[]', '{}' \
             FROM generate_series(1, $2) g",
        )
        .bind::<BigInt, _>(firm.account_id)
        .bind::<BigInt, _>(CONTACTS)
        .execute(&mut conn)
        .await
        .expect("contacts");
        diesel::sql_query(
            "INSERT INTO clio_contact_phones (clio_account_id, contact_id, position, raw, e164, \
             national, last_four) \
             SELECT $1, 20000000 + g, p, n::text, '+1' || n, n::text, right(n::text, 4) \
             FROM generate_series(1, $2) g, generate_series(0, 1) p, \
                  LATERAL (SELECT 2000000000 + 2 * g + p AS n) x",
        )
        .bind::<BigInt, _>(firm.account_id)
        .bind::<BigInt, _>(CONTACTS)
        .execute(&mut conn)
        .await
        .expect("phones");
        diesel::sql_query(
            "INSERT INTO clio_matters (clio_account_id, clio_id, display_number, description, status, \
             client_id, responsible_attorney_id, responsible_staff_id, clio_updated_at, \
             custom_field_values, data) \
             SELECT $1, 30000000 + g, 'M' || g, 'Bench matter', \
                    (ARRAY['Open', 'Pending', 'Closed'])[1 + g % 3], 20000000 + g, $3, $4, \
                    now() - make_interval(secs => g), '[]', '{}' \
             FROM generate_series(1, $2) g",
        )
        .bind::<BigInt, _>(firm.account_id)
        .bind::<BigInt, _>(CONTACTS)
        .bind::<BigInt, _>(firm.attorney_id)
        .bind::<BigInt, _>(firm.staff_id)
        .execute(&mut conn)
        .await
        .expect("matters");
        diesel::sql_query("ANALYZE")
            .execute(&mut conn)
            .await
            .expect("analyze");
    }
    println!(
        "lookup: {CONTACTS} contacts, {} numbers and {CONTACTS} matters written in {:.0} s",
        2 * CONTACTS,
        seeding.elapsed().as_secs_f64()
    );

    // The API as deployed: its own server and pool, with a key whose budget the load cannot
    // exhaust.
    let (status, created) =
        r.s.api_send(
            &r.bob,
            reqwest::Method::POST,
            &format!("/api/connections/{}/lookup-keys", r.id),
            Some(json!({"name": "Bench", "per_minute": 1_000_000})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().expect("key").to_owned();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let host = addr.to_string();
    let server = matterhook_api::server(
        listener,
        matterhook_api::Deps {
            queues: matterhook_bus::inspect::Queues::new(
                &matterhook_test_support::amqp_url(),
                r.s.p.names.clone(),
            ),
            pool: matterhook_store::connect_pool(r.s.p.db.url(), 8).expect("pool"),
            lookup_pool: matterhook_store::connect_pool_with(
                r.s.p.db.url(),
                matterhook_store::PoolOptions {
                    generic_plans: true,
                    ..matterhook_store::PoolOptions::new(6)
                },
            )
            .expect("lookup pool"),
            publisher: r.s.p.publisher.clone(),
            connections: r.s.connections.clone(),
            metrics: matterhook_telemetry::Metrics::new(),
            app: matterhook_api::AppLink::default(),
        },
    )
    .expect("server");
    let handle = server.handle();
    tokio::spawn(server);

    let mut rng = rand::thread_rng();
    let calls_before = r.clio_calls();
    // Server time, one lookup at a time (after a warm-up).
    let mut sender = open(addr).await;
    for _ in 0..500 {
        send(&mut sender, &host, &key, &typed(&mut rng)).await;
    }
    let mut times = Vec::with_capacity(SEQUENTIAL);
    let mut exact = 0;
    for i in 0..SEQUENTIAL {
        let phone = typed(&mut rng);
        if let Some(ms) = send(&mut sender, &host, &key, &phone).await {
            times.push(ms);
        }
        if i % 500 == 0 {
            // Every answer names its caller: check a sample.
            let (status, answer) =
                r.s.api_send(
                    &r.bob,
                    reqwest::Method::GET,
                    &format!("/api/caller-lookup?phone={}", encode(&phone)),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(answer["match"], "exact", "{phone}: {answer}");
            exact += 1;
        }
    }
    times.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    println!(
        "lookup: server time over {} lookups: p50 {p50:.3} ms, p99 {p99:.3} ms ({exact} sampled, all exact)",
        times.len()
    );

    // Throughput at several concurrencies: each connection sends its next lookup as its last is
    // answered.
    let phones: Arc<Vec<String>> = Arc::new((0..20_000).map(|_| typed(&mut rng)).collect());
    let mut by_concurrency = serde_json::Map::new();
    let (mut per_s, mut best, mut answered_all, mut failed) = (0.0_f64, 0, 0, 0);
    for concurrency in CONCURRENCIES {
        let load = load(addr, &host, &key, &phones, concurrency).await;
        println!(
            "lookup: {:.0} lookups/s over HTTP with one key ({concurrency} connections, {} failed)",
            load.per_s, load.failed
        );
        by_concurrency.insert(concurrency.to_string(), json!(load.per_s));
        answered_all += load.answered;
        failed += load.failed;
        if load.per_s > per_s {
            (per_s, best) = (load.per_s, concurrency);
        }
    }
    let lookups = (answered_all + times.len() as u64 + 500).max(1);
    let clio_calls = (r.clio_calls() - calls_before) as f64 / lookups as f64;
    println!(
        "lookup: at best {per_s:.0} lookups/s ({best} connections); Clio calls per lookup {clio_calls}"
    );
    handle.stop(true).await;

    let report = json!({
        "contacts": CONTACTS,
        "numbers": 2 * CONTACTS,
        "matters": CONTACTS,
        "p50_ms": p50,
        "p99_ms": p99,
        "per_s": per_s,
        "concurrency": best,
        "per_s_by_concurrency": by_concurrency,
        "failed": failed,
        "clio_calls": clio_calls,
    });
    std::fs::create_dir_all("target/bench").expect("dir");
    std::fs::write(
        "target/bench/lookup.json",
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write");
    println!("lookup: wrote target/bench/lookup.json");
}
