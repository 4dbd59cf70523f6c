//! `make bench`'s watches figures: Sync All of 10,000 watches (one firm, 10,000 matters each with
//! its own client, all in the simulator and the mirror), every client's mirrored copy stale so
//! each page also re-reads its clients (the worst case):
//! - `clio_calls`: calls to Clio (the simulator) for the whole run (one call per watch and client
//!   would be 20,000; target: at most 110);
//! - `wall_s`: the job's wall time, from `POST /api/watches/sync` to `done`;
//! - `watches`, `changes`: watches synced, fields changed.
//!
//! Writes `target/bench/watches.json`.

use std::time::Instant;

use clio_sim::Kind;
use diesel_async::RunQueryDsl;
use matterhook_e2e::sync::Rig;
use matterhook_sync::SyncHandler;
use reqwest::Method;
use serde_json::json;

const WATCHES: usize = 10_000;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,lapin=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut matters = Vec::with_capacity(WATCHES);
    let mut people = Vec::with_capacity(WATCHES);
    // Seeded before the firm connects: no webhooks for the seeding.
    let mut r = Rig::start_tuned(SyncHandler::default(), |sim| {
        sim.configure(|c| c.rate_limit = 1_000_000);
        let firm = sim.demo().expect("the demo firm");
        for i in 0..WATCHES {
            let person = sim
                .create(
                    Kind::Contact,
                    firm.account_id,
                    json!({"type": "Person", "first_name": format!("Watched{i}"), "last_name": "Person",
                           "is_client": true, "date_of_birth": "1941-02-03",
                           "addresses": [{"city": "Boston", "province": "MA", "primary": true}]}),
                )
                .expect("person")
                .id;
            people.push(person);
            matters.push(
                sim.create(
                    Kind::Matter,
                    firm.account_id,
                    json!({"client": {"id": person}, "status": "Open", "description": format!("Estate {i}"),
                           "responsible_attorney": {"id": firm.attorney_id},
                           "practice_area": {"id": 501, "name": "Litigation"}}),
                )
                .expect("matter")
                .id,
            );
        }
    })
    .await;
    let seeding = Instant::now();
    r.baseline().await;
    for part in matters.chunks(200) {
        let (status, body) =
            r.s.api_send(
                &r.bob,
                Method::POST,
                "/api/watches/import",
                Some(json!({ "matter_ids": part })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    println!(
        "watches: {WATCHES} matters mirrored and imported in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    // Every client's mirrored copy an older version than Clio's: each page re-reads its clients.
    {
        let mut conn = r.s.p.pool.get().await.expect("conn");
        diesel::sql_query("UPDATE clio_contacts SET etag = 'stale' WHERE last_name = 'Person'")
            .execute(&mut conn)
            .await
            .expect("stale clients");
    }
    // A tenth of the clients renamed in Clio, so the run has changes to make.
    // Their webhooks are delivered and queued for the sync stage (which this run does not
    // drain) before the clock starts.
    let sim = r.s.p.world.sim.clone();
    let mark = r.deliveries();
    for person in people.iter().step_by(10) {
        sim.update(Kind::Contact, *person, json!({"last_name": "Renamed"}))
            .expect("rename");
    }
    r.settle(mark, WATCHES / 10).await;

    let calls = r.clio_calls();
    let started = Instant::now();
    let (status, job) =
        r.s.api_send(&r.bob, Method::POST, "/api/watches/sync", Some(json!({})))
            .await;
    assert_eq!(status, 202, "{job}");
    let report = matterhook_watches::jobs::run_one(&r.s.p.pool, &r.stage)
        .await
        .expect("the job runs")
        .expect("a job");
    let wall_s = started.elapsed().as_secs_f64();
    let clio_calls = r.clio_calls() - calls;
    let (_, done) =
        r.s.api_send(
            &r.bob,
            Method::GET,
            &format!("/api/jobs/{}", job["id"]),
            None,
        )
        .await;
    assert_eq!(done["state"], "done", "{done}");
    println!(
        "watches: Sync All of {} watches in {wall_s:.1} s with {clio_calls} Clio calls ({} fields changed)",
        report.watches, report.changes
    );
    let out = json!({
        "watches": report.watches,
        "clio_calls": clio_calls,
        "wall_s": wall_s,
        "changes": report.changes,
        "calls_one_per_watch_and_client": 2 * WATCHES,
    });
    std::fs::create_dir_all("target/bench").expect("dir");
    std::fs::write(
        "target/bench/watches.json",
        serde_json::to_string_pretty(&out).expect("json"),
    )
    .expect("write");
    println!("watches: wrote target/bench/watches.json");
}
