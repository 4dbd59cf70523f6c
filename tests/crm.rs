//! The CRM contact feed end to end: the demo firm synced from the simulator, its projection
//! recomputed by the job a settings change starts, then kept current by `matterhook-worker-crm`
//! as Clio changes reach it through the receiver, the sync stage and its outbox.

use clio_sim::Kind;
use matterhook_e2e::{
    ingest::{eventually, Worker},
    referrals::sync,
    sync::Rig,
};
use reqwest::Method;
use serde_json::{json, Value};

/// The rig, with the CRM worker's consumer running (its jobs are run by the test).
async fn start(
    before_baseline: impl FnOnce(&clio_sim::Sim, &clio_sim::seed::DemoFirm),
) -> (Rig, Worker) {
    let mut r = Rig::start().await;
    let firm = r.s.p.world.firm.clone();
    before_baseline(&r.s.p.world.sim, &firm);
    r.baseline().await;
    let worker = r.s.p.start_worker(matterhook_crm::CrmProjector, 3).await;
    (r, worker)
}

/// Sets the `crm` section (merged with `enabled: true`) and runs the job it starts to the end:
/// the job as `GET /api/jobs/{id}` shows it.
async fn configure(r: &Rig, crm: Value) -> Value {
    let mut section = json!({"enabled": true});
    if let (Some(s), Value::Object(more)) = (section.as_object_mut(), crm) {
        s.extend(more);
    }
    let answer =
        r.s.http
            .patch(format!("{}/api/connections/{}/settings", r.s.api_url, r.id))
            .bearer_auth(&r.bob.token)
            .json(&json!({ "crm": section }))
            .send()
            .await
            .expect("answer");
    assert_eq!(answer.status(), 200, "{:?}", answer.text().await);
    let job = answer
        .headers()
        .get("Matterhook-Job")
        .and_then(|v| v.to_str().ok())
        .expect("a CRM change starts a job")
        .to_owned();
    let report = matterhook_crm::jobs::run_one(&r.s.p.pool)
        .await
        .expect("job runs");
    assert!(report.is_some(), "the job ran");
    let (status, shown) = r.s.api_send(&r.bob, Method::GET, &job, None).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["state"], "done", "{shown}");
    assert_eq!(shown["done"], shown["total"], "{shown}");
    shown
}

