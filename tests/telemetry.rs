//! The telemetry layer: one request id from Clio's POST to the worker that applies the event,
//! and health, readiness and metrics answered by every binary.
//!
//! Its own test binary, because following the request id means reading the log lines the
//! process writes, through a subscriber of its own.

use std::{
    io::Write,
    process::Command,
    sync::{Arc, OnceLock},
};

use futures::StreamExt;
use matterhook_e2e::{
    binaries::{binary, Service},
    ingest::{delete_namespace, eventually, Pipeline},
    PATIENCE,
};
use matterhook_store::journal;
use matterhook_test_support::{amqp_url, TestDb};
use matterhook_workers::journal::Journal;
use parking_lot::Mutex;
use serde_json::{json, Value};
use tracing_subscriber::{fmt::MakeWriter, EnvFilter};

/// Every log line this process wrote, as JSON.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// The process's log, installed once.
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_env_filter(EnvFilter::new(
                "warn,matterhook_receiver=debug,matterhook_telemetry=debug,matterhook_bus=debug",
            ))
            .with_writer(captured.clone())
            .try_init();
        captured
    })
}

/// Whether `line` was written inside a span named `span` whose `request_id` is `id`.
fn in_span(line: &Value, span: &str, id: &str) -> bool {
    line["spans"].as_array().is_some_and(|spans| {
        spans
            .iter()
            .any(|s| s["name"] == span && s["request_id"] == id)
    })
}

