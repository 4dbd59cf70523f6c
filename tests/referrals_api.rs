//! The referral API as a user drives it: validation, link candidates, linking by hand, the
//! action queue, the OpenAPI document.

use clio_sim::Kind;
use matterhook_e2e::{
    ingest::eventually,
    referrals::{start, sync},
};
use serde_json::json;

async fn call(
    s: &matterhook_e2e::stack::Stack,
    user: &matterhook_e2e::stack::User,
    method: reqwest::Method,
    path: String,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    s.api_send(user, method, &path, body).await
}

#[tokio::test]
async fn the_referral_api_as_a_user_drives_it() {
    use reqwest::Method;
    let (mut r, workers) = start().await;
    let firm = r.s.p.world.firm.clone();
    let bob = matterhook_e2e::stack::User {
        id: r.bob.id,
        token: r.bob.token.clone(),
    };
    // Bad input is refused with the reason, and stores nothing.
    let (status, body) = call(&r.s, &bob, Method::POST, "/api/referrals".into(),
        Some(json!({"direction": "received", "partner_name": "Priya", "client_email": "not-an-email"}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("client_email"),
        "{body}"
    );
    // A NUL in any text field (PostgreSQL's text cannot hold it) is refused, not a 500.
    let (status, body) = call(
        &r.s,
        &bob,
        Method::POST,
        "/api/referrals".into(),
        Some(json!({"direction": "received", "partner_name": "Pri\u{0}ya"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap_or_default().contains("NUL"),
        "{body}"
    );
    let (status, body) = call(&r.s, &bob, Method::POST, "/api/referrals".into(),
        Some(json!({"direction": "received", "partner_name": "Priya", "client_email": "a@b.example", "surprise": 1}))).await;
    assert_eq!(status, 400, "{body}");
    let (_, listed) = call(&r.s, &bob, Method::GET, "/api/referrals".into(), None).await;
    assert_eq!(listed, json!([]));

    // A received referral for Wei Chen, no email: link candidates find his matter.
    let (status, created) = call(
        &r.s,
        &bob,
        Method::POST,
        "/api/referrals".into(),
        Some(json!({
        "direction": "received", "partner_name": "Sam Lee", "partner_email": "sam@lee.example",
        "client_first_name": "Wei", "client_last_name": "Chen",
        "commission": {"kind": "amount", "value": "250.00"}})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["commission_cents"], 25_000);
    let id = created["id"].as_i64().expect("id");
    let (status, c) = call(
        &r.s,
        &bob,
        Method::GET,
        format!("/api/referrals/{id}/link-candidates?q=chen"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{c}");
    let weis_matter = c["search"][0]["matter_id"]
        .as_i64()
        .expect("a matter of Wei's");
    assert_eq!(c["suggested"][0]["matter_id"], weis_matter, "{c}");
    assert_eq!(c["pinned"]["matter_id"], weis_matter, "{c}");
    assert!(c["recent"].as_array().is_some_and(|m| !m.is_empty()));

    // Linked by hand: the status follows the matter's at once, and later changes too.
    let (status, linked) = call(
        &r.s,
        &bob,
        Method::POST,
        format!("/api/referrals/{id}/link"),
        Some(json!({"matter_id": weis_matter})),
    )
    .await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(linked["link"]["linked_by"], "user");
    let clio_status =
        r.s.p
            .world
            .sim
            .get(Kind::Matter, weis_matter)
            .expect("matter")["status"]
            .clone();
    // The link shows the matter as a person knows it: number, description, status.
    let in_clio =
        r.s.p
            .world
            .sim
            .get(Kind::Matter, weis_matter)
            .expect("matter");
    assert!(in_clio["display_number"].is_string(), "{in_clio}");
    assert_eq!(
        (
            &linked["link"]["display_number"],
            &linked["link"]["description"],
            &linked["link"]["matter_status"],
            &linked["link"]["matter_deleted"],
        ),
        (
            &in_clio["display_number"],
            &in_clio["description"],
            &clio_status,
            &json!(false)
        ),
        "{linked}"
    );
    let expected = if clio_status == "Closed" {
        "won"
    } else {
        "open"
    };
    assert_eq!(linked["status"], expected);
    if expected == "open" {
        sync(&mut r, 2, |sim| {
            sim.set_matter_status(weis_matter, "closed")
                .expect("closed");
        })
        .await;
        let won = eventually(|| async {
            let (_, d) = call(
                &r.s,
                &bob,
                Method::GET,
                format!("/api/referrals/{id}"),
                None,
            )
            .await;
            (d["status"] == "won").then_some(d)
        })
        .await
        .expect("won");
        let timeline: Vec<&str> = won["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter_map(|e| e["message"].as_str())
            .collect();
        assert!(
            timeline.contains(&"Status changed to won (synced from Clio)"),
            "{timeline:?}"
        );
    }
    // Another matter for the same referral is refused while it is linked; a foreign matter is not found.
    let (status, body) = call(
        &r.s,
        &bob,
        Method::POST,
        format!("/api/referrals/{id}/link"),
        Some(json!({"matter_id": firm.matter_ids[0]})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("already_linked")),
        "{body}"
    );
    let (status, _) = call(
        &r.s,
        &bob,
        Method::POST,
        "/api/referrals/999999/link".into(),
        Some(json!({"matter_id": weis_matter})),
    )
    .await;
    assert_eq!(status, 404);

    // Unlinked: the referral and the matter stay.
    let (status, unlinked) = call(
        &r.s,
        &bob,
        Method::DELETE,
        format!("/api/referrals/{id}/link"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(unlinked["link"], serde_json::Value::Null);
    let (status, body) = call(
        &r.s,
        &bob,
        Method::POST,
        format!("/api/referrals/{id}/link"),
        Some(json!({"matter_id": 424_242})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("no_such_matter")),
        "{body}"
    );

    // Marked lost by hand, with the reason on the timeline; nonsense is refused.
    let (status, lost) = call(
        &r.s,
        &bob,
        Method::POST,
        format!("/api/referrals/{id}/status"),
        Some(json!({"status": "lost"})),
    )
    .await;
    assert_eq!(
        (status, lost["status"].as_str()),
        (200, Some("lost")),
        "{lost}"
    );
    let (status, _) = call(
        &r.s,
        &bob,
        Method::POST,
        format!("/api/referrals/{id}/status"),
        Some(json!({"status": "maybe"})),
    )
    .await;
    assert_eq!(status, 400);
    let (_, detail) = call(
        &r.s,
        &bob,
        Method::GET,
        format!("/api/referrals/{id}"),
        None,
    )
    .await;
    assert_eq!(
        detail["timeline"]
            .as_array()
            .and_then(|t| t.last())
            .map(|e| e["message"].clone()),
        Some(json!("Status changed to lost (by you)")),
        "{detail}"
    );

    // The action queue: nothing pending; an unknown item is 404.
    let (status, queue) = call(&r.s, &bob, Method::GET, "/api/action-queue".into(), None).await;
    assert_eq!((status, queue), (200, json!([])));
    let (status, _) = call(
        &r.s,
        &bob,
        Method::POST,
        "/api/action-queue/12345/approve".into(),
        None,
    )
    .await;
    assert_eq!(status, 404);

    // A possible match arrives as an unread notification; reading it, dismissing the suggestion
    // and changing one's mind all go through the API.
    let (status, _) = call(
        &r.s,
        &bob,
        Method::POST,
        "/api/referrals".into(),
        Some(json!({"direction": "received", "partner_name": "Sam Lee",
                    "client_first_name": "Jose Luis", "client_last_name": "Alvarez"})),
    )
    .await;
    assert_eq!(status, 201);
    sync(&mut r, 1, |sim| {
        sim.create(
            Kind::Matter,
            firm.account_id,
            json!({"client": {"id": firm.contact_ids[2]}, "status": "open", "description": "Will"}),
        )
        .expect("matter");
    })
    .await;
    let offer = eventually(|| async {
        let (_, n) = call(
            &r.s,
            &bob,
            Method::GET,
            "/api/notifications?unread=true".into(),
            None,
        )
        .await;
        n.as_array()?
            .iter()
            .find(|n| n["kind"] == "referral_suggestion")
            .cloned()
    })
    .await
    .expect("a suggestion notified");
    let (note, suggestion) = (offer["id"].clone(), offer["suggestion_id"].clone());
    let (status, read) = call(
        &r.s,
        &bob,
        Method::POST,
        format!("/api/notifications/{note}/read"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert!(read["read_at"].is_string(), "{read}");
    let (_, unread) = call(
        &r.s,
        &bob,
        Method::GET,
        "/api/notifications?unread=true".into(),
        None,
    )
    .await;
    assert!(
        !unread
            .as_array()
            .expect("list")
            .iter()
            .any(|n| n["id"] == note),
        "{unread}"
    );
    let (status, _) = call(
        &r.s,
        &bob,
        Method::POST,
        "/api/notifications/999999/read".into(),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &r.s,
        &bob,
        Method::GET,
        "/api/notifications?unread=maybe".into(),
        None,
    )
    .await;
    assert_eq!(status, 400);

    let path = format!("/api/referral-suggestions/{suggestion}/dismiss");
    let (status, dismissed) = call(&r.s, &bob, Method::POST, path.clone(), None).await;
    assert_eq!(
        (status, &dismissed["outcome"]),
        (200, &json!("dismissed")),
        "{dismissed}"
    );
    let (status, again) = call(&r.s, &bob, Method::POST, path, None).await;
    assert_eq!(
        (status, &again["code"]),
        (409, &json!("already_decided")),
        "{again}"
    );
    let (status, linked) = call(
        &r.s,
        &bob,
        Method::POST,
        format!("/api/referral-suggestions/{suggestion}/confirm"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(linked["link"]["linked_by"], "user");

    // Everything is in the OpenAPI document.
    let doc: serde_json::Value = reqwest::get(format!("{}/openapi.json", r.s.api_url))
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    for path in [
        "/api/referrals",
        "/api/referrals/{id}",
        "/api/referrals/{id}/link-candidates",
        "/api/referrals/{id}/link",
        "/api/referral-suggestions/{id}/confirm",
        "/api/referral-suggestions/{id}/dismiss",
        "/api/notifications/{id}/read",
        "/api/action-queue",
        "/api/action-queue/{id}/approve",
        "/api/action-queue/{id}/dismiss",
        "/api/notifications",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    for w in workers {
        w.stop().await.expect("stops");
    }
    r.stop().await;
}

/// Janet Doe of Northwind Traders was referred without an email. Jane Doe, who works at Northwind
/// Traders, becomes a client: the same company and a shared name word make a suggestion, end to
/// end, never a link. In the link dialog the suggested matter is pinned first, ahead of a matter
/// opened after it.
#[tokio::test]
async fn a_company_and_a_shared_name_word_suggest_and_the_suggestion_is_pinned_in_the_dialog() {
    use reqwest::Method;
    let (mut r, workers) = start().await;
    let firm = r.s.p.world.firm.clone();
    let bob = matterhook_e2e::stack::User {
        id: r.bob.id,
        token: r.bob.token.clone(),
    };
    let (status, created) = call(
        &r.s,
        &bob,
        Method::POST,
        "/api/referrals".into(),
        Some(json!({
            "direction": "received", "partner_name": "Ana Ruiz",
            "client_first_name": "Janet", "client_last_name": "Doe",
            "client_company": "Northwind Traders, Inc."})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");

    let mut matter = 0;
    sync(&mut r, 1, |sim| {
        matter = sim
            .create(Kind::Matter, firm.account_id,
                json!({"client": {"id": firm.contact_ids[1]}, "status": "open", "description": "Supply contract"}))
            .expect("matter")
            .id;
    })
    .await;
    let offered = eventually(|| async {
        let (_, notes) = call(&r.s, &bob, Method::GET, "/api/notifications".into(), None).await;
        notes
            .as_array()?
            .iter()
            .find(|n| n["kind"] == "referral_suggestion" && n["referral_id"] == id)
            .cloned()
    })
    .await
    .expect("a suggestion");
    assert!(offered["suggestion_id"].as_i64().is_some(), "{offered}");
    let (_, referral) = call(
        &r.s,
        &bob,
        Method::GET,
        format!("/api/referrals/{id}"),
        None,
    )
    .await;
    assert!(
        referral["link"].is_null(),
        "a suggestion links nothing: {referral}"
    );

    // A later matter for someone else is the most recent one; the suggestion still comes first.
    let mut later = 0;
    sync(&mut r, 1, |sim| {
        later = sim
            .create(Kind::Matter, firm.account_id,
                json!({"client": {"id": firm.contact_ids[4]}, "status": "open", "description": "Later"}))
            .expect("matter")
            .id;
    })
    .await;
    let (status, c) = call(
        &r.s,
        &bob,
        Method::GET,
        format!("/api/referrals/{id}/link-candidates"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{c}");
    let (refused, body) = call(
        &r.s,
        &bob,
        Method::GET,
        format!("/api/referrals/{id}/link-candidates?q=Sup%00ply"),
        None,
    )
    .await;
    assert_eq!(
        refused, 400,
        "a NUL in the search is refused, not a 500: {body}"
    );
    assert_eq!(c["pinned"]["matter_id"], matter, "{c}");
    assert_eq!(c["pinned"]["description"], "Supply contract", "{c}");
    assert_eq!(c["recent"][0]["matter_id"], later, "{c}");
    for w in workers {
        w.stop().await.expect("stops");
    }
    r.stop().await;
}