/// The connection's contacts as the CRM lists them (with `query`), by Clio id.
async fn listed(r: &Rig, query: &str) -> Vec<Value> {
    let (status, page) =
        r.s.api_send(
            &r.bob,
            Method::GET,
            &format!("/api/crm/contacts?limit=500{query}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["contact"].clone())
        .collect()
}

fn ids(contacts: &[Value]) -> Vec<i64> {
    contacts.iter().filter_map(|c| c["id"].as_i64()).collect()
}

/// One contact's projection (null once removed; `None` when never projected).
async fn one(r: &Rig, id: i64) -> Option<Value> {
    let (status, body) =
        r.s.api_send(
            &r.bob,
            Method::GET,
            &format!("/api/crm/contacts/{id}"),
            None,
        )
        .await;
    (status == 200).then(|| body["contact"].clone())
}

fn tags(contact: &Value) -> Vec<String> {
    contact["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until contact `id`'s projection satisfies `ok`.
async fn until(r: &Rig, id: i64, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    eventually(|| async {
        let c = one(r, id).await?;
        ok(&c).then_some(c)
    })
    .await
    .unwrap_or_else(|| panic!("contact {id}: {what}"))
}

async fn new_client_events(r: &Rig) -> Vec<i64> {
    let (status, page) =
        r.s.api_send(&r.bob, Method::GET, "/api/crm/events", None)
            .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .inspect(|e| assert_eq!(e["kind"], "contact.new_client"))
        .filter_map(|e| e["contact_id"].as_i64())
        .collect()
}

#[tokio::test]
async fn client_status_follows_the_matters_and_a_new_client_fires_once() {
    let (mut r, worker) = start(|_, _| {}).await;
    let firm = r.s.p.world.firm.clone();
    let [company, jane, jose, mary, wei, priya] = firm.contact_ids[..] else {
        panic!("the demo firm's contacts");
    };
    configure(&r, json!({})).await;

    // At connect: each person's standing, a company never a contact, and nobody fires.
    let all = listed(&r, "").await;
    assert_eq!(ids(&all), vec![jane, jose, mary, wei, priya], "{all:?}");
    let status_of = |id: i64| {
        all.iter()
            .find(|c| c["id"] == json!(id))
            .map(|c| c["client_status"].clone())
            .unwrap_or_default()
    };
    assert_eq!(status_of(jane), json!("Active Client"));
    assert_eq!(status_of(jose), json!("Pending Client"));
    assert_eq!(status_of(mary), json!("Past Client"));
    assert_eq!(status_of(priya), Value::Null);
    assert_eq!(one(&r, company).await, None, "a company is never a contact");
    let jane_tags = tags(&all[0]);
    for t in [
        "Clio",
        "Person",
        "Company",
        "Active Client",
        "Practice Area: Litigation",
    ] {
        assert!(jane_tags.contains(&t.to_owned()), "{t} in {jane_tags:?}");
    }
    assert!(tags(&all[1]).contains(&"Personal".to_owned()));
    assert!(
        new_client_events(&r).await.is_empty(),
        "clients at connect do not fire"
    );
    let (_, feed) =
        r.s.api_send(&r.bob, Method::GET, "/api/crm/changes", None)
            .await;
    let after = feed["next_after"].as_i64().expect("position");
    assert_eq!(feed["items"].as_array().map(Vec::len), Some(5), "{feed}");

    // Priya's first matter: a new client, once.
    let mut matter = 0;
    sync(&mut r, 1, |sim| {
        matter = sim
            .create(
                Kind::Matter,
                firm.account_id,
                json!({"client": {"id": priya}, "status": "Open", "description": "Visa",
                       "responsible_attorney": {"id": firm.attorney_id}}),
            )
            .expect("matter")
            .id;
    })
    .await;
    until(&r, priya, "Active Client", |c| {
        c["client_status"] == "Active Client"
    })
    .await;
    assert_eq!(new_client_events(&r).await, vec![priya]);
    let (_, feed) =
        r.s.api_send(
            &r.bob,
            Method::GET,
            &format!("/api/crm/changes?after={after}"),
            None,
        )
        .await;
    assert_eq!(
        ids(&feed["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["contact"].clone())
            .collect::<Vec<_>>()),
        vec![priya],
        "{feed}"
    );

    // Pending, closed, then a second matter: the tag follows; the event never fires again.
    sync(&mut r, 1, |sim| {
        sim.set_matter_status(matter, "pending").expect("pending");
    })
    .await;
    until(&r, priya, "Pending Client", |c| {
        c["client_status"] == "Pending Client"
    })
    .await;
    sync(&mut r, 1, |sim| {
        sim.set_matter_status(matter, "closed").expect("closed");
    })
    .await;
    let past = until(&r, priya, "Past Client", |c| {
        c["client_status"] == "Past Client"
    })
    .await;
    assert!(
        tags(&past).contains(&"Matter Stage: Closed".to_owned()),
        "{past}"
    );
    sync(&mut r, 1, |sim| {
        sim.create(
            Kind::Matter,
            firm.account_id,
            json!({"client": {"id": priya}, "status": "Open", "description": "Appeal"}),
        )
        .expect("second matter");
    })
    .await;
    until(&r, priya, "Active Client again", |c| {
        c["client_status"] == "Active Client"
    })
    .await;
    assert_eq!(new_client_events(&r).await, vec![priya], "once, ever");
    worker.stop().await.expect("stops");
    r.stop().await;
}

#[tokio::test]
async fn scope_primary_email_and_segments_choose_the_contacts() {
    let mut sam = 0;
    let (r, worker) = start(|sim, firm| {
        // Sam is no client, only related to Wei's matter; Jane has a second address.
        sam = sim
            .create(
                Kind::Contact,
                firm.account_id,
                json!({"type": "Person", "first_name": "Sam", "last_name": "Chen", "is_client": false,
                       "email_addresses": [{"address": "sam@example.net", "primary": true}]}),
            )
            .expect("sam")
            .id;
        sim.update(
            Kind::Matter,
            firm.matter_ids[4],
            json!({"relationships": [{"id": 1, "description": "Spouse", "contact": {"id": sam}}]}),
        )
        .expect("related");
        sim.update(
            Kind::Contact,
            firm.contact_ids[1],
            json!({"email_addresses": [
                {"address": "jane@home.example", "primary": false, "name": "Home"},
                {"address": "jane.doe@example.com", "primary": true, "name": "Work"}]}),
        )
        .expect("emails");
    })
    .await;
    let firm = r.s.p.world.firm.clone();
    let jane = firm.contact_ids[1];

    configure(&r, json!({})).await;
    assert!(
        !ids(&listed(&r, "").await).contains(&sam),
        "clients only by default"
    );
    let j = one(&r, jane).await.expect("jane");
    assert_eq!(
        j["emails"],
        json!(["jane.doe@example.com", "jane@home.example"]),
        "primary first"
    );

    configure(
        &r,
        json!({"scope": "clients_and_related", "primary_email_only": true,
               "tags": {"relationships": true, "related_practice_area": true}}),
    )
    .await;
    let s = one(&r, sam).await.expect("sam appears");
    let sam_tags = tags(&s);
    assert!(
        sam_tags.contains(&"Relationship: Spouse".to_owned()),
        "{sam_tags:?}"
    );
    assert!(
        sam_tags.contains(&"Related Practice Area: Litigation".to_owned()),
        "{sam_tags:?}"
    );
    assert_eq!(s["client_status"], Value::Null);
    let j = one(&r, jane).await.expect("jane");
    assert_eq!(j["emails"], json!(["jane.doe@example.com"]));

    configure(
        &r,
        json!({"scope": "all", "segment_tags": ["Pending Client"]}),
    )
    .await;
    assert_eq!(
        ids(&listed(&r, "").await),
        vec![firm.contact_ids[2]],
        "only José is pending"
    );
    // The others were removed from the feed, with their removal.
    let (_, feed) =
        r.s.api_send(&r.bob, Method::GET, "/api/crm/changes?limit=500", None)
            .await;
    let removed: Vec<i64> = feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["change"] == "removed")
        .filter_map(|i| i["id"].as_i64())
        .collect();
    assert!(removed.contains(&jane) && removed.contains(&sam), "{feed}");
    let (status, _) =
        r.s.api_send(
            &r.bob,
            Method::GET,
            "/api/crm/contacts?tag=Active%20Client",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(listed(&r, "&tag=Active%20Client").await.is_empty());
    worker.stop().await.expect("stops");
    r.stop().await;
}

#[tokio::test]
async fn ownership_follows_the_latest_matter_and_falls_back() {
    let (mut r, worker) = start(|_, _| {}).await;
    let firm = r.s.p.world.firm.clone();
    let (jane, priya) = (firm.contact_ids[1], firm.contact_ids[5]);
    configure(&r, json!({"scope": "all"})).await;
    assert_eq!(
        one(&r, jane).await.expect("jane")["owner"],
        json!(firm.attorney_id)
    );
    assert_eq!(
        one(&r, priya).await.expect("priya")["owner"],
        Value::Null,
        "no matter, no fallback"
    );
    assert_eq!(
        listed(&r, &format!("&owner={}", firm.attorney_id))
            .await
            .len(),
        3,
        "Alice is responsible for Jane's, Mary's and Wei's matters"
    );

    // A newer matter of Jane's with Ben responsible: Ben owns her now.
    sync(&mut r, 1, |sim| {
        sim.create(
            Kind::Matter,
            firm.account_id,
            json!({"client": {"id": jane}, "status": "Open", "description": "Second",
                   "responsible_attorney": {"id": firm.partner_id}, "originating_attorney": {"id": firm.staff_id}}),
        )
        .expect("matter");
    })
    .await;
    until(&r, jane, "owned by Ben", |c| {
        c["owner"] == json!(firm.partner_id)
    })
    .await;

    configure(
        &r,
        json!({"scope": "all", "ownership": "originating", "fallback_user": firm.staff_id}),
    )
    .await;
    assert_eq!(
        one(&r, jane).await.expect("jane")["owner"],
        json!(firm.staff_id)
    );
    assert_eq!(
        one(&r, priya).await.expect("priya")["owner"],
        json!(firm.staff_id),
        "the fallback"
    );

    configure(&r, json!({"scope": "all", "ownership": "primary_user", "primary_user": firm.partner_id, "fallback_user": null})).await;
    for c in listed(&r, "").await {
        assert_eq!(c["owner"], json!(firm.partner_id), "{c}");
    }
    let (status, body) =
        r.s.api_send(
            &r.bob,
            Method::PATCH,
            &format!("/api/connections/{}/settings", r.id),
            Some(json!({"crm": {"ownership": "primary_user", "primary_user": null}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("crm.primary_user")),
        "{body}"
    );
    worker.stop().await.expect("stops");
    r.stop().await;
}

#[tokio::test]
async fn custom_field_tags_of_each_allowed_type_appear_and_others_are_refused() {
    let (r, worker) = start(|sim, firm| {
        let field = |name: &str, t: &str| {
            let options = if t == "picklist" { json!(["Website", "Referral"]) } else { json!([]) };
            sim.create(
                Kind::CustomField,
                firm.account_id,
                json!({"name": name, "parent_type": "Contact", "field_type": t, "picklist_options": options}),
            )
            .expect("field")
            .id
        };
        // A picklist's value is its option's id, as in Clio.
        let source = field("Source", "picklist");
        let website = sim.get(Kind::CustomField, source).expect("field")["picklist_options"]
            .as_array()
            .and_then(|o| o.iter().find(|o| o["option"] == "Website"))
            .and_then(|o| o["id"].as_i64())
            .expect("the Website option");
        let values = json!([
            {"custom_field": {"id": field("VIP", "checkbox")}, "value": true},
            {"custom_field": {"id": field("Budget", "currency")}, "value": "2500.00"},
            {"custom_field": {"id": field("Referrals", "numeric")}, "value": 3},
            {"custom_field": {"id": field("Nickname", "text_line")}, "value": "JD"},
            {"custom_field": {"id": source}, "value": website},
            {"custom_field": {"id": field("Signed", "date")}, "value": "2026-01-02"},
        ]);
        sim.update(Kind::Contact, firm.contact_ids[1], json!({"custom_field_values": values}))
            .expect("values");
    })
    .await;
    let jane = r.s.p.world.firm.contact_ids[1];
    let (status, body) =
        r.s.api_send(
            &r.bob,
            Method::PATCH,
            &format!("/api/connections/{}/settings", r.id),
            Some(json!({"crm": {"enabled": true, "custom_field_tags": ["VIP", "Signed"]}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("crm.custom_field_tags[1]") && error.contains("date"),
        "{body}"
    );

    configure(
        &r,
        json!({"custom_field_tags": ["vip", "Budget", "Referrals", "Nickname", "Source"],
               "key_facts": {"birthday": true, "custom_date_fields": ["Signed"], "clio_id": true}}),
    )
    .await;
    let j = one(&r, jane).await.expect("jane");
    let t = tags(&j);
    for want in [
        "VIP",
        "Budget: 2500.00",
        "Referrals: 3",
        "Nickname: JD",
        "Source: Website",
    ] {
        assert!(t.contains(&want.to_owned()), "{want} in {t:?}");
    }
    assert_eq!(j["facts"]["Signed"], "2026-01-02");
    assert_eq!(j["facts"]["clio_id"], json!(jane.to_string()));
    worker.stop().await.expect("stops");
    r.stop().await;
}
