//! The sync stage when Clio or the connection fails: a 429 on one firm, a connection that needs
//! reauthorization, reads that keep failing, custom fields Clio forbids.

use matterhook_domain::Model;
use std::collections::HashSet;

use chrono::Utc;
use clio_sim::{ApiFault, ApiFaultKind, Kind};
use matterhook_e2e::{
    ingest::eventually,
    sync::{records_done, Rig},
};
use matterhook_store::{dead_letters, mirror, notifications};
use matterhook_sync::{BatchOutcome, SweepMode};
use serde_json::json;

#[tokio::test]
async fn a_429_storm_on_one_firm_does_not_hold_up_another() {
    // The re-read under a 429: webhooks' own data is not applied, so that only the re-read can
    // bring either firm's change in.
    let mut r = Rig::start_with(matterhook_sync::SyncHandler {
        apply_webhook_data: false,
        ..matterhook_e2e::sync::handler()
    })
    .await;
    let sim = r.s.p.world.sim.clone();
    let other = clio_sim::seed::demo_firm(&sim).expect("a second firm");
    let carol = r.s.user("carol@other.example").await;
    let (_, answer) = r.s.connect_as(&carol, other.attorney_id, "allow").await;
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.expect("json");
    let other_id = body["connection_id"].as_i64().expect("id");
    r.s.wait_enabled(other_id).await;
    r.baseline().await;
    r.stage
        .sweep_connection(other_id, SweepMode::Incremental)
        .await
        .expect("baseline");

    let (mine, theirs) = (r.s.p.world.firm.contact_ids[0], other.contact_ids[0]);
    let mark = r.deliveries();
    sim.update(Kind::Contact, mine, json!({"title": "Storm"}))
        .expect("update");
    sim.update(Kind::Contact, theirs, json!({"title": "Calm"}))
        .expect("update");
    r.settle(mark, 2).await;
    sim.inject_fault(ApiFault {
        kind: ApiFaultKind::RateLimit,
        count: 1,
        token: Some(r.access_token(r.id).await),
        retry_after_secs: 1,
        after: 0,
    });
    let outcomes = r.stage.drain().await.expect("drain");
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, BatchOutcome::Throttled(_))),
        "{outcomes:?}"
    );
    // The other firm's change is in; this firm's waits, held by its own Retry-After only.
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let theirs_row = mirror::contact(&mut conn, other.account_id, theirs)
        .await
        .expect("q")
        .expect("row");
    assert_eq!(theirs_row.title.as_deref(), Some("Calm"));
    assert_ne!(
        r.contact(mine).await.expect("row").title.as_deref(),
        Some("Storm")
    );
    assert!(r.waiting(r.id).await > 0);
    assert_eq!(r.waiting(other_id).await, 0);
    let held = matterhook_store::connections::get(&mut conn, r.id)
        .await
        .expect("q")
        .expect("row");
    assert!(held
        .sync_not_before
        .is_some_and(|t| t > Utc::now() - chrono::Duration::seconds(5)));
    drop(conn);

    // Once Clio's window reopens, the held work goes through.
    let synced = eventually(|| async {
        r.stage.drain().await.ok()?;
        (r.contact(mine).await?.title.as_deref() == Some("Storm")).then_some(())
    })
    .await;
    assert_eq!(synced, Some(()));
    r.stop().await;
}

