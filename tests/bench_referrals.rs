//! `make bench`'s referral figures: matching one matter among 1,000,000 unlinked referrals, and
//! the latency from Clio's webhook to the referral's status change at 500 events/s with the
//! simulator answering at once. Writes `target/bench/referrals.json`.

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use matterhook_domain::referrals::{
    keys,
    matching::{decide, Candidate, Client},
};
use matterhook_e2e::sync::Rig;
use matterhook_store::referrals;
use matterhook_sync::SyncHandler;
use serde_json::json;

const REFERRALS: i64 = 1_000_000;
const LOOKUPS: usize = 2_000;
const EVENTS: usize = 1_000;
/// Closes per second (`MATTERHOOK_BENCH_RATE` overrides it).
fn rate() -> f64 {
    std::env::var("MATTERHOOK_BENCH_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|r: &f64| *r > 0.0)
        .unwrap_or(500.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn matching_among_a_million(r: &Rig) -> (f64, f64, f64) {
    let mut conn = r.s.p.pool.get().await.expect("conn");
    // Seeding a million rows is one long statement: this connection lifts the pool's limit.
    diesel::sql_query("SET statement_timeout = 0")
        .execute(&mut conn)
        .await
        .expect("no statement timeout");
    // The keys as `matterhook_domain::referrals::keys` writes them; 20 referrals share each company.
    diesel::sql_query(
        "INSERT INTO referrals (user_id, direction, partner_name, client_first_name, \
         client_last_name, client_email, email_key, name_key, company_key, name_tokens) \
         SELECT $1, 'received', 'Partner ' || g, 'First' || g, 'Last' || g, \
                'client' || g || '@example.com', 'client' || g || '@example.com', \
                'first' || g || ' last' || g, 'company ' || (g % 50000), \
                ARRAY['first' || g, 'last' || g] \
         FROM generate_series(1, $2) g",
    )
    .bind::<BigInt, _>(r.bob.id)
    .bind::<BigInt, _>(REFERRALS)
    .execute(&mut conn)
    .await
    .expect("a million referrals");
    diesel::sql_query("ANALYZE referrals")
        .execute(&mut conn)
        .await
        .expect("analyze");
    let mut took = Vec::with_capacity(LOOKUPS);
    for i in 0..LOOKUPS {
        let g = (i as i64 * 7919) % REFERRALS + 1;
        // A mix: an email hit, a name-only hit, a company hit with a shared word, a miss.
        let client = match i % 4 {
            0 => Client::new(
                [format!("Client{g}@Example.com")],
                Some("X"),
                Some("Y"),
                None,
                None,
            ),
            1 => Client::new(
                [],
                Some(&format!("First{g}")),
                Some(&format!("Last{g}")),
                None,
                None,
            ),
            2 => Client::new(
                [],
                Some(&format!("First{g}")),
                Some("Other"),
                None,
                Some(&format!("Company {}", g % 50000)),
            ),
            _ => Client::new(
                [format!("nobody{g}@example.org")],
                Some("No"),
                Some("Body"),
                None,
                None,
            ),
        };
        let started = Instant::now();
        let found = referrals::candidates(
            &mut conn,
            r.bob.id,
            &client.emails,
            client.name.as_deref(),
            client.company.as_deref(),
        )
        .await
        .expect("candidates");
        let candidates: Vec<Candidate> = found
            .iter()
            .map(|x| Candidate {
                id: x.id,
                received: true,
                linked: false,
                email: x.email_key.clone(),
                name: x.name_key.clone(),
                company: x.company_key.clone(),
                name_tokens: x.name_tokens.clone(),
            })
            .collect();
        std::hint::black_box(decide(&client, &candidates));
        took.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    took.sort_by(f64::total_cmp);
    let _ = keys::email_key("");
    (
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        took[took.len() - 1],
    )
}

async fn webhook_to_status(r: &mut Rig) -> (f64, f64) {
    let sim = r.s.p.world.sim.clone();
    let account = r.account;
    let client = r.s.p.world.firm.contact_ids[1];
    // Mirrored, then one referral linked to each.
    let matters = r
        .open_mirrored_matters(r.id, account, client, EVENTS, "Bench")
        .await;
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let mut ids = Vec::with_capacity(EVENTS);
    for m in &matters {
        ids.push(matterhook_e2e::referrals::linked_to(&mut conn, r.bob.id, account, *m).await);
    }
    drop(conn);
    // The sync worker as in production (250 ms window, batcher, relay) and the status worker.
    let status =
        r.s.p
            .start_worker(matterhook_referrals::StatusSync, 6)
            .await;
    // Woken by PostgreSQL's notifications as `matterhook-worker-sync` is (1 s fallback);
    // `MATTERHOOK_BENCH_POLL=1` measures the 100 ms polls this replaced.
    let stage = matterhook_e2e::sync::RunningStage::start(
        r,
        r.s.p.pool.clone(),
        std::env::var_os("MATTERHOOK_BENCH_POLL").is_none(),
    );

    let mut sent = Vec::with_capacity(EVENTS);
    let start = Instant::now();
    for (i, m) in matters.iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / rate());
        tokio::time::sleep_until(due.into()).await;
        sent.push(Utc::now());
        sim.set_matter_status(*m, "closed").expect("closed");
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let latencies = loop {
        let mut conn = r.s.p.pool.get().await.expect("conn");
        let mut done: Vec<f64> = Vec::with_capacity(EVENTS);
        for (i, id) in ids.iter().enumerate() {
            let x = referrals::get(&mut conn, r.bob.id, *id)
                .await
                .expect("q")
                .expect("row");
            if x.status == matterhook_domain::ReferralStatus::Won {
                done.push((x.updated_at - sent[i]).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
        }
        if done.len() == EVENTS {
            break done;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {EVENTS} referrals won",
            done.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stage.stop().await;
    status.stop().await.expect("stops");
    let mut sorted = latencies;
    sorted.sort_by(f64::total_cmp);
    (percentile(&sorted, 0.5), percentile(&sorted, 0.99))
}

#[tokio::main]
async fn main() {
    let mut r = Rig::start_tuned(SyncHandler::default(), |sim| {
        sim.configure(|c| c.rate_limit = 1_000_000)
    })
    .await;
    r.baseline().await;
    let (e2e_p50, e2e_p99) = webhook_to_status(&mut r).await;
    println!("referrals: webhook to referral status at {}/s ({EVENTS} events): p50 {e2e_p50:.0} ms, p99 {e2e_p99:.0} ms", rate());
    let (p50, p99, max) = matching_among_a_million(&r).await;
    println!("referrals: matching one matter among {REFERRALS} unlinked referrals: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms ({LOOKUPS} lookups)");
    let report = json!({
        "match_ms_1m": p99,
        "match_p50_ms_1m": p50,
        "match_max_ms_1m": max,
        "e2e_p50_ms": e2e_p50,
        "e2e_p99_ms": e2e_p99,
        "e2e_rate_per_s": rate(),
        "e2e_events": EVENTS,
    });
    std::fs::create_dir_all("target/bench").expect("dir");
    std::fs::write(
        "target/bench/referrals.json",
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write");
    r.stop().await;
}
