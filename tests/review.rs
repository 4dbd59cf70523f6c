//! Review requests end to end: Clio changes in the simulator, through the receiver, the sync
//! worker and its outbox, to the review worker; settings and the hand-off through the API; time
//! moved with the simulator's clock.

use std::sync::Arc;

use clio_sim::Kind;
use matterhook_e2e::{
    ingest::{eventually, Worker},
    referrals::sync,
    sync::Rig,
};
use matterhook_store::review_requests::{self, ReviewRequest};
use reqwest::Method;
use serde_json::{json, Value};

/// The rig with the review worker running on the simulator's clock.
async fn start() -> (Rig, Worker) {
    let mut r = Rig::start().await;
    r.baseline().await;
    let sim = r.s.p.world.sim.clone();
    let clock: matterhook_review::Clock = Arc::new(move || sim.now());
    let worker =
        r.s.p
            .start_worker(matterhook_review::ReviewTrigger { clock }, 3)
            .await;
    (r, worker)
}

/// Patches the connection's settings through the API.
async fn set(r: &Rig, patch: Value) -> (u16, Value) {
    r.s.api_send(
        &r.bob,
        Method::PATCH,
        &format!("/api/connections/{}/settings", r.id),
        Some(patch),
    )
    .await
}

async fn on(r: &Rig, review: Value) {
    let mut section = json!({"enabled": true});
    json_merge(&mut section, review);
    let (status, body) = set(r, json!({ "review_requests": section })).await;
    assert_eq!(status, 200, "{body}");
}

fn json_merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

/// Every request of the rig's user.
async fn requests(r: &Rig) -> Vec<ReviewRequest> {
    let mut conn = r.s.p.pool.get().await.expect("conn");
    review_requests::list(
        &mut conn,
        r.bob.id,
        &review_requests::Filter::default(),
        1_000,
    )
    .await
    .expect("list")
}

/// Waits until the user has `n` requests.
async fn wait_for(r: &Rig, n: usize) -> Vec<ReviewRequest> {
    eventually(|| async {
        let all = requests(r).await;
        (all.len() >= n).then_some(all)
    })
    .await
    .unwrap_or_else(|| panic!("{n} review requests"))
}

/// One tick of the review worker's timer, at the simulator's now.
async fn tick(r: &Rig) -> matterhook_review::schedule::TickReport {
    matterhook_review::schedule::tick(&r.s.p.pool, r.s.p.world.sim.now())
        .await
        .expect("tick")
}

/// Closes `matter` in Clio and carries it through the sync stage.
async fn close(r: &mut Rig, matter: i64) {
    sync(r, 1, |sim| {
        sim.set_matter_status(matter, "closed").expect("closed");
    })
    .await;
}

async fn stop(r: Rig, worker: Worker) {
    worker.stop().await.expect("stops");
    r.stop().await;
}

