//! The ingest pipeline end to end: the simulator delivers to the real receiver, which publishes
//! to RabbitMQ; workers on the real runtime apply events to PostgreSQL.

use matterhook_domain::Model;
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc,
    },
    time::Duration,
};

use clio_sim::{DeliveryFault, DeliveryFaultKind, Kind};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_bus::{
    dead_letters::{replay, Selection},
    Envelope, Handler, HandlerError,
};
use matterhook_e2e::ingest::{eventually, Pipeline};
use matterhook_store::{journal, schema};
use matterhook_workers::journal::Journal;
use serde_json::json;

async fn journal_count(p: &Pipeline) -> i64 {
    let mut conn = p.pool.get().await.expect("conn");
    journal::count(&mut conn).await.expect("count")
}

/// The first dead letter recorded, once there is one.
async fn first_dead_letter(p: &Pipeline) -> Option<matterhook_store::dead_letters::DeadLetter> {
    eventually(|| async {
        let mut conn = p.pool.get().await.ok()?;
        let rows = matterhook_store::dead_letters::list(&mut conn, &Default::default(), 0, 10)
            .await
            .ok()?;
        rows.into_iter().next()
    })
    .await
}

async fn record(envelope: &Envelope, conn: &mut AsyncPgConnection) -> Result<(), HandlerError> {
    Journal.handle(envelope, conn).await
}

/// Fails transiently a set number of times, then records the event.
struct Flaky {
    failures_left: AtomicU32,
    calls: Arc<AtomicU32>,
}

impl Handler for Flaky {
    const NAME: &'static str = "flaky";
    fn routing_keys(&self) -> Vec<String> {
        matterhook_bus::all_clio_bindings()
    }
    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(HandlerError::transient("Clio answered 503"));
        }
        record(envelope, conn).await
    }
}

/// Fails until fixed.
struct Poison {
    fixed: Arc<AtomicBool>,
}

impl Handler for Poison {
    const NAME: &'static str = "poison";
    fn routing_keys(&self) -> Vec<String> {
        matterhook_bus::clio_bindings(matterhook_domain::Model::Contact)
    }
    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        // The effect is written first, so a failure after it proves the rollback.
        record(envelope, conn).await?;
        if AtomicBool::load(&self.fixed, Ordering::SeqCst) {
            Ok(())
        } else {
            Err(HandlerError::transient(std::io::Error::other(
                "upstream refused: contact is locked",
            )))
        }
    }
}

/// Panics on its first call.
struct Panicky {
    calls: AtomicU32,
}

impl Handler for Panicky {
    const NAME: &'static str = "panicky";
    fn routing_keys(&self) -> Vec<String> {
        matterhook_bus::all_clio_bindings()
    }
    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        assert!(
            self.calls.fetch_add(1, Ordering::SeqCst) > 0,
            "a bug on the first call"
        );
        record(envelope, conn).await
    }
}

/// Holds each message until released.
struct Slow {
    entered: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
}

impl Handler for Slow {
    const NAME: &'static str = "slow";
    fn routing_keys(&self) -> Vec<String> {
        matterhook_bus::all_clio_bindings()
    }
    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        self.entered.notify_one();
        self.release.notified().await;
        record(envelope, conn).await
    }
}

/// Applies contact events up to 16 to a transaction; contact 666 is refused for good.
struct Batched {
    batches: Arc<std::sync::Mutex<Vec<usize>>>,
}

