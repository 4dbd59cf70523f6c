//! Activity writeback end to end: activities posted against the mirror of a firm synced from the
//! simulator, checked, stored once per Idempotency-Key, read back; then written to the simulator
//! by the writeback worker (its consumer on the runtime, its writer beside it), exactly once,
//! through lost answers, 429 storms, revoked grants, refusals and replays.

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use clio_sim::{ApiFault, ApiFaultKind, ApiOutage, Kind};
use matterhook_e2e::{
    ingest::{eventually, Worker},
    stack::User,
    sync::Rig,
};
use matterhook_writeback::{WritebackRequests, Writer, WriterConfig};
use serde_json::{json, Value};
use tokio::sync::watch;

/// `POST /api/activities` as `user` with `key` (none: no header): the status and the answer.
async fn post(r: &Rig, user: &User, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request =
        r.s.http
            .post(format!("{}/api/activities", r.s.api_url))
            .bearer_auth(&user.token)
            .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let answer = request.send().await.expect("answer");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or_default())
}

async fn get(r: &Rig, user: &User, path: &str) -> (u16, Value) {
    r.s.api_send(user, reqwest::Method::GET, path, None).await
}

/// Turns writeback on for `connection`, with `section` merged into the `writeback` settings.
async fn enable(r: &Rig, connection: i64, section: Value) {
    let mut writeback = json!({"enabled": true});
    if let (Some(w), Value::Object(more)) = (writeback.as_object_mut(), section) {
        w.extend(more);
    }
    let (status, body) =
        r.s.api_send(
            &r.bob,
            reqwest::Method::PATCH,
            &format!("/api/connections/{connection}/settings"),
            Some(json!({ "writeback": writeback })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn call(r: &Rig, contact: i64) -> Value {
    json!({
        "connection_id": r.id,
        "contact_id": contact,
        "type": "call",
        "subject": "Intake call",
        "body": "Talked through the lease and next steps.",
        "occurred_at": Utc::now() - Duration::minutes(5),
        "direction": "outbound",
    })
}

#[tokio::test]
async fn an_activity_is_stored_once_per_key_and_refusals_store_nothing() {
    let r = Rig::start().await;
    r.baseline().await;
    enable(&r, r.id, json!({})).await;
    let firm = r.s.p.world.firm.clone();
    let contact = firm.contact_ids[0];
    let activity = call(&r, contact);

    let (status, first) = post(&r, &r.bob, Some("call-1"), &activity).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(
        (
            first["state"].as_str(),
            first["type"].as_str(),
            first["contact_id"].as_i64()
        ),
        (Some("queued"), Some("call"), Some(contact))
    );
    // The same key and body, keys in another order: the same activity.
    let reordered: Value = serde_json::from_str(&{
        let mut pairs: Vec<(String, Value)> = activity
            .as_object()
            .expect("object")
            .clone()
            .into_iter()
            .collect();
        pairs.reverse();
        format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{k:?}:{v}"))
                .collect::<Vec<_>>()
                .join(",")
        )
    })
    .expect("json");
    let (status, again) = post(&r, &r.bob, Some("call-1"), &reordered).await;
    assert_eq!((status, &again["id"]), (202, &first["id"]), "{again}");
    // The same key with another body is refused.
    let mut other = activity.clone();
    other["subject"] = json!("Another call");
    let (status, body) = post(&r, &r.bob, Some("call-1"), &other).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("idempotency_key_reused")),
        "{body}"
    );

    // Refusals name what is wrong and store nothing.
    let (status, body) = post(&r, &r.bob, None, &activity).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("idempotency_key_required"))
    );
    let refusals = [
        (json!({"type": "fax"}), 400, "type"),
        (json!({"subject": " "}), 400, "subject"),
        (json!({"body": ""}), 400, "body"),
        (json!({"body": "x".repeat(70_000)}), 400, "body"),
        (
            json!({"occurred_at": Utc::now() + Duration::days(2)}),
            400,
            "occurred_at",
        ),
        (json!({"direction": null}), 400, "direction"),
        (json!({"type": "note"}), 400, "direction"),
        (json!({"colour": "red"}), 400, "colour"),
        (json!({"contact_id": 999_999_999}), 422, "contact_id"),
        (json!({"matter_id": 999_999_999}), 422, "matter_id"),
    ];
    for (i, (change, want_status, field)) in refusals.into_iter().enumerate() {
        let mut bad = activity.clone();
        for (k, v) in change.as_object().expect("object") {
            bad[k] = v.clone();
        }
        let (status, body) = post(&r, &r.bob, Some(&format!("bad-{i}")), &bad).await;
        assert_eq!(status, want_status, "{change}: {body}");
        assert!(
            body["error"].as_str().unwrap_or_default().contains(field),
            "{change}: the answer names {field}: {body}"
        );
    }
    let (status, page) = get(&r, &r.bob, "/api/activities").await;
    assert_eq!(status, 200);
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(1),
        "only the accepted activity is stored: {page}"
    );

    // Read back, listed by contact and state; another user sees none of it.
    let id = first["id"].as_i64().expect("id");
    let (status, shown) = get(&r, &r.bob, &format!("/api/activities/{id}")).await;
    assert_eq!((status, &shown["subject"]), (200, &json!("Intake call")));
    let (_, mine) = get(
        &r,
        &r.bob,
        &format!("/api/activities?contact_id={contact}&state=queued"),
    )
    .await;
    assert_eq!(mine["items"][0]["id"], first["id"], "{mine}");
    let (_, none) = get(&r, &r.bob, "/api/activities?state=written").await;
    assert_eq!(none["items"], json!([]));
    let (status, _) = get(&r, &r.bob, "/api/activities?state=lost").await;
    assert_eq!(status, 400);
    let eve = r.s.user("eve@elsewhere.example").await;
    let (status, _) = get(&r, &eve, &format!("/api/activities/{id}")).await;
    assert_eq!(status, 404);
    let (status, body) = post(&r, &eve, Some("call-1"), &activity).await;
    assert_eq!(status, 404, "not eve's connection: {body}");
    r.stop().await;
}