#[tokio::test]
async fn a_closed_matter_becomes_one_request_with_the_clients_details_and_falls_due() {
    let (mut r, worker) = start().await;
    let firm = r.s.p.world.firm.clone();
    on(&r, json!({})).await;
    let jane_matter = firm.matter_ids[0];
    close(&mut r, jane_matter).await;
    let all = wait_for(&r, 1).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let req = &all[0];
    assert_eq!(
        (req.matter_id, req.trigger.as_str(), req.state.as_str()),
        (jane_matter, "closed", "scheduled"),
        "{req:?}"
    );
    assert_eq!(
        (req.first_name.as_deref(), req.last_name.as_deref()),
        (Some("Jane"), Some("Doe"))
    );
    assert_eq!(req.email.as_deref(), Some("jane.doe@example.com"));
    // The demo's 555 numbers are not real numbers: no E.164, and the email will do.
    assert_eq!(req.phone, None);
    assert_eq!(req.responsible_attorney_id, Some(firm.attorney_id));
    assert!(req.display_number.is_some());

    // A day on it falls due; the daily reconciliation finds it has a request: still one.
    r.s.p
        .world
        .sim
        .advance_clock(std::time::Duration::from_secs(86_400));
    let report = tick(&r).await;
    assert_eq!(report.due, 1, "{report:?}");
    let all: Vec<ReviewRequest> = requests(&r)
        .await
        .into_iter()
        .filter(|q| q.matter_id == jane_matter)
        .collect();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].state, "due");

    // The review platform lists what is due, and confirms it sent it, once.
    let (status, page) =
        r.s.api_send(&r.bob, Method::GET, "/api/review-requests?state=due", None)
            .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["id"], all[0].id, "{page}");
    assert!(page["next_cursor"].is_null());
    let (_, paged) =
        r.s.api_send(&r.bob, Method::GET, "/api/review-requests?limit=1", None)
            .await;
    assert_eq!(paged["items"].as_array().map(Vec::len), Some(1), "{paged}");
    let next = paged["next_cursor"].as_str().map(str::to_owned);
    if let Some(cursor) = next {
        let (status, rest) =
            r.s.api_send(
                &r.bob,
                Method::GET,
                &format!("/api/review-requests?cursor={cursor}"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_ne!(
            rest["items"][0]["id"], paged["items"][0]["id"],
            "the next page moves on"
        );
    }
    let path = format!("/api/review-requests/{}/sent", all[0].id);
    let (status, sent) = r.s.api_send(&r.bob, Method::POST, &path, None).await;
    assert_eq!(
        (status, sent["state"].as_str()),
        (200, Some("sent")),
        "{sent}"
    );
    let (status, again) = r.s.api_send(&r.bob, Method::POST, &path, None).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("already_sent"))
    );
    let (status, _) =
        r.s.api_send(&r.bob, Method::GET, "/api/review-requests?state=lost", None)
            .await;
    assert_eq!(status, 400);
    stop(r, worker).await;
}

#[tokio::test]
async fn requests_held_back_keep_their_reason() {
    let (mut r, worker) = start().await;
    let firm = r.s.p.world.firm.clone();
    let sim = r.s.p.world.sim.clone();
    let skip = firm
        .custom_fields
        .iter()
        .find(|(n, _)| n == "Skip review request")
        .expect("the checkbox")
        .1;
    // The firm calls its opt-out box "Skip review request" (spelled loosely here).
    on(&r, json!({"dont_send_field": "  skip REVIEW request "})).await;
    sync(&mut r, 1, |sim| {
        sim.update(
            Kind::Matter,
            firm.matter_ids[0],
            json!({"custom_field_values": [{"custom_field": {"id": skip}, "value": "true"}]}),
        )
        .expect("ticked");
    })
    .await;
    close(&mut r, firm.matter_ids[0]).await;
    wait_for(&r, 1).await;

    // A client with neither an email nor a phone.
    let mut nobody = 0;
    sync(&mut r, 2, |sim| {
        let c = sim
            .create(
                Kind::Contact,
                firm.account_id,
                json!({"type": "Person", "first_name": "No", "last_name": "Contact"}),
            )
            .expect("contact")
            .id;
        nobody = sim
            .create(
                Kind::Matter,
                firm.account_id,
                json!({"client": {"id": c}, "status": "open", "description": "Unreachable"}),
            )
            .expect("matter")
            .id;
    })
    .await;
    close(&mut r, nobody).await;
    wait_for(&r, 2).await;

    // Wei Chen is asked once; a second matter of his closes within the 90 days.
    let mut second = 0;
    sync(&mut r, 1, |sim| {
        second = sim
            .create(Kind::Matter, firm.account_id,
                json!({"client": {"id": firm.contact_ids[4]}, "status": "open", "description": "Second"}))
            .expect("matter")
            .id;
    })
    .await;
    close(&mut r, firm.matter_ids[4]).await;
    wait_for(&r, 3).await;
    close(&mut r, second).await;

    let all = wait_for(&r, 4).await;
    let reason = |matter: i64| {
        all.iter()
            .find(|q| q.matter_id == matter)
            .map(|q| (q.state.clone(), q.reason.clone()))
    };
    assert_eq!(
        reason(firm.matter_ids[0]),
        Some(("restricted".into(), Some("opted_out".into())))
    );
    assert_eq!(
        reason(nobody),
        Some(("restricted".into(), Some("no_contact_point".into())))
    );
    assert_eq!(reason(firm.matter_ids[4]), Some(("scheduled".into(), None)));
    let wei = all
        .iter()
        .find(|q| q.matter_id == firm.matter_ids[4])
        .expect("Wei's");
    assert_eq!(wei.phone.as_deref(), Some("+442079460958"), "E.164");
    assert_eq!(
        reason(second),
        Some(("restricted".into(), Some("cooldown".into())))
    );

    // Clio stops showing custom fields: the opt-out cannot be seen, so nothing goes.
    sim.deny(firm.attorney_id, &["custom_fields"]);
    r.stage
        .sweep_connection(r.id, matterhook_sync::SweepMode::Incremental)
        .await
        .expect("sweep");
    close(&mut r, firm.matter_ids[3]).await;
    let all = wait_for(&r, 5).await;
    let forbidden = all
        .iter()
        .find(|q| q.matter_id == firm.matter_ids[3])
        .expect("a request");
    assert_eq!(forbidden.reason.as_deref(), Some("custom_fields_forbidden"));
    stop(r, worker).await;
}

