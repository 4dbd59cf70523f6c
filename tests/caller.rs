//! Caller lookup end to end: the demo firm synced from the simulator into the mirror, looked up
//! over HTTP with a lookup key the way a phone receptionist would, and before the first sync
//! has finished, from Clio itself.

use std::time::Duration;

use clio_sim::Kind;
use matterhook_e2e::sync::Rig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A lookup key for the rig's connection (`per_minute` budget).
async fn key(r: &Rig, connection_id: i64, per_minute: i64) -> (i64, String) {
    let user = &r.bob;
    let (status, body) =
        r.s.api_send(
            user,
            Method::POST,
            &format!("/api/connections/{connection_id}/lookup-keys"),
            Some(json!({"name": "Front desk", "per_minute": per_minute})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let key = body["key"].as_str().expect("the key is shown").to_owned();
    assert!(key.starts_with("mhk_"), "{key}");
    (body["id"].as_i64().expect("id"), key)
}

/// `GET /api/caller-lookup?phone=` with `key`: status, body and `Retry-After`.
async fn lookup(r: &Rig, key: &str, phone: &str) -> (StatusCode, Value, Option<String>) {
    let answer =
        r.s.http
            .get(format!("{}/api/caller-lookup", r.s.api_url))
            .query(&[("phone", phone)])
            .bearer_auth(key)
            .send()
            .await
            .expect("answer");
    let status = answer.status();
    let retry = answer
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, answer.json().await.unwrap_or_default(), retry)
}

fn candidate_ids(answer: &Value) -> Vec<i64> {
    answer["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .collect()
}

/// A person with `phone` and one matter per `(status, staff)`, created a simulated minute apart
/// (the first oldest).
fn client_with_matters(
    r: &Rig,
    name: &str,
    phone: &str,
    matters: &[(&str, i64)],
) -> (i64, Vec<i64>) {
    let sim = &r.s.p.world.sim;
    let firm = &r.s.p.world.firm;
    let contact = sim
        .create(
            Kind::Contact,
            firm.account_id,
            json!({"type": "Person", "first_name": name, "last_name": "Caller",
                   "phone_numbers": [{"number": phone, "primary": true, "name": "Mobile"}]}),
        )
        .expect("contact")
        .id;
    let ids = matters
        .iter()
        .map(|(status, staff)| {
            sim.advance_clock(Duration::from_secs(60));
            sim.create(
                Kind::Matter,
                firm.account_id,
                json!({"client": {"id": contact}, "status": status,
                       "description": format!("{name}'s {status} matter"),
                       "responsible_attorney": {"id": firm.partner_id},
                       "responsible_staff": {"id": staff}}),
            )
            .expect("matter")
            .id
        })
        .collect();
    (contact, ids)
}

#[tokio::test]
async fn a_caller_is_found_from_any_spelling_and_handed_to_the_right_staff() {
    let r = Rig::start().await;
    let firm = r.s.p.world.firm.clone();
    let sim = r.s.p.world.sim.clone();
    // Two contacts sharing the last four digits; one with two open matters; one with closed ones.
    client_with_matters(&r, "Ann", "617-555-8888", &[]);
    client_with_matters(&r, "Bea", "(212) 555-8888", &[]);
    let (two_open, open_matters) = client_with_matters(
        &r,
        "Cy",
        "312 555 0142",
        &[("Open", firm.staff_id), ("Open", firm.attorney_id)],
    );
    let (closed_only, closed_matters) = client_with_matters(
        &r,
        "Di",
        "+1 303 555 0199",
        &[("Closed", firm.attorney_id), ("Closed", firm.staff_id)],
    );
    // The older open matter is updated last: it is now the one the call goes to.
    sim.advance_clock(Duration::from_secs(60));
    sim.update(
        Kind::Matter,
        open_matters[0],
        json!({"description": "Cy's busy matter"}),
    )
    .expect("update");
    r.baseline().await;
    let (_, k) = key(&r, r.id, 600).await;
    let calls = r.clio_calls();

    // Jane is saved in Clio as "(555) 123-4567".
    let jane = firm.contact_ids[1];
    for typed in ["+15551234567", "555.123.4567", "5551234567"] {
        let (status, answer, _) = lookup(&r, &k, typed).await;
        assert_eq!(status, 200, "{typed}: {answer}");
        assert_eq!(answer["match"], "exact", "{typed}: {answer}");
        assert_eq!(answer["source"], "mirror", "{typed}");
        assert_eq!(candidate_ids(&answer), vec![jane], "{typed}: {answer}");
        let found = &answer["candidates"][0];
        assert_eq!(found["number"], "(555) 123-4567");
        assert_eq!(found["matters"][0]["status"], "Open", "{answer}");
        assert_eq!(
            found["matters"][0]["responsible_staff"]["name"],
            "Carla Diaz"
        );
        assert_eq!(answer["transfer_to"]["id"], firm.staff_id, "{answer}");
        assert_eq!(
            answer["transfer_to"]["phone"], "+1 617 555 0103",
            "{answer}"
        );
    }

    // Shared last four digits: ambiguous, and nobody to transfer to.
    for typed in ["8888", "999-999-8888"] {
        let (status, answer, _) = lookup(&r, &k, typed).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["match"], "ambiguous", "{typed}: {answer}");
        assert_eq!(answer["candidates_total"], 2, "{answer}");
        assert_eq!(answer["transfer_to"], Value::Null, "{answer}");
        assert!(answer["reason"].as_str().is_some_and(|s| !s.is_empty()));
    }
    // Last four digits only one contact has: partial, and a transfer.
    let (_, answer, _) = lookup(&r, &k, "0142").await;
    assert_eq!(answer["match"], "partial", "{answer}");
    assert_eq!(candidate_ids(&answer), vec![two_open]);

    // Two open matters: the staff of the one updated most recently.
    let (_, answer, _) = lookup(&r, &k, "(312) 555-0142").await;
    assert_eq!(answer["match"], "exact", "{answer}");
    let listed: Vec<i64> = answer["candidates"][0]["matters"]
        .as_array()
        .expect("matters")
        .iter()
        .filter_map(|m| m["id"].as_i64())
        .collect();
    assert_eq!(listed, vec![open_matters[0], open_matters[1]], "{answer}");
    assert_eq!(answer["transfer_to"]["id"], firm.staff_id, "{answer}");

    // Only closed matters: the most recently closed one decides.
    let (_, answer, _) = lookup(&r, &k, "303-555-0199").await;
    assert_eq!(candidate_ids(&answer), vec![closed_only]);
    assert_eq!(
        answer["candidates"][0]["matters"][0]["id"],
        closed_matters[1]
    );
    assert_eq!(answer["transfer_to"]["id"], firm.staff_id, "{answer}");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("closed"),
        "{answer}"
    );

    // Nobody has it.
    let (_, answer, _) = lookup(&r, &k, "+1 (907) 555-0000").await;
    assert_eq!(answer["match"], "none", "{answer}");
    assert_eq!(answer["candidates"], json!([]));
    assert_eq!(answer["transfer_to"], Value::Null);

    // Not one call to Clio for any of it.
    assert_eq!(
        r.clio_calls(),
        calls,
        "lookups after the first sync ask Clio nothing"
    );

    // Bad input is refused, naming what is wrong.
    for bad in ["12", "555-CALL-NOW", &"5".repeat(80)] {
        let (status, body, _) = lookup(&r, &k, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) =
        r.s.api_send(
            &r.bob,
            Method::GET,
            "/api/caller-lookup?phone=5551234567&colour=red",
            None,
        )
        .await;
    assert_eq!(status, 400, "unknown parameters are refused");

    // The user's own token works too, and the staff list has the firm's users with phones.
    let (status, answer) =
        r.s.api_send(
            &r.bob,
            Method::GET,
            "/api/caller-lookup?phone=555.123.4567",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(candidate_ids(&answer), vec![jane]);
    let (status, staff) = r.s.api_send(&r.bob, Method::GET, "/api/staff", None).await;
    assert_eq!(status, 200, "{staff}");
    let carla = staff["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|s| s["id"] == firm.staff_id)
        .cloned()
        .expect("Carla is listed");
    assert_eq!(carla["email"], "carla@hartleyfinch.example");
    assert_eq!(carla["phone"], "+1 617 555 0103");
    assert_eq!(carla["enabled"], true);
}

#[tokio::test]
async fn keys_are_shown_once_revocable_rate_limited_and_see_one_firm_only() {
    let r = Rig::start().await;
    let sim = r.s.p.world.sim.clone();
    let ours_only = client_with_matters(&r, "Eve", "(555) 010-7777", &[]).0;
    // Another firm, connected by another user; its demo data repeats ours, ids apart.
    let other = clio_sim::seed::demo_firm(&sim).expect("a second firm");
    let carol = r.s.user("carol@other.example").await;
    let (_, answer) = r.s.connect_as(&carol, other.attorney_id, "allow").await;
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.expect("json");
    let other_id = body["connection_id"].as_i64().expect("id");
    r.baseline().await;
    r.stage
        .sweep_connection(other_id, matterhook_sync::SweepMode::Incremental)
        .await
        .expect("their baseline");

    let (key_id, k) = key(&r, r.id, 600).await;
    let (status, answer) =
        r.s.api_send(
            &carol,
            Method::POST,
            &format!("/api/connections/{other_id}/lookup-keys"),
            Some(json!({"name": "Their desk"})),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["per_minute"], 600, "the default budget");
    let theirs = answer["key"].as_str().expect("key").to_owned();
    // Carol cannot make keys for Bob's connection.
    let (status, _) =
        r.s.api_send(
            &carol,
            Method::POST,
            &format!("/api/connections/{}/lookup-keys", r.id),
            Some(json!({"name": "Sneaky"})),
        )
        .await;
    assert_eq!(status, 404);

    // Their key sees their firm only: our caller is nobody to them, and Jane is their Jane.
    let (_, answer, _) = lookup(&r, &theirs, "(555) 010-7777").await;
    assert_eq!(answer["match"], "none", "{answer}");
    let (_, answer, _) = lookup(&r, &k, "(555) 010-7777").await;
    assert_eq!(candidate_ids(&answer), vec![ours_only]);
    let (_, answer, _) = lookup(&r, &theirs, "5551234567").await;
    assert_eq!(
        candidate_ids(&answer),
        vec![other.contact_ids[1]],
        "{answer}"
    );

    // Listed without the key itself.
    let (status, listed) =
        r.s.api_send(
            &r.bob,
            Method::GET,
            &format!("/api/connections/{}/lookup-keys", r.id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let shown = listed.to_string();
    assert!(!shown.contains(&k), "the key is never listed: {shown}");
    assert_eq!(listed["items"][0]["key_prefix"], k[..10]);

    // Revoked: the very next lookup gets a 401.
    let (status, _) =
        r.s.api_send(
            &r.bob,
            Method::DELETE,
            &format!("/api/connections/{}/lookup-keys/{key_id}", r.id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = lookup(&r, &k, "5551234567").await;
    assert_eq!(status, 401);
    let (status, _, _) = lookup(&r, "mhk_not-a-key", "5551234567").await;
    assert_eq!(status, 401);
    // A key opens nothing but lookups.
    let (status, _) =
        r.s.api_send(
            &matterhook_e2e::stack::User {
                id: 0,
                token: theirs.clone(),
            },
            Method::GET,
            "/api/staff",
            None,
        )
        .await;
    assert_eq!(status, 401);

    // Past its budget a key waits, told for how long.
    let (_, tight) = key(&r, r.id, 2).await;
    for _ in 0..2 {
        let (status, _, _) = lookup(&r, &tight, "5551234567").await;
        assert_eq!(status, 200);
    }
    let (status, body, retry) = lookup(&r, &tight, "5551234567").await;
    assert_eq!(status, 429, "{body}");
    let wait: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!((1..=30).contains(&wait), "{wait}");
}

#[tokio::test]
async fn before_the_first_sync_a_lookup_asks_clio_in_two_calls_at_most() {
    let r = Rig::start().await;
    let firm = r.s.p.world.firm.clone();
    let (_, k) = key(&r, r.id, 600).await;
    let jane = firm.contact_ids[1];

    let calls = r.clio_calls();
    let (status, answer, _) = lookup(&r, &k, "+15551234567").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["source"], "live", "{answer}");
    assert_eq!(answer["match"], "exact", "{answer}");
    assert_eq!(candidate_ids(&answer), vec![jane]);
    assert_eq!(answer["candidates"][0]["matters"][0]["status"], "Open");
    assert_eq!(answer["transfer_to"]["id"], firm.staff_id, "{answer}");
    let live_calls = r.clio_calls() - calls;
    assert!(
        (1..=2).contains(&live_calls),
        "{live_calls} Clio calls for a live lookup"
    );
    let (_, answer, _) = lookup(&r, &k, "+1 (907) 555-0000").await;
    assert_eq!(answer["match"], "none", "{answer}");
    assert_eq!(answer["source"], "live");

    // Once the firm's first sync has finished, the mirror answers alone.
    r.baseline().await;
    let calls = r.clio_calls();
    let (_, answer, _) = lookup(&r, &k, "+15551234567").await;
    assert_eq!(answer["source"], "mirror", "{answer}");
    assert_eq!(candidate_ids(&answer), vec![jane]);
    assert_eq!(r.clio_calls(), calls);
}
