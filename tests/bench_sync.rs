//! `make bench`'s sync figures: Clio calls for a burst of 1,000 updates in one firm, with the
//! real consumer (250 ms coalescing window) and the batcher running as in production, against
//! the simulator. Writes `target/bench/sync.json`.

use std::time::{Duration, Instant};

use clio_sim::Kind;
use matterhook_e2e::sync::Rig;
use matterhook_store::mirror;
use matterhook_sync::SyncHandler;
use serde_json::json;

const BURST: usize = 1_000;

async fn converged(r: &Rig, ids: &[i64], title: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut conn = r.s.p.pool.get().await.expect("conn");
        let mut all = true;
        let mut wrong = String::new();
        for id in ids.iter().rev() {
            let row = mirror::contact(&mut conn, r.account, *id)
                .await
                .expect("query");
            let got = row.as_ref().and_then(|c| c.title.clone());
            if got.as_deref() != Some(title) {
                all = false;
                wrong = format!(
                    "contact {id}: mirror {:?} {:?} {:?}, Clio {:?}",
                    got,
                    row.as_ref().and_then(|c| c.etag.clone()),
                    row.as_ref().and_then(|c| c.clio_updated_at),
                    r.s.p.world.sim.get(Kind::Contact, *id)
                );
                break;
            }
        }
        if all {
            return;
        }
        if Instant::now() > deadline {
            let d = r.s.p.world.sim.deliveries();
            let ok = d
                .iter()
                .filter(|d| d.attempts.iter().any(|a| a.status == Some(200)))
                .count();
            panic!(
                "the mirror did not converge: {} deliveries ({ok} accepted), {} rows waiting; {wrong}",
                d.len(),
                r.waiting(r.id).await
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main]
async fn main() {
    // The setup (baseline, 1,000 creations, a first round of updates) spends more than Clio's 50
    // calls a minute per token; the budget is lifted from the start so the figure counts what
    // coalescing costs, not waits the setup provoked.
    let r = Rig::start_tuned(SyncHandler::default(), |sim| {
        sim.configure(|c| c.rate_limit = 1_000_000)
    })
    .await;
    r.baseline().await;
    let sim = r.s.p.world.sim.clone();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stage = r.stage.clone();
    let batcher = tokio::spawn(async move {
        let mut rx = stopped;
        stage
            .run_batches(async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await;
    });

    let ids = clio_sim::seed::bulk_contacts(&sim, r.account, BURST).expect("contacts");
    for id in &ids {
        sim.update(Kind::Contact, *id, json!({"title": "Before"}))
            .expect("update");
    }
    converged(&r, &ids, "Before").await;

    let calls_before = r.clio_calls();
    let started = Instant::now();
    for id in &ids {
        sim.update(Kind::Contact, *id, json!({"title": "Burst"}))
            .expect("update");
    }
    converged(&r, &ids, "Burst").await;
    let elapsed = started.elapsed();
    let calls = r.clio_calls() - calls_before;
    let _ = stop.send(true);
    let _ = batcher.await;

    let per_1000 = calls as f64 * 1000.0 / BURST as f64;
    println!(
        "sync: {BURST} updates in one firm -> {calls} Clio calls ({per_1000:.1} per 1,000 events)"
    );
    println!(
        "sync: from the first update to the mirror holding all {BURST}: {:.0} ms",
        elapsed.as_secs_f64() * 1000.0
    );
    let report = json!({
        "burst_events": BURST,
        "clio_calls": calls,
        "clio_calls_per_1000": per_1000,
        "converge_ms": elapsed.as_millis() as u64,
    });
    std::fs::create_dir_all("target/bench").expect("dir");
    std::fs::write(
        "target/bench/sync.json",
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write");
    r.stop().await;
}