#[tokio::test]
async fn a_two_office_firm_routes_by_the_picklist_and_its_delay_then_cancels_a_reopened_matter() {
    let (mut r, worker) = start().await;
    let firm = r.s.p.world.firm.clone();
    let sim = r.s.p.world.sim.clone();
    let office = firm
        .custom_fields
        .iter()
        .find(|(n, _)| n == "Office")
        .expect("the picklist")
        .1;
    let options =
        sim.get(Kind::CustomField, office).expect("definition")["picklist_options"].clone();
    let option = |label: &str| {
        options
            .as_array()
            .and_then(|o| o.iter().find(|o| o["option"] == label))
            .and_then(|o| o["id"].as_i64())
            .expect("an option")
    };
    on(
        &r,
        json!({"location_field": "Office", "locations": [
            {"name": " boston", "business_id": "g-bos", "delay_days": 3},
            {"name": "Seattle", "business_id": "g-sea"}]}),
    )
    .await;
    // The custom field definitions are read by the sweep.
    r.stage
        .sweep_connection(r.id, matterhook_sync::SweepMode::Incremental)
        .await
        .expect("sweep");
    let set_office = |matter: i64, label: &str| {
        let value = json!({"custom_field_values": [{"custom_field": {"id": office}, "value": option(label)}]});
        sim.update(Kind::Matter, matter, value).expect("office");
    };
    let (boston, denver) = (firm.matter_ids[0], firm.matter_ids[4]);
    sync(&mut r, 2, |_| {
        set_office(boston, "Boston");
        set_office(denver, "Denver");
    })
    .await;
    close(&mut r, boston).await;
    wait_for(&r, 1).await;
    close(&mut r, denver).await;
    let all = wait_for(&r, 2).await;
    let of = |matter: i64| all.iter().find(|q| q.matter_id == matter).expect("request");
    assert_eq!(of(boston).business_id.as_deref(), Some("g-bos"), "{all:?}");
    assert_eq!(of(boston).location.as_deref(), Some("boston"));
    assert_eq!(
        of(boston).due_at - of(boston).triggered_at,
        chrono::Duration::days(3)
    );
    assert_eq!(of(denver).reason.as_deref(), Some("location_unmapped"));

    // Two days on it is not due; the matter is reopened; on day four it is cancelled.
    sim.advance_clock(std::time::Duration::from_secs(2 * 86_400));
    assert_eq!(tick(&r).await.due, 0);
    sync(&mut r, 1, |sim| {
        sim.set_matter_status(boston, "open").expect("reopened");
    })
    .await;
    sim.advance_clock(std::time::Duration::from_secs(2 * 86_400));
    let report = tick(&r).await;
    assert_eq!((report.due, report.cancelled), (0, 1), "{report:?}");
    let after = requests(&r).await;
    let reopened = after
        .iter()
        .find(|q| q.matter_id == boston)
        .expect("request");
    assert_eq!(
        (reopened.state.as_str(), reopened.reason.as_deref()),
        ("cancelled", Some("status_changed"))
    );
    stop(r, worker).await;
}

