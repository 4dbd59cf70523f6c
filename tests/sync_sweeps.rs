//! Sweeps: the baseline read of a firm, catching what lapsed webhooks missed, resuming midway.

use clio_sim::{ApiFault, ApiFaultKind, Kind};
use matterhook_domain::Model;
use matterhook_e2e::sync::{config, Rig};
use matterhook_store::mirror;
use matterhook_sync::{SweepMode, SyncConfig, SyncStage};

#[tokio::test]
async fn the_baseline_mirrors_the_firm_normalised_and_announces_nothing() {
    let r = Rig::start().await;
    r.baseline().await;
    let sim = &r.s.p.world.sim;
    let mut conn = r.s.p.pool.get().await.expect("conn");
    for (kind, model) in [
        (Kind::Matter, Model::Matter),
        (Kind::Contact, Model::Contact),
        (Kind::Bill, Model::Bill),
        (Kind::User, Model::User),
        (Kind::CustomField, Model::CustomField),
    ] {
        let mirrored = mirror::count_live(&mut conn, model, r.account)
            .await
            .expect("count");
        assert_eq!(mirrored as usize, sim.count(kind, r.account), "{model}");
    }
    // History is not news: no domain events for what the firm already had.
    assert_eq!(r.outbox().await, vec![]);

    // Every phone of every contact is found again by its E.164 form, however Clio spelt it.
    let mut phones = 0;
    for id in &r.s.p.world.firm.contact_ids {
        let rec = sim.get(Kind::Contact, *id).expect("in Clio");
        for p in rec["phone_numbers"].as_array().into_iter().flatten() {
            let raw = p["number"].as_str().expect("number");
            let n = matterhook_domain::contact_points::normalise_phone(
                raw,
                Some(phonenumber::country::Id::US),
            )
            .expect("a number");
            let found =
                mirror::contacts_by_phone(&mut conn, r.account, n.e164.as_deref(), &n.national)
                    .await
                    .expect("lookup");
            assert!(found.contains(id), "{raw} finds contact {id}: {found:?}");
            phones += 1;
        }
        // Emails are stored lower-cased and trimmed.
        if let Some(email) = rec["primary_email_address"].as_str() {
            let found =
                mirror::contacts_by_email(&mut conn, r.account, &email.trim().to_lowercase())
                    .await
                    .expect("lookup");
            assert!(found.contains(id));
        }
    }
    assert!(phones >= 3, "the demo firm has phone numbers: {phones}");
    drop(conn);
    r.stop().await;
}