#[tokio::test]
async fn work_of_a_connection_needing_reauthorization_is_parked_until_it_reconnects() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let sim = r.s.p.world.sim.clone();
    sim.revoke_grants_of(r.s.p.world.firm.attorney_id);
    let contact = r.s.p.world.firm.contact_ids[0];
    let mark = r.deliveries();
    sim.update(Kind::Contact, contact, json!({"title": "While away"}))
        .expect("update");
    r.settle(mark, 1).await;
    assert!(r.waiting(r.id).await > 0, "the change is queued");
    assert_eq!(r.s.status(r.id).await, "connected");

    let outcomes = r.stage.drain().await.expect("drain");
    assert_eq!(outcomes, vec![BatchOutcome::Parked]);
    assert_eq!(r.s.status(r.id).await, "needs_reauth");
    assert!(r.waiting(r.id).await > 0, "the work waits in the queue");
    // Parked, not dead, and not retried meanwhile.
    assert_eq!(r.stage.drain().await.expect("drain"), vec![]);
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let dead = dead_letters::count(&mut conn, &dead_letters::Filter::default())
        .await
        .expect("count");
    assert_eq!(dead, 0);
    drop(conn);

    // The user reconnects: the same connection, and its work goes through.
    let bob = matterhook_e2e::stack::User {
        id: r.bob.id,
        token: r.bob.token.clone(),
    };
    assert_eq!(r.s.connect(&bob).await, r.id);
    let outcomes = r.stage.drain().await.expect("drain");
    assert_eq!(records_done(&outcomes), 1, "{outcomes:?}");
    assert_eq!(
        r.contact(contact).await.expect("row").title.as_deref(),
        Some("While away")
    );
    assert_eq!(r.waiting(r.id).await, 0);
    r.stop().await;
}

#[tokio::test]
async fn failing_reads_are_retried_then_dead_lettered_and_replay_applies() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let sim = r.s.p.world.sim.clone();
    let contact = r.s.p.world.firm.contact_ids[1];
    let mark = r.deliveries();
    sim.update(Kind::Contact, contact, json!({"title": "Eventually"}))
        .expect("update");
    r.settle(mark, 1).await;
    sim.inject_fault(ApiFault {
        kind: ApiFaultKind::ServerError,
        count: 3,
        token: None,
        retry_after_secs: 1,
        after: 0,
    });
    let outcomes = r.stage.drain().await.expect("drain");
    assert!(
        matches!(
            outcomes[..],
            [
                BatchOutcome::Retrying { attempt: 1, .. },
                BatchOutcome::Retrying { attempt: 2, .. },
                BatchOutcome::DeadLettered {
                    records: 1,
                    reason: "attempts exhausted"
                }
            ]
        ),
        "{outcomes:?}"
    );
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let rows = dead_letters::list(&mut conn, &dead_letters::Filter::default(), 0, 10)
        .await
        .expect("list");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].queue, r.s.p.names.worker_queue("sync"));
    assert!(rows[0].error.contains("500"), "{}", rows[0].error);
    let ids = vec![rows[0].id];
    drop(conn);

    // Support replays it once Clio is well: the consumer takes it again and the batch applies it.
    let report = matterhook_bus::dead_letters::replay(
        &r.s.p.pool,
        &r.s.p.publisher,
        &matterhook_bus::dead_letters::Selection::Ids(ids),
        "support@test",
        false,
        |_| {},
    )
    .await
    .expect("replay");
    assert_eq!(report.done, 1, "{report:?}");
    // The consumer takes the replayed event again (its idempotency mark was forgotten).
    let queued = eventually(|| async { (r.waiting(r.id).await > 0).then_some(()) }).await;
    assert_eq!(queued, Some(()));
    let outcomes = r.stage.drain().await.expect("drain");
    assert_eq!(records_done(&outcomes), 1, "{outcomes:?}");
    assert_eq!(
        r.contact(contact).await.expect("row").title.as_deref(),
        Some("Eventually")
    );
    r.stop().await;
}

#[tokio::test]
async fn custom_fields_clio_forbids_are_recorded_and_the_rest_syncs() {
    let r = Rig::start().await;
    let sim = &r.s.p.world.sim;
    sim.deny(r.s.p.world.firm.attorney_id, &["custom_fields"]);
    let reports = r
        .stage
        .sweep_connection(r.id, SweepMode::Incremental)
        .await
        .expect("sweep");
    let fields = reports
        .iter()
        .find(|s| s.model == matterhook_domain::Model::CustomField)
        .expect("report");
    assert!(fields.forbidden);
    let mut conn = r.s.p.pool.get().await.expect("conn");
    assert_eq!(
        mirror::count_live(&mut conn, Model::Matter, r.account)
            .await
            .expect("count") as usize,
        sim.count(Kind::Matter, r.account)
    );
    assert_eq!(
        mirror::count_live(&mut conn, Model::CustomField, r.account)
            .await
            .expect("count"),
        0
    );
    let row = matterhook_store::connections::get(&mut conn, r.id)
        .await
        .expect("q")
        .expect("row");
    assert!(row.custom_fields_forbidden_at.is_some());
    let kinds: HashSet<String> = notifications::for_user(&mut conn, r.bob.id, false, 50)
        .await
        .expect("notifications")
        .into_iter()
        .map(|n| n.kind)
        .collect();
    assert!(kinds.contains("custom_fields_forbidden"), "{kinds:?}");
    drop(conn);
    r.stop().await;
}

