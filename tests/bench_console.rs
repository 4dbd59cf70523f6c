//! `make bench`'s support console figures: the dead-letter pages at 1,000,000 dead letters.
//!
//! A million rows (eight worker queues, 200 connections, a month of failures; 60 % dead, 30 %
//! replayed, 10 % discarded; error chains of a few kinds and a rare one) are written straight
//! into PostgreSQL, then each of the console's reads is timed, 30 times each, through the store
//! functions the pages use, and whole pages over HTTP with a signed-in session:
//! - `list_first_page_ms`, `list_deep_page_ms` (keyset paging 990,000 rows in);
//! - `filter_{queue,connection,time_range,reason_common,reason_rare,combined}_ms`;
//! - `dry_run_count_ms` (a bulk action's count of the dead rows a reason matches);
//! - `detail_ms` (one dead letter and its history);
//! - `page_http_ms` and `page_http_filtered_ms`: `GET /console/dead-letters` (and with a reason
//!   filter) end to end, HTML included.
//!
//! Each is reported as `{name}_p50` and `{name}_p99` in `target/bench/console.json`.

use std::time::Instant;

use diesel_async::RunQueryDsl;
use matterhook_domain::DeadLetterState;
use matterhook_e2e::ingest::Pipeline;
use matterhook_store::dead_letters::{self, Filter};
use serde_json::{json, Map, Value};

const ROWS: i64 = 1_000_000;
const RUNS: usize = 30;

/// The million rows, in one statement per 100,000.
async fn seed(p: &Pipeline) {
    let mut conn = p.pool.get().await.expect("conn");
    for chunk in 0..(ROWS / 100_000) {
        let from = chunk * 100_000 + 1;
        let to = from + 99_999;
        diesel::sql_query(format!(
            "INSERT INTO dead_letters (dead_letter_id, queue, routing_key, event_id, envelope, model,
                 event, connection_id, reason, error, attempts, first_failed_at, last_failed_at,
                 state, replays, headers)
             SELECT 'bench:' || g, 'matterhook.' || (ARRAY['journal','sync','matching','status',
                     'review','crm','writeback','watches'])[1 + g % 8],
                 'clio.matter.updated', md5(g::text),
                 jsonb_build_object('version', 3, 'event_id', md5(g::text), 'record', g),
                 'matter', 'updated', 1 + g % 200,
                 CASE WHEN g % 20 = 0 THEN 'parked: the connection needs reauthorization'
                      ELSE 'attempts exhausted' END,
                 CASE WHEN g % 3 = 0 THEN 'Clio refused the write: contact is locked by another user'
                      WHEN g % 3 = 1 THEN 'Clio answered 503 Service Unavailable'
                      ELSE 'database: deadline exceeded while waiting for a connection' END
                   || CASE WHEN g % 10007 = 0 THEN ': record vanished mid-read' ELSE '' END,
                 6, now() - interval '30 days' + (g * interval '30 days' / {ROWS}),
                 now() - interval '30 days' + (g * interval '30 days' / {ROWS}),
                 CASE WHEN g % 10 < 6 THEN 'dead' WHEN g % 10 < 9 THEN 'replayed' ELSE 'discarded' END,
                 CASE WHEN g % 10 BETWEEN 6 AND 8 THEN 1 ELSE 0 END, '{{}}'::jsonb
             FROM generate_series({from}, {to}) AS g"
        ))
        .execute(&mut conn)
        .await
        .expect("seed");
    }
    diesel::sql_query("ANALYZE dead_letters")
        .execute(&mut conn)
        .await
        .expect("analyze");
}

/// p50 and p99 of `RUNS` timings in milliseconds.
fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

