//! `make bench`'s fast-path figures (#18): from a matter closed in Clio to its referral marked won,
//! at 20 closes/s and at 500 closes/s in one firm, with a timestamp at every hop, and the Clio
//! calls the 500/s burst cost. The production path end to end: the simulator's signed webhooks,
//! the receiver, RabbitMQ, the sync worker's handler (a webhook's own record applied at once), the
//! batcher's confirming re-reads and the relay (both woken by PostgreSQL's notifications), and the
//! referral status worker. Then the same burst spread over 50 firms (each connected through the
//! OAuth flow), 10 closes a second each. Writes `target/bench/latency.json`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use matterhook_e2e::sync::Rig;
use matterhook_store::{mirror, referrals, sync_queue};
use matterhook_sync::SyncHandler;
use serde_json::json;

/// The sync handler one delivery to a transaction, as before batches (`MATTERHOOK_BENCH_BATCH=1`),
/// for comparisons in one sitting.
struct OneByOne(SyncHandler);

impl matterhook_bus::Handler for OneByOne {
    const NAME: &'static str = <SyncHandler as matterhook_bus::Handler>::NAME;
    fn routing_keys(&self) -> Vec<String> {
        self.0.routing_keys()
    }
    async fn handle(
        &self,
        envelope: &matterhook_bus::Envelope,
        conn: &mut diesel_async::AsyncPgConnection,
    ) -> Result<(), matterhook_bus::HandlerError> {
        self.0.handle(envelope, conn).await
    }
}

/// Closes in the slow phase.
const SLOW_EVENTS: usize = 200;
/// Closes in the burst.
const BURST_EVENTS: usize = 1_000;
/// Firms in the many-firm burst (the demo firm and 49 more), with closes spread evenly.
const FIRMS: usize = 50;
/// Closes per firm in the many-firm burst (1,000 in all).
const PER_FIRM: usize = BURST_EVENTS / FIRMS;

/// A matter to close and the referral its close should win.
#[derive(Clone, Copy)]
struct Closing {
    matter: i64,
    referral: i64,
    /// The referral's owner.
    user: i64,
    /// The matter's firm.
    account: i64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_microseconds().unwrap_or(0) as f64 / 1000.0
}

/// One close, hop by hop.
struct Timeline {
    /// Clio's close.
    closed: DateTime<Utc>,
    /// The receiver's first 2xx for one of its webhooks.
    accepted: DateTime<Utc>,
    /// The mirror's write.
    mirrored: DateTime<Utc>,
    /// The referral won.
    effect: DateTime<Utc>,
}

/// Percentiles of one phase.
struct Phase {
    e2e: Vec<f64>,
    close_to_accept: Vec<f64>,
    accept_to_mirror: Vec<f64>,
    mirror_to_effect: Vec<f64>,
    clio_calls: u64,
}

