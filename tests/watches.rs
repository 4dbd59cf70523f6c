//! Watches end to end: matters of the demo firm imported from the mirror, synced from Clio (the
//! simulator) one at a time, all at once as a job, and by the watches worker when Clio changes,
//! by the rules of `matterhook_domain::watches`.

use clio_sim::Kind;
use matterhook_e2e::{
    ingest::{eventually, Worker},
    referrals::sync,
    sync::Rig,
};
use reqwest::Method;
use serde_json::{json, Value};

/// Mary O'Brien's birth date and address, which the demo firm leaves out.
fn mary_details(sim: &clio_sim::Sim, firm: &clio_sim::seed::DemoFirm) {
    sim.update(
        Kind::Contact,
        firm.contact_ids[3],
        json!({"date_of_birth": "1950-03-14", "addresses": [
            {"name": "Home", "street": "1 Elm St", "city": "Somerville", "province": "MA", "postal_code": "02143", "country": "US"},
            {"name": "Work", "street": "9 Court St", "city": "Boston", "province": "MA", "postal_code": "02108", "country": "US", "primary": true}
        ]}),
    )
    .expect("Mary's details");
    // Created closed, the demo matter has no open date of its own.
    sim.update(
        Kind::Matter,
        firm.matter_ids[2],
        json!({"open_date": "2025-06-02"}),
    )
    .expect("open date");
}

