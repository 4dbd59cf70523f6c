//! `make bench`'s writeback figures: 20 connections × 500 activities posted through the API, then
//! written to the simulator by the writeback worker's writer while the simulator enforces a
//! per-token rate limit. Prints and writes `target/bench/writeback.json`:
//! - `budget_used`: calls Clio answered (not 429) over the combined budget of the 20 tokens for
//!   the time the writing took;
//! - `rate_limited_per_token_minute`: 429s received per token per minute;
//! - `duplicates`: activities found more than once in the simulator (and `lost`: not at all).

use std::time::{Duration, Instant};

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use matterhook_e2e::sync::Rig;
use matterhook_sync::SyncHandler;
use matterhook_writeback::{Writer, WriterConfig};
use serde_json::{json, Value};

const CONNECTIONS: usize = 20;
const PER_CONNECTION: usize = 500;
/// The simulator's budget per token: 100 calls per 20-second window (Clio's is 50 a minute; a
/// shorter window keeps the run short with the same pacing problem).
const LIMIT: u32 = 100;
const WINDOW: Duration = Duration::from_secs(20);

/// One connection of the bench: its id, its owner, the contact written to.
struct Lane {
    connection: i64,
    user: matterhook_e2e::stack::User,
    contact: i64,
}

async fn lanes(r: &mut Rig) -> Vec<Lane> {
    let sim = r.s.p.world.sim.clone();
    let mut out = Vec::with_capacity(CONNECTIONS);
    for i in 0..CONNECTIONS {
        let (firm, connection, user) = if i == 0 {
            let bob = matterhook_e2e::stack::User {
                id: r.bob.id,
                token: r.bob.token.clone(),
            };
            (r.s.p.world.firm.clone(), r.id, bob)
        } else {
            let firm = clio_sim::seed::demo_firm(&sim).expect("firm");
            let user = r.s.user(&format!("writer{i}@bench.example")).await;
            let (_, answer) = r.s.connect_as(&user, firm.attorney_id, "allow").await;
            assert_eq!(answer.status(), 200, "connected");
            let body: Value = answer.json().await.expect("json");
            (firm, body["connection_id"].as_i64().expect("id"), user)
        };
        r.stage
            .sweep_connection(connection, matterhook_sync::SweepMode::Incremental)
            .await
            .expect("baseline");
        out.push(Lane {
            connection,
            user,
            contact: firm.contact_ids[0],
        });
    }
    out
}