/// A firm keeps working while it connects: a matter opened after the connection was made, that
/// the first sweep reads before its webhook is handled, is news (its referral must still link),
/// while everything the firm had before is history.
#[tokio::test]
async fn the_baseline_announces_what_the_firm_created_after_connecting() {
    let mut r = Rig::start().await;
    // The webhook waits in its queue: the baseline reads the new matter first.
    r.worker
        .take()
        .expect("the sync consumer")
        .stop()
        .await
        .expect("stops");
    let client = r.s.p.world.firm.contact_ids[1];
    let matter =
        r.s.p
            .world
            .sim
            .create(
                Kind::Matter,
                r.account,
                serde_json::json!({"client": {"id": client}, "status": "Open",
                               "description": "Opened while connecting"}),
            )
            .expect("created")
            .id;
    r.baseline().await;
    let events: Vec<(String, i64)> = r
        .outbox()
        .await
        .into_iter()
        .map(|(k, m)| (k, m["event"]["record"].as_i64().unwrap_or_default()))
        .collect();
    assert_eq!(
        events,
        vec![("sync.matter.opened".to_owned(), matter)],
        "the new matter is announced once; the firm's history is not"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_sweep_catches_what_changed_while_the_webhooks_had_expired() {
    let r = Rig::start().await;
    r.baseline().await;
    let sim = r.s.p.world.sim.clone();
    sim.advance_clock(std::time::Duration::from_secs(32 * 24 * 3600));
    let matter = r.s.p.world.firm.matter_ids[0];
    let (before, _) = r.clio_matter(matter);
    let mark = r.deliveries();
    sim.set_matter_status(matter, if before == "Closed" { "open" } else { "closed" })
        .expect("status");
    // Expired webhooks deliver nothing.
    assert!(sim
        .deliveries()
        .iter()
        .skip(mark)
        .all(|d| d.event == "handshake"));

    // The scheduler replaces the lapsed webhooks and asks for sweeps; the sync worker runs them.
    let pass =
        r.s.connections
            .scheduled_pass()
            .await
            .expect("pass")
            .expect("ran");
    assert_eq!(pass.subscriptions.replaced, 3, "{pass:?}");
    let reports = r.stage.sweep_due().await.expect("sweeps");
    let missed: Vec<(String, usize)> = reports
        .iter()
        .map(|s| (s.model.to_string(), s.missed))
        .collect();
    println!("sweeps after the lapse: {missed:?}");
    assert!(missed.contains(&("matter".into(), 1)), "{missed:?}");
    assert_eq!(
        missed.iter().map(|(_, n)| n).sum::<usize>(),
        1,
        "{missed:?}"
    );
    let row = r.matter(matter).await.expect("mirrored");
    assert_eq!(
        row.status.map(|s| s.as_str().to_owned()),
        Some(r.clio_matter(matter).0)
    );
    let events: Vec<String> = r.outbox().await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(events, ["sync.matter.status_changed"]);
    // The requests are done: the next round sweeps nothing.
    assert!(r.stage.sweep_due().await.expect("sweeps").is_empty());
    r.stop().await;
}

#[tokio::test]
async fn a_sweep_that_stops_midway_resumes_from_the_page_it_reached() {
    let r = Rig::start().await;
    let sim = r.s.p.world.sim.clone();
    clio_sim::seed::bulk_contacts(&sim, r.account, 450).expect("contacts");
    let total = sim.count(Kind::Contact, r.account);
    assert!(total > 400, "three pages of 200");
    // The first page is read; the second fails.
    sim.inject_fault(ApiFault {
        kind: ApiFaultKind::ServerError,
        count: 1,
        token: None,
        retry_after_secs: 1,
        after: 1,
    });
    assert!(r
        .stage
        .sweep(r.id, Model::Contact, SweepMode::Incremental)
        .await
        .is_err());
    let mut conn = r.s.p.pool.get().await.expect("conn");
    assert_eq!(
        mirror::count_live(&mut conn, Model::Contact, r.account)
            .await
            .expect("count"),
        200
    );
    let cursor = contact_cursor(&mut conn, r.id).await;
    assert!(
        cursor.next_page.is_some() && cursor.last_error.is_some(),
        "{cursor:?}"
    );
    assert!(cursor.swept_until.is_none());

    // The next sweep reads only the pages not yet read.
    let before = r.clio_calls();
    let report = r
        .stage
        .sweep(r.id, Model::Contact, SweepMode::Incremental)
        .await
        .expect("resumes");
    assert_eq!(r.clio_calls() - before, 2, "pages two and three");
    assert_eq!(report.seen, total - 200);
    assert_eq!(
        mirror::count_live(&mut conn, Model::Contact, r.account)
            .await
            .expect("count") as usize,
        total
    );
    let cursor = contact_cursor(&mut conn, r.id).await;
    assert!(
        cursor.next_page.is_none() && cursor.swept_until.is_some(),
        "{cursor:?}"
    );
    drop(conn);
    r.stop().await;
}

/// The contact sweep's cursor of a connection.
async fn contact_cursor(
    conn: &mut matterhook_store::AsyncPgConnection,
    connection_id: i64,
) -> matterhook_store::sync_cursors::Cursor {
    matterhook_store::sync_cursors::of(conn, connection_id)
        .await
        .expect("cursors")
        .into_iter()
        .find(|c| c.model == matterhook_domain::Model::Contact)
        .expect("cursor")
}

/// Clio lists no deleted records, so an `updated_since` sweep cannot see a deletion no webhook
/// reported. The periodic sweep lists everything once the last complete listing is a week old,
/// and what it lacks is re-read: Clio's 404 marks it deleted.
#[tokio::test]
async fn a_deletion_no_webhook_reported_is_found_by_the_weekly_full_sweep() {
    let r = Rig::start().await;
    r.baseline().await;
    let sim = r.s.p.world.sim.clone();
    // A month on, the webhooks have lapsed: the deletion delivers nothing.
    sim.advance_clock(std::time::Duration::from_secs(32 * 24 * 3600));
    let contact = r.s.p.world.firm.contact_ids[2];
    let mark = r.deliveries();
    sim.delete(Kind::Contact, contact).expect("deleted");
    assert!(sim
        .deliveries()
        .iter()
        .skip(mark)
        .all(|d| d.event == "handshake"));

    let report = r
        .stage
        .sweep(r.id, Model::Contact, SweepMode::Incremental)
        .await
        .expect("sweep");
    assert_eq!(report.unlisted, 0, "an incremental listing proves nothing");
    assert!(r.contact(contact).await.expect("row").deleted_at.is_none());

    // Every periodic sweep due at once; the last complete listing was the baseline, 32 days ago.
    let periodic = SyncStage::new(
        r.s.p.pool.clone(),
        r.s.connections.clone(),
        SyncConfig {
            sweep_interval: std::time::Duration::ZERO,
            ..config(&r.s)
        },
    );
    let reports = periodic.sweep_due().await.expect("sweeps");
    let unlisted: Vec<(String, usize)> = reports
        .iter()
        .filter(|s| s.unlisted > 0)
        .map(|s| (s.model.to_string(), s.unlisted))
        .collect();
    assert_eq!(unlisted, [("contact".to_owned(), 1)], "{reports:?}");
    r.stage.drain().await.expect("drain");
    assert!(r.contact(contact).await.expect("row").deleted_at.is_some());
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let live = mirror::count_live(&mut conn, Model::Contact, r.account)
        .await
        .expect("count");
    assert_eq!(live as usize, sim.count(Kind::Contact, r.account));
    let cursor = contact_cursor(&mut conn, r.id).await;
    assert!(cursor
        .last_full_at
        .is_some_and(|at| at > sim.now() - chrono::Duration::hours(1)));
    drop(conn);

    // The listing is fresh again: the next periodic sweeps are incremental.
    let reports = periodic.sweep_due().await.expect("sweeps");
    assert!(reports.iter().all(|s| s.unlisted == 0), "{reports:?}");
    r.stop().await;
}