async fn time<F, Fut>(name: &str, out: &mut Map<String, Value>, mut run: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut ms = Vec::with_capacity(RUNS);
    let mut rows = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        rows = run().await;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, p99) = percentiles(ms);
    println!("console: {name:<28} p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  ({rows} rows)");
    out.insert(format!("{name}_p50"), json!((p50 * 100.0).round() / 100.0));
    out.insert(format!("{name}_p99"), json!((p99 * 100.0).round() / 100.0));
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
    let p = Pipeline::start().await;
    let seeding = Instant::now();
    seed(&p).await;
    println!(
        "console: {ROWS} dead letters written in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let mut out = Map::new();
    out.insert("dead_letters".into(), json!(ROWS));
    let dead = Filter {
        state: Some(DeadLetterState::Dead),
        ..Filter::default()
    };
    let list = |filter: Filter, before: Option<i64>| {
        let pool = p.pool.clone();
        move || {
            let (pool, filter) = (pool.clone(), filter.clone());
            async move {
                let mut conn = pool.get().await.expect("conn");
                dead_letters::list_newest(&mut conn, &filter, before, 50)
                    .await
                    .expect("list")
                    .len()
            }
        }
    };
    let now = chrono::Utc::now();
    time("list_first_page_ms", &mut out, list(dead.clone(), None)).await;
    time(
        "list_deep_page_ms",
        &mut out,
        list(dead.clone(), Some(10_003)),
    )
    .await;
    time(
        "filter_queue_ms",
        &mut out,
        list(
            Filter {
                queue: Some("matterhook.review".into()),
                ..dead.clone()
            },
            None,
        ),
    )
    .await;
    time(
        "filter_connection_ms",
        &mut out,
        list(
            Filter {
                connection_id: Some(74),
                ..dead.clone()
            },
            None,
        ),
    )
    .await;
    time(
        "filter_time_range_ms",
        &mut out,
        list(
            Filter {
                since: Some(now - chrono::Duration::days(20)),
                until: Some(now - chrono::Duration::days(19)),
                ..dead.clone()
            },
            None,
        ),
    )
    .await;
    time(
        "filter_reason_common_ms",
        &mut out,
        list(
            Filter {
                text: Some("contact is locked".into()),
                ..dead.clone()
            },
            None,
        ),
    )
    .await;
    time(
        "filter_reason_rare_ms",
        &mut out,
        list(
            Filter {
                text: Some("record vanished".into()),
                ..dead.clone()
            },
            None,
        ),
    )
    .await;
    time(
        "filter_combined_ms",
        &mut out,
        list(
            Filter {
                queue: Some("matterhook.crm".into()),
                text: Some("503".into()),
                since: Some(now - chrono::Duration::days(7)),
                ..dead.clone()
            },
            None,
        ),
    )
    .await;
    {
        let pool = p.pool.clone();
        time("dry_run_count_ms", &mut out, || {
            let pool = pool.clone();
            async move {
                let mut conn = pool.get().await.expect("conn");
                let filter = Filter {
                    text: Some("contact is locked".into()),
                    state: Some(DeadLetterState::Dead),
                    ..Filter::default()
                };
                usize::try_from(
                    dead_letters::count(&mut conn, &filter)
                        .await
                        .expect("count"),
                )
                .unwrap_or(0)
            }
        })
        .await;
    }
    {
        let pool = p.pool.clone();
        time("detail_ms", &mut out, || {
            let pool = pool.clone();
            async move {
                let mut conn = pool.get().await.expect("conn");
                let rows = dead_letters::by_ids(&mut conn, &[500_000])
                    .await
                    .expect("row");
                dead_letters::history(&mut conn, 500_000)
                    .await
                    .expect("history");
                rows.len()
            }
        })
        .await;
    }

    // Whole pages over HTTP, signed in.
    let admin = p.user("support@example.com", true).await;
    let (api, handle) = p.start_api();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client");
    matterhook_e2e::browser::sign_in(&http, &api, &admin).await;
    for (name, query) in [
        ("page_http_ms", ""),
        (
            "page_http_filtered_ms",
            "?reason=contact+is+locked&queue=matterhook.review",
        ),
    ] {
        let (http, url) = (http.clone(), format!("{api}/console/dead-letters{query}"));
        time(name, &mut out, || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let page = http.get(&url).send().await.expect("page");
                assert_eq!(page.status(), 200);
                page.text()
                    .await
                    .expect("html")
                    .matches("name=\"id\"")
                    .count()
            }
        })
        .await;
    }
    handle.stop(true).await;
    p.stop().await;

    std::fs::create_dir_all("target/bench").expect("dir");
    std::fs::write(
        "target/bench/console.json",
        serde_json::to_string_pretty(&Value::Object(out)).expect("json"),
    )
    .expect("write");
    println!("console: wrote target/bench/console.json");
}