impl Phase {
    fn of(timelines: &[Timeline], clio_calls: u64) -> Self {
        let sorted = |f: &dyn Fn(&Timeline) -> f64| {
            let mut v: Vec<f64> = timelines.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        Self {
            e2e: sorted(&|t| ms(t.closed, t.effect)),
            close_to_accept: sorted(&|t| ms(t.closed, t.accepted)),
            accept_to_mirror: sorted(&|t| ms(t.accepted, t.mirrored)),
            mirror_to_effect: sorted(&|t| ms(t.mirrored, t.effect)),
            clio_calls,
        }
    }

    fn print(&self, rate: f64) {
        let p = |v: &[f64]| format!("{:.0} / {:.0}", percentile(v, 0.5), percentile(v, 0.99));
        println!(
            "latency at {rate}/s ({} closes, p50 / p99 ms): close -> receiver accepts {}; -> mirror write {}; -> referral won {}; end to end {}; Clio calls {}",
            self.e2e.len(),
            p(&self.close_to_accept),
            p(&self.accept_to_mirror),
            p(&self.mirror_to_effect),
            p(&self.e2e),
            self.clio_calls
        );
    }
}

/// Closes `matters` at `rate` per second and waits until each referral is won and the sync queue
/// is empty; each close's timeline and the Clio calls it all cost.
async fn phase(r: &Rig, matters: &[Closing], rate: f64) -> (Vec<Timeline>, u64) {
    let sim = r.s.p.world.sim.clone();
    let calls = r.clio_calls();
    let mut closed = Vec::with_capacity(matters.len());
    let start = Instant::now();
    for (i, c) in matters.iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        closed.push(Utc::now());
        sim.set_matter_status(c.matter, "closed").expect("closed");
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let effects = loop {
        let mut conn = r.s.p.pool.get().await.expect("conn");
        let mut won = Vec::with_capacity(matters.len());
        for c in matters {
            let x = referrals::get(&mut conn, c.user, c.referral)
                .await
                .expect("q")
                .expect("row");
            if x.status == matterhook_domain::ReferralStatus::Won {
                won.push(x.updated_at);
            }
        }
        let queued = sync_queue::total(&mut conn).await.expect("queue");
        if won.len() == matters.len() && queued == 0 {
            break won;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {} referrals won, {queued} records queued",
            won.len(),
            matters.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let calls = r.clio_calls() - calls;
    let deliveries = sim.deliveries();
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let mut timelines = Vec::with_capacity(matters.len());
    for (i, c) in matters.iter().enumerate() {
        let accepted = deliveries
            .iter()
            .filter(|d| d.record_id == Some(c.matter))
            .flat_map(|d| &d.attempts)
            .filter(|a| a.status.is_some_and(|s| (200..300).contains(&s)) && a.at >= closed[i])
            .map(|a| a.at + chrono::Duration::milliseconds(a.duration_ms as i64))
            .min()
            .expect("a webhook accepted");
        let mirrored = mirror_written(&mut conn, c.account, c.matter).await;
        timelines.push(Timeline {
            closed: closed[i],
            accepted,
            mirrored,
            effect: effects[i],
        });
    }
    (timelines, calls)
}

/// A referral of `user`'s linked to each of `matters` of `account`.
async fn link_referrals(r: &Rig, user: i64, account: i64, matters: &[i64]) -> Vec<Closing> {
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let mut closings = Vec::with_capacity(matters.len());
    for m in matters {
        let referral = matterhook_e2e::referrals::linked_to(&mut conn, user, account, *m).await;
        closings.push(Closing {
            matter: *m,
            referral,
            user,
            account,
        });
    }
    closings
}

/// 49 more firms, each connected by a user of its own through the OAuth flow and mirrored, each
/// with `per_firm` open matters linked to referrals: closings ordered round robin over the
/// firms (the demo firm's `demo` included).
async fn more_firms(r: &Rig, demo: &[Closing], per_firm: usize) -> Vec<Closing> {
    let sim = r.s.p.world.sim.clone();
    let mut firms = vec![demo[..per_firm].to_vec()];
    for i in 1..FIRMS {
        let firm = clio_sim::seed::demo_firm(&sim).expect("firm");
        let user = r.s.user(&format!("lawyer{i}@latency.example")).await;
        let (_, answer) = r.s.connect_as(&user, firm.attorney_id, "allow").await;
        assert_eq!(answer.status(), 200, "connected");
        let body: serde_json::Value = answer.json().await.expect("json");
        let connection = body["connection_id"].as_i64().expect("id");
        let matters = r
            .open_mirrored_matters(
                connection,
                firm.account_id,
                firm.contact_ids[1],
                per_firm,
                &format!("Firm {i} latency"),
            )
            .await;
        firms.push(link_referrals(r, user.id, firm.account_id, &matters).await);
    }
    r.stage.drain().await.expect("drain");
    (0..per_firm)
        .flat_map(|m| firms.iter().map(move |f| f[m]))
        .collect()
}

/// Waits until the sync queue is empty (the new firms' creations re-read), so the next burst
/// measures its own work only.
async fn quiet(r: &Rig) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut conn = r.s.p.pool.get().await.expect("conn");
        if sync_queue::total(&mut conn).await.expect("queue") == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "the sync queue never emptied");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// When the mirror last wrote the matter.
async fn mirror_written(
    conn: &mut diesel_async::AsyncPgConnection,
    account: i64,
    matter: i64,
) -> DateTime<Utc> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use matterhook_store::schema::clio_matters as m;
    m::table
        .find((account, matter))
        .select(m::synced_at)
        .first(conn)
        .await
        .expect("mirrored")
}

#[tokio::main]
async fn main() {
    let mut r = Rig::start_tuned(SyncHandler::default(), |sim| {
        sim.configure(|c| c.rate_limit = 1_000_000)
    })
    .await;
    r.baseline().await;
    let client = r.s.p.world.firm.contact_ids[1];
    // Mirrored (the creations' webhooks included), then one referral linked to each.
    let matters = r
        .open_mirrored_matters(
            r.id,
            r.account,
            client,
            SLOW_EVENTS + BURST_EVENTS + PER_FIRM,
            "Latency",
        )
        .await;
    r.stage.drain().await.expect("drain");
    let pairs = link_referrals(&r, r.bob.id, r.account, &matters).await;
    let mut conn = r.s.p.pool.get().await.expect("conn");
    assert!(mirror::matter(&mut conn, r.account, matters[0])
        .await
        .expect("q")
        .is_some());
    drop(conn);
    // Each part on a pool of its own, sized as its binary's default (the runbook's connection
    // budget), with the binaries' prefetch: as separate processes would run.
    let url = r.s.p.db.url().to_owned();
    let own_pool = |size: usize| matterhook_store::connect_pool(&url, size).expect("pool");
    if let Some(w) = r.worker.take() {
        w.stop().await.expect("stops");
    }
    let one_by_one = std::env::var("MATTERHOOK_BENCH_BATCH").is_ok_and(|b| b == "1");
    let sync_worker = if one_by_one {
        println!("latency: the sync handler one delivery to a transaction");
        r.s.p
            .start_worker_on(OneByOne(SyncHandler::default()), 6, own_pool(11), 32)
            .await
    } else {
        r.s.p
            .start_worker_on(SyncHandler::default(), 6, own_pool(11), 32)
            .await
    };
    let status =
        r.s.p
            .start_worker_on(matterhook_referrals::StatusSync, 6, own_pool(3), 32)
            .await;
    // The production stage: the 250 ms window's re-reads, woken by notifications.
    let stage = matterhook_e2e::sync::RunningStage::start(&r, own_pool(11), true);
    let (slow, slow_calls) = phase(&r, &pairs[..SLOW_EVENTS], 20.0).await;
    let slow = Phase::of(&slow, slow_calls);
    slow.print(20.0);
    let (burst, burst_calls) =
        phase(&r, &pairs[SLOW_EVENTS..SLOW_EVENTS + BURST_EVENTS], 500.0).await;
    let burst = Phase::of(&burst, burst_calls);
    burst.print(500.0);
    // The same burst spread over 50 firms: 10 closes a second each.
    let many = more_firms(&r, &pairs[SLOW_EVENTS + BURST_EVENTS..], PER_FIRM).await;
    quiet(&r).await;
    let (spread, spread_calls) = phase(&r, &many, 500.0).await;
    let spread = Phase::of(&spread, spread_calls);
    print!("across {FIRMS} firms: ");
    spread.print(500.0);
    stage.stop().await;
    status.stop().await.expect("stops");
    sync_worker.stop().await.expect("stops");

    let per_1000 = burst.clio_calls as f64 * 1000.0 / BURST_EVENTS as f64;
    println!("latency: Clio calls per 1,000-update burst: {per_1000:.0}");
    let report = json!({
        "e2e_p50_ms_500": percentile(&burst.e2e, 0.5),
        "e2e_p99_ms_500": percentile(&burst.e2e, 0.99),
        "e2e_p50_ms_20": percentile(&slow.e2e, 0.5),
        "e2e_p99_ms_20": percentile(&slow.e2e, 0.99),
        "clio_calls_per_1000": per_1000,
        "e2e_p50_ms_500_50_firms": percentile(&spread.e2e, 0.5),
        "e2e_p99_ms_500_50_firms": percentile(&spread.e2e, 0.99),
        "clio_calls_500_50_firms": spread.clio_calls,
        "hop_p50_ms_500": {
            "close_to_accept": percentile(&burst.close_to_accept, 0.5),
            "accept_to_mirror": percentile(&burst.accept_to_mirror, 0.5),
            "mirror_to_effect": percentile(&burst.mirror_to_effect, 0.5),
        },
        "hop_p50_ms_20": {
            "close_to_accept": percentile(&slow.close_to_accept, 0.5),
            "accept_to_mirror": percentile(&slow.accept_to_mirror, 0.5),
            "mirror_to_effect": percentile(&slow.mirror_to_effect, 0.5),
        },
        "hop_p99_ms_500": {
            "close_to_accept": percentile(&burst.close_to_accept, 0.99),
            "accept_to_mirror": percentile(&burst.accept_to_mirror, 0.99),
            "mirror_to_effect": percentile(&burst.mirror_to_effect, 0.99),
        },
        "events_500": BURST_EVENTS,
        "events_20": SLOW_EVENTS,
    });
    std::fs::create_dir_all("target/bench").expect("dir");
    std::fs::write(
        "target/bench/latency.json",
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write");
    r.stop().await;
}