#[tokio::test]
async fn a_closing_missed_by_webhooks_is_made_once_by_the_daily_reconciliation() {
    let (mut r, worker) = start().await;
    let firm = r.s.p.world.firm.clone();
    let sim = r.s.p.world.sim.clone();
    // The simulator dates a closing in UTC: the firm's day is UTC's, whatever the hour.
    on(&r, json!({"time_zone": "UTC"})).await;
    // Closed in Clio and read into the mirror, but no event reaches the review worker (as when
    // webhooks had lapsed and a sweep found the change long after).
    let mark = r.deliveries();
    sim.set_matter_status(firm.matter_ids[0], "closed")
        .expect("closed");
    r.settle(mark, 1).await;
    {
        use diesel_async::RunQueryDsl;
        let mut conn = r.s.p.pool.get().await.expect("conn");
        r.stage.drain().await.expect("drain");
        // The domain events of the drain are dropped: nothing announces the closing.
        diesel::delete(matterhook_store::schema::outbox::table)
            .execute(&mut conn)
            .await
            .expect("outbox emptied");
    }
    assert!(requests(&r).await.is_empty());
    // The next local day, the reconciliation makes one for each matter closed the day before
    // (this one, and the demo's matter seeded closed), once, however often it runs.
    sim.advance_clock(std::time::Duration::from_secs(86_400));
    let report = tick(&r).await;
    assert_eq!(report.reconciled, 2, "{report:?}");
    assert_eq!(tick(&r).await.reconciled, 0);
    let mut matters: Vec<i64> = requests(&r).await.iter().map(|q| q.matter_id).collect();
    matters.sort_unstable();
    assert_eq!(matters, [firm.matter_ids[0], firm.matter_ids[2]]);
    // The closing's event arriving late after all (and twice) makes no second request.
    let late = matterhook_bus::Envelope {
        version: matterhook_bus::ENVELOPE_VERSION,
        event_id: "late-closing".into(),
        subscription_id: matterhook_domain::SubscriptionId(0),
        connection_id: matterhook_domain::ConnectionId(r.id),
        received_at: sim.now(),
        request_id: String::new(),
        event: matterhook_bus::Event::Sync(matterhook_domain::sync_events::DomainEvent::new(
            matterhook_domain::AccountId(firm.account_id),
            matterhook_domain::ClioId(firm.matter_ids[0]),
            None,
            matterhook_domain::sync_events::Change::MatterStatusChanged {
                from: matterhook_domain::MatterStatus::Open,
                to: matterhook_domain::MatterStatus::Closed,
            },
        )),
    };
    let handler = matterhook_review::ReviewTrigger {
        clock: Arc::new(move || sim.now()),
    };
    let mut conn = r.s.p.pool.get().await.expect("conn");
    for _ in 0..2 {
        matterhook_bus::Handler::handle(&handler, &late, &mut conn)
            .await
            .expect("handled");
    }
    drop(conn);
    assert_eq!(requests(&r).await.len(), 2);
    stop(r, worker).await;
}

#[tokio::test]
async fn the_manual_trigger_respects_the_cooldown_unless_forced() {
    let (r, worker) = start().await;
    let firm = r.s.p.world.firm.clone();
    let ask = |force: bool| {
        r.s.api_send(
            &r.bob,
            Method::POST,
            "/api/review-requests",
            Some(json!({"matter_id": firm.matter_ids[0], "force": force})),
        )
    };
    let (status, body) = ask(false).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("no_manual_trigger"))
    );
    on(&r, json!({"triggers": ["closed", "manual"]})).await;
    let (status, first) = ask(false).await;
    assert_eq!(
        (status, first["state"].as_str()),
        (201, Some("scheduled")),
        "{first}"
    );
    let (status, second) = ask(false).await;
    assert_eq!(
        (status, second["reason"].as_str()),
        (201, Some("cooldown")),
        "{second}"
    );
    let (status, forced) = ask(true).await;
    assert_eq!(
        (status, forced["state"].as_str()),
        (201, Some("scheduled")),
        "{forced}"
    );
    stop(r, worker).await;
}