/// The chaos run's defect: during a burst of Clio 500s under steady load, each new webhook for a
/// failing record used to retry it at once, so records ran out of attempts within seconds and
/// were dead-lettered (or parked for up to an hour) while the sync stage kept calling Clio at
/// full rate. Now a failing connection's reads pause and probe, new events wait with their
/// record's retry, and once Clio answers the waiting records are read at once: nothing is
/// dead-lettered and the mirror equals Clio within two minutes of the outage's end.
#[tokio::test]
async fn twenty_seconds_of_clio_500s_under_load_lose_nothing_and_pause_reads() {
    use std::time::Duration;

    use clio_sim::ApiOutage;
    use matterhook_e2e::ingest::eventually_within;
    use matterhook_sync::{SyncConfig, SyncStage};

    // A budget the load fits in: what is measured is the outage, not Clio's rate limit.
    let r = Rig::start_tuned(matterhook_e2e::sync::handler(), |sim| {
        sim.configure(|c| c.rate_limit = 100_000);
    })
    .await;
    let sim = r.s.p.world.sim.clone();
    // Three busy records, changed every tenth of a second, and 200 quiet ones changed in turn.
    let busy = r.s.p.world.firm.contact_ids[..3].to_vec();
    let quiet = clio_sim::seed::bulk_contacts(&sim, r.account, 200).expect("contacts");
    r.baseline().await;
    r.stage.drain().await.expect("the creations' events");
    // The production stage (its backoff, attempts and circuit), batching on its own.
    let stage = SyncStage::new(
        r.s.p.pool.clone(),
        r.s.connections.clone(),
        SyncConfig {
            names: r.s.p.names.clone(),
            ..SyncConfig::default()
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let batcher = tokio::spawn(async move {
        stage
            .run_batches(async {
                let _ = stopped.await;
            })
            .await;
    });

    // 30 s of load; Clio fails every call from the 5th second to the 25th.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut calls_at_outage = 0;
    for n in 0..300_usize {
        tick.tick().await;
        if n == 50 {
            calls_at_outage = r.clio_calls();
            sim.inject_outage(ApiOutage {
                kind: ApiFaultKind::ServerError,
                for_ms: 20_000,
                token: None,
                retry_after_secs: 1,
            });
        }
        if n == 250 {
            // The outage ends about now: what it cost in calls.
            let during = r.clio_calls() - calls_at_outage;
            assert!(
                during <= 20,
                "{during} calls to Clio during a 20 s outage: reads were not paused"
            );
        }
        let change = json!({"title": format!("Change {n}")});
        for id in [busy[n % busy.len()], quiet[n % quiet.len()]] {
            sim.update(Kind::Contact, id, change.clone())
                .expect("update");
        }
    }

    let contacts: Vec<i64> = busy.iter().chain(&quiet).copied().collect();
    let in_step = eventually_within(Duration::from_secs(120), || async {
        for &id in &contacts {
            let clio = sim.get(Kind::Contact, id).expect("in Clio");
            let mirrored = r.contact(id).await?;
            if mirrored.title.as_deref() != clio["title"].as_str() {
                return None;
            }
        }
        Some(())
    })
    .await;
    let _ = stop.send(());
    batcher.await.expect("batcher");
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let letters = dead_letters::list(&mut conn, &dead_letters::Filter::default(), 0, 10)
        .await
        .expect("list");
    assert!(letters.is_empty(), "dead-lettered: {letters:?}");
    assert_eq!(
        in_step,
        Some(()),
        "the mirror is not Clio's state two minutes after the outage"
    );
    drop(conn);
    r.stop().await;
}