impl Handler for Batched {
    const NAME: &'static str = "batched";
    const BATCH: usize = 16;
    fn routing_keys(&self) -> Vec<String> {
        matterhook_bus::clio_bindings(Model::Contact)
    }
    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        // The effect first, so the refusal proves the batch's rollback.
        record(envelope, conn).await?;
        if envelope.clio()?.record_id.map(|id| id.get()) == Some(666) {
            return Err(HandlerError::permanent("contact 666 is refused"));
        }
        Ok(())
    }
    async fn handle_batch(
        &self,
        envelopes: Vec<&Envelope>,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        self.batches.lock().expect("batches").push(envelopes.len());
        for envelope in envelopes {
            self.handle(envelope, conn).await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn deliveries_waiting_together_share_a_transaction_and_a_bad_one_fails_alone() {
    let mut p = Pipeline::start().await;
    let sub = p.subscribe("contact", &["updated"], "id,name").await;
    let batches = Arc::new(std::sync::Mutex::new(Vec::new()));
    let handler = || Batched {
        batches: batches.clone(),
    };
    // The queue exists; the worker is away while 40 deliveries wait in it.
    let worker = p.start_worker_on(handler(), 3, p.pool.clone(), 32).await;
    worker.stop().await.expect("stops");
    let ids: Vec<i64> = (1..=38).chain([666, 7]).collect();
    for id in &ids {
        let body = json!({"data": {"id": id, "etag": format!("\"{id}\"")}, "meta": {"event": "updated", "webhook_id": sub.webhook_id}});
        assert_eq!(p.deliver(&sub, &body).await.status(), 200);
    }
    let worker = p.start_worker_on(handler(), 3, p.pool.clone(), 32).await;

    let letter = first_dead_letter(&p)
        .await
        .expect("the refused delivery is dead-lettered");
    assert!(letter.error.contains("contact 666"), "{}", letter.error);
    assert_eq!(
        letter.envelope["event"]["record_id"],
        json!(666),
        "{:#}",
        letter.envelope
    );
    p.stop_when_idle(worker, handler).await;

    let mut conn = p.pool.get().await.expect("conn");
    let mut applied = Vec::new();
    for id in 1..=38 {
        let rows = journal::for_record(&mut conn, Model::Contact, id)
            .await
            .expect("journal");
        applied.push(rows.len());
    }
    assert_eq!(
        applied,
        vec![1; 38],
        "every good delivery applied once (contact 7 was delivered twice), none lost with the bad one's batch"
    );
    let refused = journal::for_record(&mut conn, Model::Contact, 666)
        .await
        .expect("journal");
    assert!(
        refused.is_empty(),
        "the refused delivery's effect rolled back"
    );
    let dead = matterhook_store::dead_letters::count(&mut conn, &Default::default())
        .await
        .expect("count");
    assert_eq!(dead, 1, "only the bad delivery is dead-lettered");
    let batches = batches.lock().expect("batches").clone();
    assert!(
        batches.iter().any(|&n| n > 1) && batches.iter().all(|&n| n <= 16),
        "deliveries that waited together were applied together, 16 at most: {batches:?}"
    );
    drop(conn);
    p.stop().await;
}

#[tokio::test]
async fn a_clio_change_reaches_the_worker_once_even_when_delivered_twice() {
    let mut p = Pipeline::start().await;
    let sub = p.subscribe("contact", &["updated"], "id,etag,name").await;
    let worker = p.start_worker(Journal, 6).await;
    let jane = p.world.firm.contact_ids[1];

    p.world.sim.inject_delivery_fault(DeliveryFault {
        kind: DeliveryFaultKind::Duplicate,
        count: 1,
        delay_ms: 0,
    });
    p.world
        .sim
        .update(Kind::Contact, jane, json!({"first_name": "Janet"}))
        .expect("update");
    let delivered = p
        .world
        .sim
        .wait_until(matterhook_e2e::PATIENCE, |s| {
            let done: Vec<_> = s
                .deliveries()
                .into_iter()
                .filter(|d| {
                    d.webhook_id == sub.webhook_id
                        && d.event != "handshake"
                        && d.outcome == "delivered"
                })
                .collect();
            (done.len() == 2).then_some(done)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "both copies were accepted with 200: {:#?}",
                p.world
                    .sim
                    .deliveries()
                    .iter()
                    .filter(|d| d.webhook_id == sub.webhook_id)
                    .map(|d| (
                        d.outcome.clone(),
                        d.attempts.iter().map(|a| a.status).collect::<Vec<_>>()
                    ))
                    .collect::<Vec<_>>()
            )
        });
    assert!(delivered
        .iter()
        .all(|d| d.attempts.last().and_then(|a| a.status) == Some(200)));

    eventually(|| async {
        let mut conn = p.pool.get().await.ok()?;
        let rows = journal::for_record(&mut conn, Model::Contact, jane)
            .await
            .ok()?;
        (!rows.is_empty()).then_some(())
    })
    .await
    .expect("the worker recorded the event");
    // Both copies were in the queue before their 200s: once the worker is idle, both were handled.
    p.stop_when_idle(worker, || Journal).await;
    let mut conn = p.pool.get().await.expect("conn");
    let entries = journal::for_record(&mut conn, Model::Contact, jane)
        .await
        .expect("journal");
    assert_eq!(entries.len(), 1, "two deliveries, one effect");
    let dead = matterhook_store::dead_letters::count(&mut conn, &Default::default())
        .await
        .expect("count");
    assert_eq!(dead, 0, "the copy was skipped, not failed");
    drop(conn);
    assert_eq!(
        (
            entries[0].event.as_str(),
            entries[0].subscription_id,
            entries[0].connection_id
        ),
        ("updated", sub.id, p.connection_id)
    );
    p.stop().await;
}

#[tokio::test]
async fn every_bad_request_is_refused_with_its_status_and_publishes_nothing() {
    let mut p = Pipeline::start().await;
    let sub = p
        .subscribe("matter", &["updated", "matter_closed"], "id,status")
        .await;
    let worker = p.start_worker(Journal, 6).await;
    let http = reqwest::Client::new();
    let url = format!("{}/webhooks/clio/{}", p.receiver_url, sub.token);
    let good = json!({"data": {"id": 5, "etag": "\"e\""}, "meta": {"event": "updated", "webhook_id": sub.webhook_id}});

    // A second handshake is refused and changes nothing.
    let again = http
        .post(&url)
        .header("X-Hook-Secret", "attacker-chosen")
        .send()
        .await
        .expect("answer");
    assert_eq!(again.status(), 403);
    assert_eq!(
        p.deliver(&sub, &good).await.status(),
        200,
        "the original secret still verifies"
    );

    let malformed = http
        .post(format!("{}/webhooks/clio/short", p.receiver_url))
        .send()
        .await
        .expect("answer");
    assert_eq!(malformed.status(), 404);
    let unknown = http
        .post(format!(
            "{}/webhooks/clio/{}",
            p.receiver_url,
            matterhook_crypto::random_token(32)
        ))
        .send()
        .await
        .expect("answer");
    assert_eq!(unknown.status(), 404);
    // A webhook URL takes POST only; nothing lives below it.
    let got = http.get(&url).send().await.expect("answer");
    assert_eq!(got.status(), 405);
    assert_eq!(
        got.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let deeper = http
        .post(format!("{url}/more"))
        .send()
        .await
        .expect("answer");
    assert_eq!(deeper.status(), 404);

    let body = good.to_string();
    let unsigned = http
        .post(&url)
        .body(body.clone())
        .send()
        .await
        .expect("answer");
    assert_eq!(unsigned.status(), 401);
    let forged = http
        .post(&url)
        .header("X-Hook-Signature", clio_sim::sign("wrong", body.as_bytes()))
        .body(body)
        .send()
        .await
        .expect("answer");
    assert_eq!(forged.status(), 401);

    let cases = [
        (
            json!({"data": [], "meta": {"event": "updated", "webhook_id": sub.webhook_id}}),
            400,
        ),
        (
            json!({"meta": {"event": "updated", "webhook_id": sub.webhook_id}}),
            400,
        ),
        (
            json!({"data": {"id": 5}, "meta": {"event": "updated", "webhook_id": sub.webhook_id + 1}}),
            422,
        ),
        (
            json!({"data": {"id": 5}, "meta": {"event": "deleted", "webhook_id": sub.webhook_id}}),
            422,
        ),
    ];
    for (body, status) in cases {
        assert_eq!(
            p.deliver(&sub, &body).await.status().as_u16(),
            status,
            "{body}"
        );
    }
    let huge = json!({"data": {"id": 5, "blob": "x".repeat(1024 * 1024)}, "meta": {"event": "updated", "webhook_id": sub.webhook_id}});
    assert_eq!(p.deliver(&sub, &huge).await.status(), 413);

    // Only the one good delivery was published and applied.
    let one = eventually(|| async { (journal_count(&p).await == 1).then_some(()) }).await;
    assert!(one.is_some());

    // Health and metrics report what happened.
    assert_eq!(
        http.get(format!("{}/healthz", p.receiver_url))
            .send()
            .await
            .expect("healthz")
            .status(),
        200
    );
    let ready: serde_json::Value = http
        .get(format!("{}/readyz", p.receiver_url))
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    assert_eq!(ready, json!({"broker": true, "database": true}));
    let metrics = http
        .get(format!("{}/metrics", p.receiver_url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let count = |outcome: &str| -> u64 {
        let prefix = format!("matterhook_receiver_requests_total{{outcome=\"{outcome}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.parse().ok())
            .expect("metric present")
    };
    assert_eq!(
        (count("accepted"), count("refused"), count("handshake")),
        (1, 11, 1),
        "{metrics}"
    );
    assert!(
        metrics.contains("matterhook_receiver_publish_seconds_count 1"),
        "{metrics}"
    );

    // A deleted subscription answers 410 within seconds (the receiver's cache lives 5 s).
    {
        let mut conn = p.pool.get().await.expect("conn");
        matterhook_store::subscriptions::mark_deleted(&mut conn, sub.id, "test")
            .await
            .expect("delete");
    }
    let gone =
        eventually(|| async { (p.deliver(&sub, &good).await.status() == 410).then_some(()) }).await;
    assert!(gone.is_some(), "410 once the deletion is seen");
    assert_eq!(journal_count(&p).await, 1);

    worker.stop().await.expect("clean stop");
    p.stop().await;
}

#[tokio::test]
async fn an_event_no_queue_would_keep_is_answered_503_so_clio_retries() {
    let p = Pipeline::start().await;
    let sub = p.subscribe("bill", &["updated"], "id,state").await;
    // No worker has declared a queue: the broker would drop the message.
    let answer = p
        .deliver(
            &sub,
            &json!({"data": {"id": 9}, "meta": {"event": "updated", "webhook_id": sub.webhook_id}}),
        )
        .await;
    assert_eq!(answer.status(), 503);
    assert_eq!(
        answer
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    p.stop().await;
}

#[tokio::test]
async fn a_handler_that_fails_twice_then_succeeds_has_one_effect() {
    let mut p = Pipeline::start().await;
    let sub = p.subscribe("contact", &["updated"], "id,name").await;
    let calls = Arc::new(AtomicU32::new(0));
    let worker = p
        .start_worker(
            Flaky {
                failures_left: AtomicU32::new(2),
                calls: calls.clone(),
            },
            6,
        )
        .await;
    assert_eq!(
        p.deliver(
            &sub,
            &json!({"data": {"id": 77}, "meta": {"event": "updated", "webhook_id": sub.webhook_id}})
        )
        .await
        .status(),
        200
    );

    let done = eventually(|| async { (journal_count(&p).await == 1).then_some(()) }).await;
    assert!(done.is_some(), "retried until it succeeded");
    assert_eq!(AtomicU32::load(&calls, Ordering::SeqCst), 3);
    let mut conn = p.pool.get().await.expect("conn");
    let marks: i64 = schema::processed_events::table
        .filter(schema::processed_events::consumer.eq("flaky"))
        .count()
        .get_result(&mut conn)
        .await
        .expect("count");
    assert_eq!(marks, 1);
    worker.stop().await.expect("clean stop");
    p.stop().await;
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_then_replayed_once_after_the_fix() {
    let mut p = Pipeline::start().await;
    let sub = p.subscribe("contact", &["updated"], "id,name").await;
    let fixed = Arc::new(AtomicBool::new(false));
    let worker = p
        .start_worker(
            Poison {
                fixed: fixed.clone(),
            },
            3,
        )
        .await;
    let body = json!({"data": {"id": 4242, "etag": "\"p\""}, "meta": {"event": "updated", "webhook_id": sub.webhook_id}});
    assert_eq!(p.deliver(&sub, &body).await.status(), 200);

    let letter = first_dead_letter(&p).await.expect("dead-lettered");
    assert_eq!(
        (
            letter.queue.as_str(),
            letter.reason.as_str(),
            letter.attempts
        ),
        (
            p.names.worker_queue("poison").as_str(),
            "attempts exhausted",
            3
        )
    );
    assert!(
        letter.error.contains("contact is locked"),
        "{}",
        letter.error
    );
    assert!(letter.first_failed_at <= letter.last_failed_at);
    assert_eq!(
        (letter.model.map(Model::as_str), letter.connection_id),
        (Some("contact"), Some(p.connection_id))
    );
    assert_eq!(
        journal_count(&p).await,
        0,
        "every failed attempt rolled back its effect"
    );

    fixed.store(true, Ordering::SeqCst);
    let selection = Selection::Ids(vec![letter.id]);
    let report = replay(
        &p.pool,
        &p.publisher,
        &selection,
        "support@example.com",
        false,
        |_| {},
    )
    .await
    .expect("replay");
    assert_eq!((report.matched, report.done, report.skipped), (1, 1, 0));
    let applied = eventually(|| async { (journal_count(&p).await == 1).then_some(()) }).await;
    assert!(applied.is_some(), "the replay applied once");

    let again = replay(
        &p.pool,
        &p.publisher,
        &selection,
        "support@example.com",
        false,
        |_| {},
    )
    .await
    .expect("replay again");
    assert_eq!(
        (again.done, again.skipped),
        (0, 1),
        "a row is replayed once unless asked again"
    );
    let mut conn = p.pool.get().await.expect("conn");
    let row = matterhook_store::dead_letters::by_ids(&mut conn, &[letter.id])
        .await
        .expect("row")
        .remove(0);
    assert_eq!(
        (
            row.state.as_str(),
            row.replays,
            row.state_changed_by.as_deref()
        ),
        ("replayed", 1, Some("support@example.com"))
    );
    let actions: i64 = schema::dead_letter_actions::table
        .count()
        .get_result(&mut conn)
        .await
        .expect("actions");
    assert_eq!(actions, 2, "every replay is recorded");

    // With --again it goes once more, and idempotency keeps the effect single.
    let forced = replay(
        &p.pool,
        &p.publisher,
        &selection,
        "support@example.com",
        true,
        |_| {},
    )
    .await
    .expect("forced");
    assert_eq!(forced.done, 1);
    p.stop_when_idle(worker, || Poison {
        fixed: fixed.clone(),
    })
    .await;
    assert_eq!(
        journal_count(&p).await,
        1,
        "the forced replay had no second effect"
    );
    p.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_is_retried_and_the_worker_lives_on() {
    let mut p = Pipeline::start().await;
    let sub = p.subscribe("contact", &["updated"], "id").await;
    let worker = p
        .start_worker(
            Panicky {
                calls: AtomicU32::new(0),
            },
            6,
        )
        .await;
    assert_eq!(
        p.deliver(
            &sub,
            &json!({"data": {"id": 1}, "meta": {"event": "updated", "webhook_id": sub.webhook_id}})
        )
        .await
        .status(),
        200
    );
    let done = eventually(|| async { (journal_count(&p).await == 1).then_some(()) }).await;
    assert!(done.is_some());
    assert!(
        !worker.is_finished(),
        "a panic is a failed message, not a crash"
    );
    worker.stop().await.expect("clean stop");
    p.stop().await;
}

#[tokio::test]
async fn stopping_finishes_the_message_in_flight_then_exits_cleanly() {
    let mut p = Pipeline::start().await;
    let sub = p.subscribe("contact", &["updated"], "id").await;
    let (entered, release) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let worker = p
        .start_worker(
            Slow {
                entered: entered.clone(),
                release: release.clone(),
            },
            6,
        )
        .await;
    assert_eq!(
        p.deliver(
            &sub,
            &json!({"data": {"id": 3}, "meta": {"event": "updated", "webhook_id": sub.webhook_id}})
        )
        .await
        .status(),
        200
    );
    entered.notified().await;

    let mut stopping = tokio::spawn(worker.stop());
    let early = tokio::time::timeout(Duration::from_millis(300), &mut stopping).await;
    assert!(early.is_err(), "the worker waits for the message in flight");
    release.notify_one();
    stopping.await.expect("task").expect("exits cleanly");

    assert_eq!(
        journal_count(&p).await,
        1,
        "the in-flight message was committed"
    );
    assert_eq!(
        p.queue_depth(&p.names.worker_queue("slow"))
            .await
            .expect("queue"),
        0,
        "and acked: nothing waits to be redelivered"
    );
    p.stop().await;
}

#[tokio::test]
async fn a_delivery_before_the_webhook_id_is_known_is_retried_not_refused() {
    let p = Pipeline::start().await;
    let token = matterhook_crypto::random_token(32);
    {
        let mut conn = p.pool.get().await.expect("conn");
        matterhook_store::subscriptions::insert(
            &mut conn,
            &matterhook_store::subscriptions::NewSubscription {
                token: token.clone(),
                connection_id: p.connection_id,
                model: Model::Contact,
                events: vec!["updated".into()],
                fields: "id".into(),
                public_url: p.receiver_url.clone(),
            },
        )
        .await
        .expect("row");
    }
    let url = format!("{}/webhooks/clio/{token}", p.receiver_url);
    let http = reqwest::Client::new();
    let handshake = http
        .post(&url)
        .header("X-Hook-Secret", "s3cret")
        .send()
        .await
        .expect("handshake");
    assert_eq!(
        handshake
            .headers()
            .get("x-hook-secret")
            .and_then(|v| v.to_str().ok()),
        Some("s3cret")
    );
    // Clio's create call has not answered yet, so we do not know its webhook id.
    let body =
        json!({"data": {"id": 1}, "meta": {"event": "updated", "webhook_id": 99}}).to_string();
    let early = http
        .post(&url)
        .header(
            "X-Hook-Signature",
            clio_sim::sign("s3cret", body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .expect("delivery");
    assert_eq!(
        early.status(),
        503,
        "Clio retries a 503; a 422 would drop the event"
    );
    p.stop().await;
}