#[tokio::test]
async fn settings_are_validated_naming_the_field_and_every_change_is_recorded() {
    let (r, worker) = start().await;
    let path = format!("/api/connections/{}/settings", r.id);
    let (status, defaults) = r.s.api_send(&r.bob, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(defaults["review_requests"]["enabled"], false);
    assert_eq!(defaults["review_requests"]["cooldown_days"], 90);
    for (patch, field) in [
        (
            json!({"review_requests": {"delay_days": 400}}),
            "review_requests.delay_days",
        ),
        (
            json!({"review_requests": {"colour": "red"}}),
            "review_requests.colour",
        ),
        (
            json!({"review_requests": {"enabled": "yes"}}),
            "review_requests.enabled",
        ),
        (
            json!({"review_requests": {"time_zone": "Nowhere/Land"}}),
            "review_requests.time_zone",
        ),
    ] {
        let (status, body) = set(&r, patch.clone()).await;
        assert_eq!(status, 400, "{patch}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap_or_default()
                .starts_with(field),
            "{patch}: {body}"
        );
    }
    let (_, unchanged) = r.s.api_send(&r.bob, Method::GET, &path, None).await;
    assert_eq!(unchanged, defaults, "a refused change changes nothing");
    let (status, _) = set(
        &r,
        json!({"review_requests": {"enabled": true, "delay_days": 3}}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, put) =
        r.s.api_send(
            &r.bob,
            Method::PUT,
            &path,
            Some(json!({"review_requests": {"enabled": true}})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        put["review_requests"]["delay_days"], 0,
        "PUT is the whole document"
    );
    let (_, history) =
        r.s.api_send(&r.bob, Method::GET, &format!("{path}/history"), None)
            .await;
    let history = history.as_array().expect("changes").clone();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["before"]["review_requests"]["delay_days"], 3);
    assert_eq!(history[0]["changed_by"], r.bob.id);
    // Another user's connection is not found.
    let eve = r.s.user("eve@elsewhere.example").await;
    let (status, _) = r.s.api_send(&eve, Method::GET, &path, None).await;
    assert_eq!(status, 404);
    stop(r, worker).await;
}

/// A firm connects with years of closed matters: its first sweep is history, not news, and the
/// daily reconciliation looks at yesterday only. Nothing is requested.
#[tokio::test]
async fn connecting_a_firm_with_500_long_closed_matters_requests_none() {
    let mut r = Rig::start().await;
    let sim = r.s.p.world.sim.clone();
    let firm = r.s.p.world.firm.clone();
    let mark = r.deliveries();
    for i in 0..500 {
        let matter = sim
            .create(Kind::Matter, firm.account_id,
                json!({"client": {"id": firm.contact_ids[1 + i % 5]}, "status": "open", "description": format!("Old {i}")}))
            .expect("matter")
            .id;
        sim.set_matter_status(matter, "closed").expect("closed");
    }
    // Each matter's creation and closing reached us as a webhook.
    r.settle(mark, 1_000).await;
    // Three weeks later (its webhooks still live) the firm's mirror is first filled, and review
    // requests are turned on. The firm had those matters before it connected: what a first sweep
    // finds created after the connection is news, so the connection is dated now.
    sim.advance_clock(std::time::Duration::from_secs(20 * 86_400));
    {
        use diesel_async::RunQueryDsl;
        let mut conn = r.s.p.pool.get().await.expect("conn");
        diesel::sql_query("UPDATE connections SET created_at = $1 WHERE id = $2")
            .bind::<diesel::sql_types::Timestamptz, _>(sim.now())
            .bind::<diesel::sql_types::BigInt, _>(r.id)
            .execute(&mut conn)
            .await
            .expect("connected now");
    }
    r.baseline().await;
    let clock_sim = sim.clone();
    let clock: matterhook_review::Clock = Arc::new(move || clock_sim.now());
    let worker =
        r.s.p
            .start_worker(matterhook_review::ReviewTrigger { clock }, 3)
            .await;
    on(&r, json!({})).await;
    // Whatever the webhooks of those changes queued is read and relayed: no news in it.
    r.stage.drain().await.expect("drain");
    let relayed = matterhook_sync::relay::relay_once(&r.s.p.pool, &r.s.p.publisher, &r.s.p.names)
        .await
        .expect("relay");
    let report = tick(&r).await;
    assert_eq!(report, matterhook_review::schedule::TickReport::default());
    sim.advance_clock(std::time::Duration::from_secs(86_400));
    assert_eq!(tick(&r).await.reconciled, 0);
    // One matter closing now is requested: the worker was listening all along.
    close(&mut r, firm.matter_ids[0]).await;
    let all = wait_for(&r, 1).await;
    assert_eq!(all.len(), 1, "{all:?} (relayed {relayed:?})");
    assert_eq!(all[0].matter_id, firm.matter_ids[0]);
    stop(r, worker).await;
}

/// Clio delivers each closing twice, and a burst out of order: still one request per matter.
#[tokio::test]
async fn duplicated_and_reordered_deliveries_still_make_one_request_each() {
    use clio_sim::{DeliveryFault, DeliveryFaultKind};

    let (mut r, worker) = start().await;
    let firm = r.s.p.world.firm.clone();
    on(&r, json!({"cooldown_days": 0})).await;
    let sim = r.s.p.world.sim.clone();
    sim.inject_delivery_fault(DeliveryFault {
        kind: DeliveryFaultKind::Duplicate,
        count: 2,
        delay_ms: 0,
    });
    close(&mut r, firm.matter_ids[0]).await;
    sim.inject_delivery_fault(DeliveryFault {
        kind: DeliveryFaultKind::Reorder,
        count: 2,
        delay_ms: 0,
    });
    sync(&mut r, 2, |sim| {
        sim.set_matter_status(firm.matter_ids[4], "closed")
            .expect("closed");
        sim.set_matter_status(firm.matter_ids[3], "closed")
            .expect("closed");
    })
    .await;
    let all = wait_for(&r, 3).await;
    let mut matters: Vec<i64> = all.iter().map(|q| q.matter_id).collect();
    matters.sort_unstable();
    let mut expected = vec![firm.matter_ids[0], firm.matter_ids[3], firm.matter_ids[4]];
    expected.sort_unstable();
    assert_eq!(matters, expected, "{all:?}");
    // Whatever else is still in flight changes nothing.
    r.stage.drain().await.expect("drain");
    matterhook_sync::relay::relay_once(&r.s.p.pool, &r.s.p.publisher, &r.s.p.names)
        .await
        .expect("relay");
    let settled = eventually(|| async {
        let mut conn = r.s.p.pool.get().await.ok()?;
        let outbox = matterhook_store::outbox::backlog(&mut conn).await.ok()?.0;
        (outbox == 0).then_some(())
    })
    .await;
    assert_eq!(settled, Some(()));
    assert_eq!(requests(&r).await.len(), 3);
    stop(r, worker).await;
}

/// A browser following a link: the status and the page.
async fn browse(r: &Rig, url: &str) -> (u16, String) {
    let answer = r.s.http.get(url).send().await.expect("answer");
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap_or_default())
}

/// The outcome a landing page reports.
fn outcome(page: &str) -> &str {
    page.split("data-outcome=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("none")
}

#[tokio::test]
async fn send_review_inside_clio_is_registered_confirmed_with_clio_and_removed() {
    let (r, worker) = start().await;
    let sim = r.s.p.world.sim.clone();
    let firm = r.s.p.world.firm.clone();
    let buttons = || {
        sim.custom_actions()
            .into_iter()
            .filter(|a| a.account_id == firm.account_id)
            .collect::<Vec<_>>()
    };
    on(&r, json!({"triggers": ["closed"]})).await;
    assert!(buttons().is_empty(), "no button without the manual trigger");
    on(&r, json!({"triggers": ["closed", "manual"]})).await;
    let registered = buttons();
    assert_eq!(registered.len(), 1, "{registered:?}");
    let button = &registered[0];
    assert_eq!(
        (
            button.label.as_str(),
            button.ui_reference.as_str(),
            button.target_url.clone()
        ),
        (
            "Send Review",
            "matters/show",
            format!("{}/clio/actions/send-review", r.s.api_url)
        )
    );
    on(&r, json!({"delay_days": 2})).await;
    assert_eq!(
        buttons().len(),
        1,
        "saving again registers no second button"
    );

    // A lawyer clicks it on a matter: Clio confirms the click, the request is made.
    let matter = firm.matter_ids[0];
    let link = sim
        .click_custom_action(button.id, firm.attorney_id, matter)
        .expect("click");
    let (status, page) = browse(&r, &link).await;
    assert_eq!((status, outcome(&page)), (200, "scheduled"), "{page}");
    let made = requests(&r).await;
    assert_eq!(made.len(), 1);
    assert_eq!(
        (made[0].matter_id, made[0].trigger.as_str()),
        (matter, "manual")
    );

    // The same link again (a refresh, a replay): Clio refuses the spent nonce; nothing is made.
    let (status, page) = browse(&r, &link).await;
    assert_eq!((status, outcome(&page)), (403, "not_confirmed"), "{page}");
    // A forged nonce, and a real one carried to another matter, are refused alike.
    let fresh = sim
        .click_custom_action(button.id, firm.attorney_id, matter)
        .expect("click");
    let forged = format!(
        "{}/clio/actions/send-review?custom_action_id={}&user_id={}&subject_url=/api/v4/matters/{matter}&custom_action_nonce=forged",
        r.s.api_url, button.id, firm.attorney_id
    );
    let elsewhere = fresh.replace(
        &format!("matters%2F{matter}"),
        &format!("matters%2F{}", firm.matter_ids[1]),
    );
    assert_ne!(elsewhere, fresh);
    for link in [&forged, &elsewhere] {
        let (status, page) = browse(&r, link).await;
        assert_eq!((status, outcome(&page)), (403, "not_confirmed"), "{link}");
    }
    // A click left for over a minute has expired.
    sim.advance_clock(std::time::Duration::from_secs(90));
    let (status, page) = browse(&r, &fresh).await;
    assert_eq!((status, outcome(&page)), (403, "not_confirmed"), "{page}");
    // Not a click at all.
    let (status, _) = browse(
        &r,
        &format!("{}/clio/actions/send-review?user_id=1", r.s.api_url),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        requests(&r).await.len(),
        1,
        "nothing refused made a request"
    );

    // A second real click within the cooldown is recorded, held back, and says why.
    let again = sim
        .click_custom_action(button.id, firm.attorney_id, matter)
        .expect("click");
    let (status, page) = browse(&r, &again).await;
    assert_eq!((status, outcome(&page)), (200, "restricted"), "{page}");
    assert!(page.contains("within the cooldown"), "{page}");

    // Someone deletes the button inside Clio: the scheduled pass registers it again.
    assert!(sim.remove_custom_action(button.id));
    let pass =
        r.s.connections
            .scheduled_pass()
            .await
            .expect("pass")
            .expect("ran");
    assert_eq!(pass.custom_actions.replaced, 1, "{:?}", pass.custom_actions);
    assert_eq!(buttons().len(), 1);

    // Turning the manual trigger off removes it; disconnecting does too.
    on(&r, json!({"triggers": ["closed"]})).await;
    assert!(buttons().is_empty(), "manual off: no button");
    on(&r, json!({"triggers": ["closed", "manual"]})).await;
    assert_eq!(buttons().len(), 1);
    let (status, body) =
        r.s.api_send(
            &r.bob,
            Method::POST,
            &format!("/api/connections/{}/disconnect", r.id),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(buttons().is_empty(), "disconnected: no button");
    stop(r, worker).await;
}