/// Turns writeback on and posts the connection's 500 activities in one batch.
async fn post_all(r: &Rig, lane: &Lane, n: usize) {
    let owner = &lane.user;
    let (status, body) =
        r.s.api_send(
            owner,
            reqwest::Method::PATCH,
            &format!("/api/connections/{}/settings", lane.connection),
            Some(json!({"writeback": {"enabled": true}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let kinds = [
        ("email", Some("outbound")),
        ("note", None),
        ("call", Some("inbound")),
        ("card", None),
        ("text", Some("outbound")),
    ];
    let activities: Vec<Value> = (0..n)
        .map(|k| {
            let (kind, direction) = kinds[k % kinds.len()];
            let mut a = json!({
                "idempotency_key": format!("bench-{}-{k}", lane.connection),
                "connection_id": lane.connection,
                "contact_id": lane.contact,
                "type": kind,
                "subject": format!("Bench {kind} {k}"),
                "body": format!("Activity {k} of connection {}.", lane.connection),
                "occurred_at": chrono::Utc::now() - chrono::Duration::minutes(5),
            });
            if let Some(d) = direction {
                a["direction"] = json!(d);
            }
            a
        })
        .collect();
    let (status, answer) =
        r.s.api_send(
            owner,
            reqwest::Method::POST,
            "/api/activities/batch",
            Some(json!({ "activities": activities })),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"].as_u64(), Some(n as u64), "{answer}");
}

/// Activities in each state.
async fn states(r: &Rig) -> Vec<(String, i64)> {
    use matterhook_store::schema::activities as a;
    let mut conn = r.s.p.pool.get().await.expect("conn");
    a::table
        .group_by(a::state)
        .select((a::state, diesel::dsl::count_star()))
        .load::<(String, i64)>(&mut conn)
        .await
        .expect("states")
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
        sim.configure(|c| {
            c.rate_limit = LIMIT;
            c.rate_window = WINDOW;
        })
    })
    .await;
    let lanes = lanes(&mut r).await;
    for lane in &lanes {
        post_all(&r, lane, PER_CONNECTION).await;
    }
    let total = CONNECTIONS * PER_CONNECTION;
    let tokens: Vec<String> = {
        let mut t = Vec::new();
        for lane in &lanes {
            t.push(r.access_token(lane.connection).await);
        }
        t
    };
    let sim = r.s.p.world.sim.clone();
    // Every token starts the run with a fresh window: the setup's calls do not eat into it. (The
    // simulator's clock stays with the wall's: its `X-RateLimit-Reset` is a wall-clock time.)
    tokio::time::sleep(WINDOW).await;
    let before: Vec<clio_sim::CallStats> = tokens.iter().map(|t| sim.calls_for(t)).collect();

    // The writer as `matterhook-worker-writeback` runs it by default: its own pool, 64 lanes,
    // four writes in flight per connection, a 90 s pacing wait.
    let pool = matterhook_store::connect_pool(r.s.p.db.url(), 36).expect("pool");
    let connections =
        r.s.process_with(|c| c.max_pacing_wait = Duration::from_secs(90));
    let writer = Writer::new(
        pool,
        connections,
        WriterConfig {
            queue: r.s.p.names.worker_queue(matterhook_writeback::WORKER),
            ..WriterConfig::default()
        },
    );
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let running = tokio::spawn(async move {
        writer
            .run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await;
    });
    let deadline = started + Duration::from_secs(900);
    let last = loop {
        let last = states(&r).await;
        let settled: i64 = last
            .iter()
            .filter(|(s, _)| s != "queued")
            .map(|(_, n)| n)
            .sum();
        if settled as usize >= total || Instant::now() > deadline {
            break last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let _ = running.await;

    let (mut answered, mut limited) = (0u64, 0u64);
    for (t, b) in tokens.iter().zip(&before) {
        let now = sim.calls_for(t);
        answered += (now.total - b.total) - (now.rate_limited - b.rate_limited);
        limited += now.rate_limited - b.rate_limited;
    }
    let budget = CONNECTIONS as f64 * f64::from(LIMIT) * elapsed / WINDOW.as_secs_f64();
    let budget_used = answered as f64 / budget;
    let token_minutes = CONNECTIONS as f64 * elapsed / 60.0;
    let rate_limited_per_token_minute = limited as f64 / token_minutes;

    // Each activity's marker, counted across every firm's notes and communications.
    let mut seen = std::collections::HashMap::<i64, u32>::new();
    let accounts: std::collections::BTreeSet<i64> = {
        use matterhook_store::schema::activities as a;
        let mut conn = r.s.p.pool.get().await.expect("conn");
        a::table
            .select(a::clio_account_id)
            .distinct()
            .load::<i64>(&mut conn)
            .await
            .expect("accounts")
            .into_iter()
            .collect()
    };
    for account in accounts {
        for (kind, field) in [
            (clio_sim::Kind::Note, "detail"),
            (clio_sim::Kind::Communication, "body"),
        ] {
            for (_, rec) in sim.records(kind, account) {
                let text = rec[field].as_str().unwrap_or_default();
                if let Some(id) = text
                    .rsplit_once("[matterhook activity ")
                    .and_then(|(_, tail)| tail.strip_suffix(']'))
                    .and_then(|n| n.parse::<i64>().ok())
                {
                    *seen.entry(id).or_default() += 1;
                }
            }
        }
    }
    let duplicates: u32 = seen.values().map(|n| n.saturating_sub(1)).sum();
    let written_ids: Vec<i64> = {
        use matterhook_store::schema::activities as a;
        let mut conn = r.s.p.pool.get().await.expect("conn");
        a::table
            .filter(a::state.eq("written"))
            .select(a::id)
            .load(&mut conn)
            .await
            .expect("written")
    };
    let lost = written_ids
        .iter()
        .filter(|id| !seen.contains_key(id))
        .count();
    let writes_per_s = answered as f64 / elapsed;
    println!(
        "writeback: {total} activities over {CONNECTIONS} connections ({LIMIT} calls per {}s per \
         token): {:?} in {elapsed:.1} s, {writes_per_s:.0} calls/s; budget used {budget_used:.3}, \
         429s per token-minute {rate_limited_per_token_minute:.2}, duplicates {duplicates}, lost {lost}",
        WINDOW.as_secs(),
        last
    );
    let report = json!({
        "connections": CONNECTIONS,
        "activities": total,
        "limit_per_window": LIMIT,
        "window_s": WINDOW.as_secs(),
        "elapsed_s": elapsed,
        "calls_answered": answered,
        "rate_limited": limited,
        "budget_used": budget_used,
        "rate_limited_per_token_minute": rate_limited_per_token_minute,
        "duplicates": duplicates,
        "lost": lost,
        "states": last.iter().map(|(s, n)| (s.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
    });
    std::fs::create_dir_all("target/bench").expect("dir");
    std::fs::write(
        "target/bench/writeback.json",
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write");
    r.stop().await;
}