async fn settings(r: &Rig, watches: Value) {
    let (status, body) =
        r.s.api_send(
            &r.bob,
            Method::PATCH,
            &format!("/api/connections/{}/settings", r.id),
            Some(json!({ "watches": watches })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn import(r: &Rig, matters: &[i64]) -> (u16, Value) {
    r.s.api_send(
        &r.bob,
        Method::POST,
        "/api/watches/import",
        Some(json!({ "matter_ids": matters })),
    )
    .await
}

async fn watch(r: &Rig, id: i64) -> Value {
    let (status, body) =
        r.s.api_send(&r.bob, Method::GET, &format!("/api/watches/{id}"), None)
            .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn sync_now(r: &Rig, id: i64) -> Value {
    let (status, body) =
        r.s.api_send(
            &r.bob,
            Method::POST,
            &format!("/api/watches/{id}/sync"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn changed_fields(answer: &Value) -> Vec<String> {
    answer["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["field"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn import_then_sync_one_by_the_rules_never_touching_local_fields() {
    let r = Rig::start().await;
    let firm = r.s.p.world.firm.clone();
    let sim = r.s.p.world.sim.clone();
    mary_details(&sim, &firm);
    r.baseline().await;
    let (mary, mary_matter, jane_matter) =
        (firm.contact_ids[3], firm.matter_ids[2], firm.matter_ids[0]);
    settings(&r, json!({"mapping": {"litigation": "Civil Litigation"}})).await;

    // The browser finds Mary's matter by its description, and by status.
    let (status, page) =
        r.s.api_send(
            &r.bob,
            Method::GET,
            "/api/clio/matters?q=ESTATE&status=Closed",
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let found: Vec<i64> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["id"].as_i64())
        .collect();
    assert_eq!(found, vec![mary_matter], "{page}");
    assert_eq!(page["items"][0]["watch_id"], Value::Null);

    // Import: every mapped field; the case type through the mapping. Again: nothing new.
    let (status, imported) = import(&r, &[mary_matter, jane_matter, 999_999]).await;
    assert_eq!(status, 201, "{imported}");
    assert_eq!(imported["created"], 2);
    assert_eq!(imported["unknown"], json!([999_999]));
    let w = &imported["watches"][0];
    let id = w["id"].as_i64().expect("id");
    let clio_matter = sim.get(Kind::Matter, mary_matter).expect("matter");
    assert_eq!(
        w["fields"],
        json!({
            "first_name": "Mary", "last_name": "O'Brien", "date_of_birth": "1950-03-14",
            "city": "Boston", "state": "MA",
            "case_number": clio_matter["display_number"], "assigned_to": "Alice Hartley",
            "case_type": "Civil Litigation", "date_of_interest": clio_matter["open_date"],
        }),
        "{w}"
    );
    assert_eq!(w["clio_status"], "Closed");
    let (status, again) = import(&r, &[mary_matter]).await;
    assert_eq!(
        (status, again["created"].clone()),
        (200, json!(0)),
        "{again}"
    );
    assert_eq!(again["watches"][0]["id"], json!(id));
    let (_, page) =
        r.s.api_send(&r.bob, Method::GET, "/api/clio/matters?q=estate", None)
            .await;
    assert_eq!(page["items"][0]["watch_id"], json!(id));

    // The user edits the city and the local fields.
    let (status, edited) =
        r.s.api_send(
            &r.bob,
            Method::PATCH,
            &format!("/api/watches/{id}"),
            Some(
                json!({"fields": {"city": " Salem "}, "notes": "Check the obituary pages weekly",
                        "tags": ["estate", "priority-list", "estate"], "priority": "high"}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["fields"]["city"], "Salem");
    assert_eq!(edited["edited"], json!(["city"]));
    assert_eq!(edited["tags"], json!(["estate", "priority-list"]));

    // Clio: a new last name, the birth date emptied, another city.
    sim.update(
        Kind::Contact,
        mary,
        json!({"last_name": "O'Brien-Walsh", "date_of_birth": null, "addresses": [
            {"name": "Work", "city": "Cambridge", "province": "MA", "primary": true}]}),
    )
    .expect("Clio change");
    let calls = r.clio_calls();
    let answer = sync_now(&r, id).await;
    assert!(r.clio_calls() - calls <= 2, "the matter and its client");
    assert_eq!(changed_fields(&answer), vec!["last_name"], "{answer}");
    let w = &answer["watch"];
    assert_eq!(w["fields"]["last_name"], "O'Brien-Walsh");
    assert_eq!(
        w["fields"]["date_of_birth"], "1950-03-14",
        "an empty Clio value keeps ours"
    );
    assert_eq!(
        w["fields"]["city"], "Salem",
        "keep_local keeps the user's edit"
    );
    assert_eq!(
        w["conflicts"],
        json!([{"field": "city", "ours": "Salem", "clio": "Cambridge"}])
    );
    assert_eq!(
        (w["notes"].clone(), w["priority"].clone()),
        (json!("Check the obituary pages weekly"), json!("high"))
    );
    assert_eq!(w["tags"], json!(["estate", "priority-list"]));

    // The user accepts Clio's city: it follows Clio again.
    let (status, accepted) =
        r.s.api_send(
            &r.bob,
            Method::POST,
            &format!("/api/watches/{id}/accept"),
            Some(json!({"fields": ["city"]})),
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["fields"]["city"], "Cambridge");
    assert_eq!(accepted["conflicts"], json!([]));

    // prefer_clio: Clio's non-empty value replaces an edit.
    settings(&r, json!({"conflict": "prefer_clio"})).await;
    r.s.api_send(
        &r.bob,
        Method::PATCH,
        &format!("/api/watches/{id}"),
        Some(json!({"fields": {"city": "Salem"}})),
    )
    .await;
    let answer = sync_now(&r, id).await;
    assert_eq!(answer["watch"]["fields"]["city"], "Cambridge", "{answer}");
    assert_eq!(answer["watch"]["conflicts"], json!([]));
    assert_eq!(answer["watch"]["notes"], "Check the obituary pages weekly");

    // Reopened, then deleted in Clio: the watch stays, marked.
    sim.set_matter_status(mary_matter, "open").expect("reopen");
    let answer = sync_now(&r, id).await;
    assert_eq!(answer["watch"]["clio_status"], "Open", "{answer}");
    sim.delete(Kind::Matter, mary_matter).expect("delete");
    let answer = sync_now(&r, id).await;
    assert_eq!(answer["watch"]["clio_deleted"], true, "{answer}");
    assert_eq!(answer["watch"]["fields"]["last_name"], "O'Brien-Walsh");
    let (_, list) =
        r.s.api_send(&r.bob, Method::GET, "/api/watches", None)
            .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
    let history = watch(&r, id).await["history"].clone();
    let sources: Vec<&str> = history
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["source"].as_str())
        .collect();
    for s in ["import", "edit", "sync", "accept"] {
        assert!(sources.contains(&s), "{s} in {history}");
    }

    // Refusals change nothing.
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/watches/{id}"),
            json!({"fields": {"shoe_size": "9"}}),
        ),
        (
            Method::PATCH,
            format!("/api/watches/{id}"),
            json!({"fields": {"date_of_birth": "14/03/1950"}}),
        ),
        (
            Method::PATCH,
            format!("/api/watches/{id}"),
            json!({"priority": "urgent"}),
        ),
        (
            Method::POST,
            format!("/api/watches/{id}/accept"),
            json!({"fields": ["city"]}),
        ),
        (
            Method::POST,
            "/api/watches/import".into(),
            json!({"matter_ids": []}),
        ),
    ] {
        let (status, body) = r.s.api_send(&r.bob, method, &path, Some(body)).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
    let (status, _) =
        r.s.api_send(&r.bob, Method::GET, "/api/clio/matters?status=Lost", None)
            .await;
    assert_eq!(status, 400);
    let eve = r.s.user("eve@elsewhere.example").await;
    for (method, path) in [
        (Method::GET, format!("/api/watches/{id}")),
        (Method::POST, format!("/api/watches/{id}/sync")),
    ] {
        let (status, _) = r.s.api_send(&eve, method, &path, None).await;
        assert_eq!(status, 404, "{path}: another user's watch");
    }
    assert_eq!(watch(&r, id).await["fields"]["city"], "Cambridge");
    r.stop().await;
}

/// The rig with the watches worker's consumer.
async fn with_worker() -> (Rig, Worker) {
    let mut r = Rig::start().await;
    r.baseline().await;
    let worker = r.s.p.start_worker(matterhook_watches::WatchSyncer, 3).await;
    (r, worker)
}

async fn until(r: &Rig, id: i64, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    eventually(|| async {
        let w = watch(r, id).await;
        ok(&w).then_some(w)
    })
    .await
    .unwrap_or_else(|| panic!("watch {id}: {what}"))
}

#[tokio::test]
async fn a_change_in_clio_reaches_its_watch_without_any_button() {
    let (mut r, worker) = with_worker().await;
    let firm = r.s.p.world.firm.clone();
    let (jane, matter) = (firm.contact_ids[1], firm.matter_ids[0]);
    let (_, imported) = import(&r, &[matter]).await;
    let id = imported["watches"][0]["id"].as_i64().expect("id");
    r.s.api_send(
        &r.bob,
        Method::PATCH,
        &format!("/api/watches/{id}"),
        Some(json!({"notes": "mine"})),
    )
    .await;

    // The matter: another responsible attorney and practice area.
    sync(&mut r, 1, |sim| {
        sim.update(
            Kind::Matter,
            matter,
            json!({"responsible_attorney": {"id": firm.partner_id},
                   "practice_area": {"id": 502, "name": "Estate Planning"}}),
        )
        .expect("matter change");
    })
    .await;
    let w = until(&r, id, "the matter's change", |w| {
        w["fields"]["case_type"] == "Estate Planning"
    })
    .await;
    assert_ne!(w["fields"]["assigned_to"], "Alice Hartley", "{w}");
    assert_eq!(w["notes"], "mine");

    // The client: a new last name.
    sync(&mut r, 1, |sim| {
        sim.update(Kind::Contact, jane, json!({"last_name": "Doe-Park"}))
            .expect("contact change");
    })
    .await;
    until(&r, id, "the client's change", |w| {
        w["fields"]["last_name"] == "Doe-Park"
    })
    .await;

    // Closed, then deleted: marked, kept.
    sync(&mut r, 1, |sim| {
        sim.set_matter_status(matter, "closed").expect("close");
    })
    .await;
    until(&r, id, "closed", |w| w["clio_status"] == "Closed").await;
    sync(&mut r, 1, |sim| {
        sim.delete(Kind::Matter, matter).expect("delete");
    })
    .await;
    let w = until(&r, id, "deleted", |w| w["clio_deleted"] == true).await;
    assert_eq!(w["fields"]["last_name"], "Doe-Park");
    let history = w["history"].as_array().expect("history");
    let by_event = history.iter().filter(|h| h["source"] == "event").count();
    assert_eq!(
        by_event, 3,
        "case type, assigned to, last name; once each: {w}"
    );
    worker.stop().await.expect("stops");
    r.stop().await;
}

/// How many people and matters Sync All covers.
const MANY: usize = 250;

#[tokio::test]
async fn sync_all_reads_250_watches_in_pages_with_progress_and_logins_and_schedules_start_it() {
    let mut matters = Vec::new();
    let mut people = Vec::new();
    let r = Rig::start_tuned(matterhook_e2e::sync::handler(), |sim| {
        let firm = sim.demo().expect("the demo firm");
        for i in 0..MANY {
            let person = sim
                .create(
                    Kind::Contact,
                    firm.account_id,
                    json!({"type": "Person", "first_name": format!("Person{i}"), "last_name": "Many",
                           "is_client": true, "date_of_birth": "1940-01-01"}),
                )
                .expect("person");
            people.push(person.id);
            matters.push(
                sim.create(
                    Kind::Matter,
                    firm.account_id,
                    json!({"client": {"id": person.id}, "status": "Open", "description": format!("Estate {i}"),
                           "practice_area": {"id": 501, "name": "Litigation"}}),
                )
                .expect("matter")
                .id,
            );
        }
    })
    .await;
    r.baseline().await;
    for part in matters.chunks(200) {
        let (status, body) = import(&r, part).await;
        assert_eq!(status, 201, "{body}");
    }

    // A login with sync_on_login starts a sync (none yet); its job runs Sync All.
    settings(&r, json!({"sync_on_login": true})).await;
    let (status, login) =
        r.s.api_send(&r.bob, Method::POST, "/api/sessions", None)
            .await;
    assert_eq!(status, 201, "{login}");
    assert_eq!(login["syncs"].as_array().map(Vec::len), Some(1), "{login}");
    let ran = matterhook_watches::jobs::run_one(&r.s.p.pool, &r.stage)
        .await
        .expect("runs")
        .expect("a job");
    assert_eq!(ran.watches, MANY);

    // Ten clients renamed in Clio; Sync All from the button.
    let sim = r.s.p.world.sim.clone();
    for person in &people[..10] {
        sim.update(Kind::Contact, *person, json!({"last_name": "Renamed"}))
            .expect("rename");
    }
    let (status, job) =
        r.s.api_send(&r.bob, Method::POST, "/api/watches/sync", Some(json!({})))
            .await;
    assert_eq!(status, 202, "{job}");
    let path = format!("/api/jobs/{}", job["id"]);
    let (_, queued) = r.s.api_send(&r.bob, Method::GET, &path, None).await;
    assert_eq!(queued["state"], "queued", "{queued}");
    let calls = r.clio_calls();
    let ran = matterhook_watches::jobs::run_one(&r.s.p.pool, &r.stage)
        .await
        .expect("runs")
        .expect("a job");
    let made = r.clio_calls() - calls;
    // 250 matters in two `ids[]` reads, the renamed clients in one more.
    assert!(made <= 3 + 2, "{made} calls");
    assert_eq!((ran.watches, ran.changes), (MANY, 10), "{ran:?}");
    let (_, done) = r.s.api_send(&r.bob, Method::GET, &path, None).await;
    assert_eq!(
        (
            done["state"].clone(),
            done["done"].clone(),
            done["total"].clone()
        ),
        (json!("done"), json!(MANY), json!(MANY)),
        "{done}"
    );
    let (_, first) =
        r.s.api_send(&r.bob, Method::GET, "/api/watches?limit=1", None)
            .await;
    assert_eq!(
        first["items"][0]["fields"]["last_name"], "Renamed",
        "{first}"
    );

    // Logged in again within the hour: no sync. The daily schedule: due a day after the last.
    let (_, login) =
        r.s.api_send(&r.bob, Method::POST, "/api/sessions", None)
            .await;
    assert_eq!(login["syncs"], json!([]), "{login}");
    settings(&r, json!({"auto_sync": true, "frequency": "daily"})).await;
    let now = chrono::Utc::now();
    let due = |at| matterhook_watches::jobs::queue_due(&r.s.p.pool, at);
    assert_eq!(due(now).await.expect("schedule"), 0, "synced just now");
    assert_eq!(
        due(now + chrono::Duration::hours(25))
            .await
            .expect("schedule"),
        1,
        "a day later"
    );
    r.stop().await;
}
