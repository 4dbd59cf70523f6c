//! Activity writeback's API end to end: activities posted against the mirror of a firm synced
//! from the simulator, checked, stored once per Idempotency-Key, and read back.

use chrono::{Duration, Utc};
use matterhook_e2e::{stack::User, sync::Rig};
use serde_json::{json, Value};

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