#[tokio::test]
async fn one_request_id_follows_an_event_from_the_receivers_log_through_the_envelope_to_the_workers_span(
) {
    let logs = logs();
    let mut p = Pipeline::start().await;
    let sub = p
        .subscribe("contact", &["updated"], "id,etag,first_name")
        .await;
    // A copy of every contact event, to read the envelope the receiver published.
    let mut copies = p
        .tap(&matterhook_bus::clio_bindings(
            matterhook_domain::Model::Contact,
        ))
        .await;
    let worker = p.start_worker(Journal, 6).await;

    let id = "trace-e2e-4711";
    let contact = p.world.firm.contact_ids[0];
    let body = json!({
        "data": {"id": contact, "etag": "\"v2\"", "first_name": "Jane"},
        "meta": {"event": "updated", "webhook_id": sub.webhook_id}
    });
    let answer = p.deliver_with(&sub, &body, &[("X-Request-Id", id)]).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some(id),
        "the receiver answers with the id it was given"
    );

    // The envelope carries it.
    let delivery = tokio::time::timeout(PATIENCE, copies.next())
        .await
        .expect("the event is published")
        .expect("stream")
        .expect("delivery");
    let envelope: matterhook_bus::Envelope =
        serde_json::from_slice(&delivery.data).expect("an envelope");
    assert_eq!(envelope.request_id, id);
    assert_eq!(
        delivery
            .properties
            .correlation_id()
            .as_ref()
            .map(|c| c.as_str()),
        Some(id)
    );

    // The worker applied it, in a span carrying the same id.
    let journaled = eventually(|| async {
        let mut conn = p.pool.get().await.ok()?;
        let rows = journal::for_record(&mut conn, matterhook_domain::Model::Contact, contact)
            .await
            .ok()?;
        (!rows.is_empty()).then_some(())
    })
    .await;
    assert_eq!(journaled, Some(()), "the journal worker recorded the event");
    let handled = eventually(|| async {
        logs.lines()
            .into_iter()
            .find(|l| in_span(l, "message", id) && l["fields"]["message"] == "handled")
    })
    .await;
    let handled = handled.expect("the worker's line about the event carries the request id");
    assert_eq!(handled["target"], "matterhook_bus::runtime::process");

    // And the receiver's own line about the request carries it too.
    let received = logs
        .lines()
        .into_iter()
        .find(|l| in_span(l, "request", id) && l["target"] == "matterhook_receiver::delivery");
    assert!(
        received.is_some(),
        "the receiver logged the delivery inside the request's span"
    );
    // Another request gets an id of its own.
    let other = p.deliver(&sub, &body).await;
    let other_id = other
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("an id is made");
    assert_ne!(other_id, id);

    // What happened is counted: the receiver's two accepted deliveries, the worker's two
    // events (the second one a duplicate, acked without a second effect).
    let receiver_metrics = reqwest::get(format!("{}/metrics", p.receiver_url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert_eq!(
        series(
            &receiver_metrics,
            r#"matterhook_receiver_requests_total{outcome="accepted"}"#
        ),
        Some(2.0),
        "{receiver_metrics}"
    );
    let journal_queue = p.names.worker_queue("journal");
    let acked =
        format!(r#"matterhook_queue_messages_total{{queue="{journal_queue}",outcome="acked"}}"#);
    let counted = eventually(|| async {
        (series(&worker.metrics.render(), &acked) == Some(2.0)).then_some(())
    })
    .await;
    assert_eq!(counted, Some(()), "{}", worker.metrics.render());
    let timed = format!(r#"matterhook_handler_seconds_count{{queue="{journal_queue}"}}"#);
    assert_eq!(series(&worker.metrics.render(), &timed), Some(2.0));
    // How long what it took had waited: a figure, whatever it is.
    let lag = format!(r#"matterhook_queue_lag_seconds{{queue="{journal_queue}"}}"#);
    assert!(
        series(&worker.metrics.render(), &lag).is_some_and(|s| s >= 0.0),
        "{}",
        worker.metrics.render()
    );

    worker.stop().await.expect("stops");
    p.stop().await;
}

/// The value of one series in a metrics exposition.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn readiness_names_a_database_that_lacks_the_schema() {
    let empty = TestDb::empty().await.expect("database");
    let pool = matterhook_store::connect_pool(empty.url(), 2).expect("pool");
    let readiness = matterhook_telemetry::Readiness::new()
        .broker(|| true)
        .database(pool);
    assert_eq!(
        readiness.report().await,
        (false, json!({"broker": true, "database": false})),
        "a database without the migrations is not ready"
    );
    matterhook_store::run_migrations(empty.url())
        .await
        .expect("migrate");
    assert_eq!(
        readiness.report().await,
        (true, json!({"broker": true, "database": true}))
    );
    let unreachable = matterhook_store::connect_pool_with(
        "postgres://postgres:postgres@127.0.0.1:1/nowhere",
        matterhook_store::PoolOptions {
            wait_timeout: std::time::Duration::from_millis(500),
            ..matterhook_store::PoolOptions::new(1)
        },
    )
    .expect("pool");
    let (ready, body) = matterhook_telemetry::Readiness::new()
        .database(unreachable)
        .report()
        .await;
    assert_eq!((ready, body), (false, json!({"database": false})));
}

/// The binaries that run for good, with the variable that sets their listener.
/// Each with a series it must show from the start (`{q}` stands for the prefix). The API's
/// readiness is the database's alone (see `matterhook_api::server`).
const SERVICES: [(&str, &str, &str); 11] = [
    (
        "matterhook-receiver",
        "MATTERHOOK_RECEIVER_ADDR",
        r#"matterhook_receiver_requests_total{outcome="accepted"} 0"#,
    ),
    (
        "matterhook-api",
        "MATTERHOOK_API_ADDR",
        r#"matterhook_clio_calls_total{status="rate_limited"} 0"#,
    ),
    (
        "matterhook-worker-journal",
        "MATTERHOOK_HEALTH_ADDR",
        r#"matterhook_queue_messages_total{queue="{q}.journal",outcome="dead_lettered"} 0"#,
    ),
    (
        "matterhook-worker-sync",
        "MATTERHOOK_HEALTH_ADDR",
        r#"matterhook_queue_messages_total{queue="{q}.sync",outcome="consumed"} 0"#,
    ),
    (
        "matterhook-worker-matching",
        "MATTERHOOK_HEALTH_ADDR",
        r#"matterhook_handler_seconds_count{queue="{q}.matching"} 0"#,
    ),
    (
        "matterhook-worker-status",
        "MATTERHOOK_HEALTH_ADDR",
        r#"matterhook_queue_messages_total{queue="{q}.status",outcome="retried"} 0"#,
    ),
    (
        "matterhook-worker-review",
        "MATTERHOOK_HEALTH_ADDR",
        r#"matterhook_queue_messages_total{queue="{q}.review",outcome="acked"} 0"#,
    ),
    (
        "matterhook-worker-crm",
        "MATTERHOOK_HEALTH_ADDR",
        r#"matterhook_queue_messages_total{queue="{q}.crm",outcome="acked"} 0"#,
    ),
    (
        "matterhook-worker-watches",
        "MATTERHOOK_HEALTH_ADDR",
        r#"matterhook_queue_messages_total{queue="{q}.watches",outcome="acked"} 0"#,
    ),
    (
        "matterhook-worker-writeback",
        "MATTERHOOK_HEALTH_ADDR",
        r#"matterhook_writeback_activities_total{outcome="written"} 0"#,
    ),
    (
        "matterhook-scheduler",
        "MATTERHOOK_HEALTH_ADDR",
        "matterhook_scheduler_pass_seconds_count",
    ),
];

#[tokio::test]
async fn every_binary_answers_health_readiness_and_metrics_and_says_what_it_is() {
    let db = TestDb::new().await.expect("database");
    let prefix = format!(
        "mhtest-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let env = [
        ("DATABASE_URL", db.url().to_owned()),
        ("AMQP_URL", amqp_url()),
        ("MATTERHOOK_AMQP_PREFIX", prefix.clone()),
    ];
    let services: Vec<(Service, String)> = SERVICES
        .iter()
        .map(|(name, addr, series)| {
            (
                Service::start(name, addr, &env),
                series.replace("{q}", &prefix),
            )
        })
        .collect();
    let mut budgets = Vec::new();
    for (s, series) in &services {
        let ready = s.ready_is(200).await;
        let expected = if s.name == "matterhook-api" {
            json!({"database": true})
        } else {
            json!({"broker": true, "database": true})
        };
        assert_eq!(ready, Some(expected), "{} is ready", s.name);
        let (status, body) = s.get("/healthz").await.expect("healthz");
        assert_eq!(
            (status, body.as_str()),
            (200, r#"{"status":"ok"}"#),
            "{}",
            s.name
        );
        let (status, metrics) = s.get("/metrics").await.expect("metrics");
        assert_eq!(status, 200, "{}", s.name);
        assert!(
            metrics.lines().any(|l| l.starts_with(series.as_str())) && metrics.ends_with("# EOF\n"),
            "{} shows {series}: {metrics}",
            s.name
        );
        let budget: u32 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("matterhook_db_pool_max_connections "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{} shows its connection budget", s.name));
        budgets.push((s.name, budget));
    }
    drop(services);

    // `make run` (one of each) plus a second replica of every worker fits PostgreSQL's default
    // `max_connections` of 100, with 3 to spare for psql and the CLI.
    let one_of_each: u32 = budgets.iter().map(|(_, b)| b).sum();
    let workers: u32 = budgets
        .iter()
        .filter(|(name, _)| name.starts_with("matterhook-worker-"))
        .map(|(_, b)| b)
        .sum();
    assert!(
        one_of_each + workers <= 97,
        "{one_of_each} + {workers} connections: {budgets:?}"
    );

    // Each says what it is.
    for (name, _, _) in SERVICES {
        let version = Command::new(binary(name))
            .arg("--version")
            .output()
            .expect("runs");
        let version = String::from_utf8_lossy(&version.stdout);
        assert!(
            version.starts_with(&format!("{name} {}", env!("CARGO_PKG_VERSION"))),
            "{version}"
        );
        let help = Command::new(binary(name))
            .arg("--help")
            .output()
            .expect("runs");
        let help = String::from_utf8_lossy(&help.stdout);
        let first = help.lines().next().unwrap_or_default();
        assert!(
            first.split_whitespace().count() >= 6 && !first.contains("command line"),
            "{name} describes itself: {first:?}"
        );
    }

    // The namespace goes with the test.
    let broker = matterhook_bus::connect(&amqp_url(), "telemetry-test")
        .await
        .expect("broker");
    let names = matterhook_bus::topology::Names::new(&prefix);
    delete_namespace(
        &broker,
        &names,
        &[
            "journal",
            "sync",
            "matching",
            "status",
            "review",
            "crm",
            "watches",
            "writeback",
        ],
    )
    .await;
}