#[tokio::test]
async fn a_batch_answers_each_activity_on_its_own() {
    let r = Rig::start().await;
    r.baseline().await;
    enable(&r, r.id, json!({})).await;
    let contact = r.s.p.world.firm.contact_ids[0];
    let mut good = call(&r, contact);
    good["idempotency_key"] = json!("batch-good");
    let mut bad = call(&r, contact);
    bad["idempotency_key"] = json!("batch-bad");
    bad["direction"] = json!(null);
    let keyless = call(&r, contact);
    let mut stranger = call(&r, contact);
    stranger["idempotency_key"] = json!("batch-stranger");
    stranger["contact_id"] = json!(999_999_999);
    let (status, answer) =
        r.s.api_send(
            &r.bob,
            reqwest::Method::POST,
            "/api/activities/batch",
            Some(json!({"activities": [good, bad, keyless, stranger, good]})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let statuses: Vec<u64> = answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_u64().unwrap_or_default())
        .collect();
    assert_eq!(statuses, vec![202, 400, 400, 422, 202], "{answer}");
    assert_eq!(
        answer["results"][0]["activity"]["id"], answer["results"][4]["activity"]["id"],
        "the same key twice is one activity"
    );
    assert_eq!(answer["results"][2]["code"], "idempotency_key_required");
    assert_eq!(
        (answer["accepted"].as_u64(), answer["refused"].as_u64()),
        (Some(2), Some(3))
    );
    let (_, page) = get(&r, &r.bob, "/api/activities").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    let too_many = vec![json!({}); 1_001];
    let (status, _) =
        r.s.api_send(
            &r.bob,
            reqwest::Method::POST,
            "/api/activities/batch",
            Some(json!({ "activities": too_many })),
        )
        .await;
    assert_eq!(status, 400);
    r.stop().await;
}

/// The writeback worker as a test runs it: its consumer on the runtime, its writer beside it with
/// quick retries, calling Clio through `connections`.
struct Writing {
    worker: Worker,
    stop: watch::Sender<bool>,
    writer: tokio::task::JoinHandle<()>,
}

impl Writing {
    async fn start(r: &mut Rig, connections: matterhook_connections::Connections) -> Self {
        let writer = Writer::new(
            r.s.p.pool.clone(),
            connections,
            WriterConfig {
                max_attempts: 3,
                backoff: StdDuration::from_millis(20),
                max_backoff: StdDuration::from_millis(100),
                idle: StdDuration::from_millis(50),
                queue: r.s.p.names.worker_queue(matterhook_writeback::WORKER),
                ..WriterConfig::default()
            },
        );
        let worker =
            r.s.p
                .start_worker(
                    WritebackRequests {
                        wake: writer.waker(),
                    },
                    3,
                )
                .await;
        let (stop, mut stopped) = watch::channel(false);
        let writer = tokio::spawn(async move {
            writer
                .run(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        Self {
            worker,
            stop,
            writer,
        }
    }

    /// The worker with the stack's own Clio client, pacing waits capped at five seconds.
    async fn standard(r: &mut Rig) -> Self {
        let connections =
            r.s.process_with(|c| c.max_pacing_wait = StdDuration::from_secs(5));
        Self::start(r, connections).await
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        self.writer.await.expect("writer stops");
        self.worker.stop().await.expect("consumer stops");
    }
}

/// An activity of `kind` on `contact` through `connection`.
fn activity(connection: i64, contact: i64, kind: &str, direction: Option<&str>) -> Value {
    let mut a = json!({
        "connection_id": connection,
        "contact_id": contact,
        "type": kind,
        "subject": format!("About the {kind}"),
        "body": format!("The {kind}'s own words."),
        "occurred_at": Utc::now() - Duration::hours(1),
    });
    if let Some(d) = direction {
        a["direction"] = json!(d);
    }
    a
}

/// Posts `body` as `user` under `key`, expecting it accepted: the activity.
async fn accepted(r: &Rig, user: &User, key: &str, body: &Value) -> Value {
    let (status, answer) = post(r, user, Some(key), body).await;
    assert_eq!(status, 202, "{answer}");
    answer
}

/// Waits until the activity leaves `queued` (or, with `parked`, until it waits for a reconnect).
async fn settled(r: &Rig, user: &User, activity: &Value) -> Value {
    let id = activity["id"].as_i64().expect("id");
    eventually(|| async {
        let (_, shown) = get(r, user, &format!("/api/activities/{id}")).await;
        (shown["state"] != "queued").then_some(shown)
    })
    .await
    .unwrap_or_else(|| panic!("activity {id} settles"))
}

/// The simulator's notes and communications carrying activity `id`'s marker.
fn records_of(r: &Rig, id: i64) -> Vec<(Kind, i64, Value)> {
    let marker = matterhook_domain::activity::marker(id);
    let sim = &r.s.p.world.sim;
    let account = r.s.p.world.firm.account_id;
    let mut found = Vec::new();
    for (kind, text) in [(Kind::Note, "detail"), (Kind::Communication, "body")] {
        for (rid, rec) in sim.records(kind, account) {
            if rec[text].as_str().is_some_and(|t| t.ends_with(&marker)) {
                found.push((kind, rid, rec));
            }
        }
    }
    found
}

#[tokio::test]
async fn each_type_lands_where_the_mapping_says_once_and_settings_keep_the_rest_out() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let writing = Writing::standard(&mut r).await;
    let firm = r.s.p.world.firm.clone();
    let contact = firm.contact_ids[0];
    let (id, bob) = (r.id, &r.bob);

    // Writeback is off until turned on: what is posted is kept, skipped, and never written.
    let before = accepted(&r, bob, "off-1", &activity(id, contact, "note", None)).await;
    assert_eq!(before["state"], "skipped", "{before}");
    assert!(before["reason"]
        .as_str()
        .is_some_and(|r| r.contains("writeback is turned off")));

    enable(&r, id, json!({"subjects": {"call": "Phone call"}})).await;
    let posted = [
        ("email", Some("inbound")),
        ("note", None),
        ("call", Some("outbound")),
        ("card", None),
        ("text", Some("inbound")),
    ];
    let mut written = Vec::new();
    let mut bodies = Vec::new();
    for (kind, direction) in posted {
        let body = activity(id, contact, kind, direction);
        let a = accepted(&r, bob, &format!("type-{kind}"), &body).await;
        bodies.push(body);
        assert_eq!(a["state"], "queued", "{a}");
        written.push((kind, settled(&r, bob, &a).await));
    }
    for (kind, a) in &written {
        assert_eq!(a["state"], "written", "{a}");
        let aid = a["id"].as_i64().expect("id");
        let records = records_of(&r, aid);
        assert_eq!(
            records.len(),
            1,
            "{kind}: exactly one record in Clio: {records:?}"
        );
        let (record_kind, clio_id, rec) = &records[0];
        assert_eq!(a["clio_id"].as_i64(), Some(*clio_id), "{a}");
        if *kind == "text" {
            assert_eq!(
                (*record_kind, a["clio_record"].as_str()),
                (Kind::Communication, Some("communication"))
            );
            assert_eq!(rec["type"], "PhoneCommunication");
            // Inbound: the contact sent it to the connection's Clio user.
            assert_eq!(rec["senders"], json!([{"id": contact, "type": "Contact"}]));
            assert_eq!(
                rec["receivers"],
                json!([{"id": firm.attorney_id, "type": "User"}])
            );
            assert!(rec["body"]
                .as_str()
                .is_some_and(|b| b.starts_with("The text's own words.")));
        } else {
            assert_eq!(
                (*record_kind, a["clio_record"].as_str()),
                (Kind::Note, Some("note"))
            );
            assert_eq!(rec["type"], "Contact");
            assert_eq!(rec["contact"]["id"], json!(contact));
            let line = if *kind == "call" {
                "Phone call".to_owned()
            } else {
                let mut c = kind.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            };
            assert_eq!(rec["subject"], json!(format!("{line}: About the {kind}")));
            assert!(rec["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with(&format!("The {kind}'s own words."))));
            assert!(rec["date"].is_string(), "{rec}");
        }
    }

    // Posting again with the same key writes nothing more.
    let again = accepted(&r, bob, "type-note", &bodies[1]).await;
    assert_eq!(again["id"], written[1].1["id"]);
    assert_eq!(records_of(&r, again["id"].as_i64().expect("id")).len(), 1);

    // A type turned off is skipped, with the reason.
    enable(&r, id, json!({"types": ["email", "note", "call", "text"]})).await;
    let card = accepted(&r, bob, "card-off", &activity(id, contact, "card", None)).await;
    assert_eq!(card["state"], "skipped", "{card}");
    assert!(
        card["reason"].as_str().is_some_and(|r| r.contains("card")),
        "{card}"
    );

    let notes = r.s.p.world.sim.count(Kind::Note, firm.account_id);
    assert_eq!(notes, 4, "four notes, nothing for the skipped ones");
    for skipped in [&before, &card] {
        assert!(records_of(&r, skipped["id"].as_i64().expect("id")).is_empty());
    }
    writing.stop().await;
    r.stop().await;
}

#[tokio::test]
async fn a_lost_answer_is_found_by_its_marker_and_makes_one_note() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let connections = r.s.process_with(|c| {
        c.timeout = StdDuration::from_millis(500);
        c.max_pacing_wait = StdDuration::from_secs(5);
    });
    enable(&r, r.id, json!({})).await;
    // The note is written, and its answer never comes.
    r.s.p.world.sim.inject_fault(ApiFault {
        kind: ApiFaultKind::DropAnswer,
        count: 1,
        token: None,
        retry_after_secs: 1,
        after: 0,
    });
    let writing = Writing::start(&mut r, connections).await;
    let contact = r.s.p.world.firm.contact_ids[0];
    let a = accepted(&r, &r.bob, "lost-1", &activity(r.id, contact, "note", None)).await;
    let done = settled(&r, &r.bob, &a).await;
    assert_eq!(done["state"], "written", "{done}");
    let records = records_of(&r, a["id"].as_i64().expect("id"));
    assert_eq!(records.len(), 1, "one note, not two: {records:?}");
    assert_eq!(
        done["clio_id"].as_i64(),
        Some(records[0].1),
        "the lost note was adopted"
    );
    writing.stop().await;
    r.stop().await;
}

#[tokio::test]
async fn a_429_storm_on_one_token_leaves_another_tokens_writes_on_time() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let firm = r.s.p.world.firm.clone();
    let alice = r.s.user("paula.partner@hartleyfinch.example").await;
    let (_, answer) = r.s.connect_as(&alice, firm.partner_id, "allow").await;
    assert_eq!(answer.status(), 200);
    let alice_connection = answer.json::<Value>().await.expect("json")["connection_id"]
        .as_i64()
        .expect("connection id");
    r.s.wait_enabled(alice_connection).await;
    enable(&r, r.id, json!({})).await;
    let (status, body) =
        r.s.api_send(
            &alice,
            reqwest::Method::PATCH,
            &format!("/api/connections/{alice_connection}/settings"),
            Some(json!({"writeback": {"enabled": true}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Every call with Bob's token is refused with a 429 for a minute.
    let bobs_token = r.access_token(r.id).await;
    let calls_before = r.s.p.world.sim.calls_for(&bobs_token).total;
    r.s.p.world.sim.inject_outage(ApiOutage {
        kind: ApiFaultKind::RateLimit,
        for_ms: 60_000,
        token: Some(bobs_token.clone()),
        retry_after_secs: 30,
    });
    let writing = Writing::standard(&mut r).await;
    let contact = firm.contact_ids[0];
    let mut bobs = Vec::new();
    let mut alices = Vec::new();
    for i in 0..3 {
        bobs.push(
            accepted(
                &r,
                &r.bob,
                &format!("bob-{i}"),
                &activity(r.id, contact, "note", None),
            )
            .await,
        );
        alices.push(
            accepted(
                &r,
                &alice,
                &format!("alice-{i}"),
                &activity(alice_connection, contact, "note", None),
            )
            .await,
        );
    }
    for a in &alices {
        let done = settled(&r, &alice, a).await;
        assert_eq!(
            done["state"], "written",
            "Alice's writes are not held up: {done}"
        );
    }
    // Bob's wait for Clio's Retry-After, queued, without using up their attempts.
    let bob_id = bobs[0]["id"].as_i64().expect("id");
    let waiting = eventually(|| async {
        let (_, shown) = get(&r, &r.bob, &format!("/api/activities/{bob_id}")).await;
        shown["reason"]
            .as_str()
            .is_some_and(|m| m.contains("rate limited"))
            .then_some(shown)
    })
    .await
    .expect("Bob's activity waits for the 429's Retry-After");
    assert_eq!(waiting["state"], "queued", "{waiting}");
    for a in &bobs {
        assert!(records_of(&r, a["id"].as_i64().expect("id")).is_empty());
    }
    let refused = r.s.p.world.sim.calls_for(&bobs_token).total - calls_before;
    assert!(
        refused <= 4,
        "Bob's token is not hammered through its storm: {refused} calls"
    );
    writing.stop().await;
    r.stop().await;
}

#[tokio::test]
async fn a_revoked_grant_parks_the_activities_and_reconnecting_writes_them() {
    let mut r = Rig::start().await;
    r.baseline().await;
    enable(&r, r.id, json!({})).await;
    let firm = r.s.p.world.firm.clone();
    r.s.p.world.sim.revoke_grants_of(firm.attorney_id);
    let writing = Writing::standard(&mut r).await;
    let contact = firm.contact_ids[0];
    let posted = [
        accepted(
            &r,
            &r.bob,
            "parked-1",
            &activity(r.id, contact, "note", None),
        )
        .await,
        accepted(
            &r,
            &r.bob,
            "parked-2",
            &activity(r.id, contact, "call", Some("inbound")),
        )
        .await,
    ];
    for a in &posted {
        let id = a["id"].as_i64().expect("id");
        let parked = eventually(|| async {
            let (_, shown) = get(&r, &r.bob, &format!("/api/activities/{id}")).await;
            shown["dead_letter_id"].is_i64().then_some(shown)
        })
        .await
        .expect("parked");
        assert_eq!(parked["state"], "queued", "{parked}");
        assert!(
            parked["reason"]
                .as_str()
                .is_some_and(|m| m.contains("connect to Clio again")),
            "{parked}"
        );
        assert!(records_of(&r, id).is_empty());
    }
    // Reconnecting sends the parked work back: each is written, once.
    assert_eq!(r.s.connect(&r.bob).await, r.id);
    for a in &posted {
        let done = settled(&r, &r.bob, a).await;
        assert_eq!(done["state"], "written", "{done}");
        assert_eq!(records_of(&r, a["id"].as_i64().expect("id")).len(), 1);
    }
    writing.stop().await;
    r.stop().await;
}

#[tokio::test]
async fn a_deleted_contact_fails_with_its_reason_and_a_replayed_dead_letter_writes_once() {
    let mut r = Rig::start().await;
    r.baseline().await;
    enable(&r, r.id, json!({})).await;
    let writing = Writing::standard(&mut r).await;
    let firm = r.s.p.world.firm.clone();

    // Deleted in Clio, still in the mirror: Clio's refusal is the activity's reason, at once.
    let gone = firm.contact_ids[1];
    r.s.p
        .world
        .sim
        .delete(Kind::Contact, gone)
        .expect("deleted");
    let a = accepted(&r, &r.bob, "gone-1", &activity(r.id, gone, "note", None)).await;
    let failed = settled(&r, &r.bob, &a).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["reason"]
            .as_str()
            .is_some_and(|m| m.contains("does not exist")),
        "{failed}"
    );
    assert!(failed["dead_letter_id"].is_i64(), "{failed}");

    // Clio failing every try: given up on after the last attempt, with a dead letter.
    r.s.p.world.sim.inject_fault(ApiFault {
        kind: ApiFaultKind::ServerError,
        count: 3,
        token: None,
        retry_after_secs: 1,
        after: 0,
    });
    let contact = firm.contact_ids[0];
    let b = accepted(
        &r,
        &r.bob,
        "outage-1",
        &activity(r.id, contact, "note", None),
    )
    .await;
    let failed = settled(&r, &r.bob, &b).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["reason"]
            .as_str()
            .is_some_and(|m| m.contains("gave up after 3 attempts")),
        "{failed}"
    );
    let letter = failed["dead_letter_id"].as_i64().expect("a dead letter");
    let bid = b["id"].as_i64().expect("id");
    assert!(records_of(&r, bid).is_empty());

    // Support replays it: written once; replaying it again writes nothing more.
    for again in [false, true] {
        matterhook_bus::dead_letters::replay(
            &r.s.p.pool,
            &r.s.p.publisher,
            &matterhook_bus::dead_letters::Selection::Ids(vec![letter]),
            "support@example.com",
            again,
            |_| {},
        )
        .await
        .expect("replayed");
        let done = eventually(|| async {
            let (_, shown) = get(&r, &r.bob, &format!("/api/activities/{bid}")).await;
            (shown["state"] == "written").then_some(shown)
        })
        .await
        .expect("written after the replay");
        assert_eq!(done["dead_letter_id"].as_i64(), Some(letter));
        assert_eq!(records_of(&r, bid).len(), 1, "one note after {again:?}");
    }
    writing.stop().await;
    r.stop().await;
}
