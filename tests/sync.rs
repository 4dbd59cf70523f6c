//! The sync stage end to end: Clio's webhooks through the receiver and the broker into the sync
//! queue, re-read from the simulator in batches, written to the mirror with domain events in the
//! outbox, and published by the relay.

use clio_sim::{DeliveryFault, DeliveryFaultKind, Kind};
use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use matterhook_clio::models::Matter;
use matterhook_domain::sync_events::Read as ReadKind;
use matterhook_domain::{MatterStatus, Model};
use matterhook_e2e::{
    sync::{records_done, Rig},
    PATIENCE,
};
use matterhook_store::mirror;
use matterhook_sync::{apply, records, relay};
use serde_json::{json, Value};

#[tokio::test]
async fn a_burst_of_updates_in_one_firm_costs_a_few_clio_calls() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let sim = r.s.p.world.sim.clone();
    let mark = r.deliveries();
    let ids = clio_sim::seed::bulk_contacts(&sim, r.account, 250).expect("contacts");
    for (i, id) in ids.iter().enumerate() {
        sim.update(Kind::Contact, *id, json!({"title": format!("Title {i}")}))
            .expect("update");
    }
    // 250 created and 250 updated events.
    r.settle(mark, 500).await;
    assert!(r.waiting(r.id).await >= 500);

    let before = r.clio_calls();
    let outcomes = r.stage.drain().await.expect("drain");
    let calls = r.clio_calls() - before;
    println!("250 contacts, 500 events: {calls} Clio calls");
    assert_eq!(records_done(&outcomes), 250);
    assert!(calls <= 2, "250 distinct records cost {calls} calls");
    assert_eq!(r.waiting(r.id).await, 0);
    for (i, id) in ids.iter().enumerate() {
        let row = r.contact(*id).await.expect("mirrored");
        assert_eq!(row.title, Some(format!("Title {i}")));
    }
    r.stop().await;
}

#[tokio::test]
async fn duplicated_and_reordered_deliveries_converge_to_clios_final_state() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let sim = r.s.p.world.sim.clone();
    let matter = r.s.p.world.firm.matter_ids[0];
    let (first, _) = r.clio_matter(matter);
    sim.inject_delivery_fault(DeliveryFault {
        kind: DeliveryFaultKind::Duplicate,
        count: 100,
        delay_ms: 0,
    });
    sim.inject_delivery_fault(DeliveryFault {
        kind: DeliveryFaultKind::Reorder,
        count: 4,
        delay_ms: 0,
    });
    let mark = r.deliveries();
    let path = if first == "Closed" {
        ["pending", "open"]
    } else {
        ["closed", "pending"]
    };
    for status in path {
        sim.set_matter_status(matter, status).expect("status");
    }
    // Each change is an `updated` and a status event, each sent twice, newest first.
    r.settle(mark, 4).await;
    r.stage.drain().await.expect("drain");

    let (status, etag) = r.clio_matter(matter);
    let row = r.matter(matter).await.expect("mirrored");
    assert_eq!(
        row.status.as_ref().map(MatterStatus::as_str),
        Some(status.as_str())
    );
    assert_eq!(row.etag.as_deref(), Some(etag.as_str()));
    // The changes announced follow Clio's own history, never backwards and never twice: one
    // change from the first status to the last when the deliveries were read together, or each
    // step when the middle one was applied before the last change arrived (the webhook's data
    // is applied as it comes). Clio's history here is `first`, then `path`.
    let changes: Vec<_> = r
        .outbox()
        .await
        .into_iter()
        .filter(|(k, m)| k == "sync.matter.status_changed" && m["event"]["record"] == matter)
        .map(|(_, m)| {
            let change = &m["event"]["change"];
            (change["from"].clone(), change["to"].clone())
        })
        .collect();
    let history: Vec<Value> = std::iter::once(first.clone())
        .chain(path.iter().map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        }))
        .map(|s| json!(s))
        .collect();
    let one_step = vec![(history[0].clone(), history[2].clone())];
    let each_step = vec![
        (history[0].clone(), history[1].clone()),
        (history[1].clone(), history[2].clone()),
    ];
    assert_eq!(
        history[2],
        json!(status),
        "Clio ends at the last status set"
    );
    assert!(
        changes == one_step || changes == each_step,
        "announced {changes:?}; Clio's history was {history:?}"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_webhooks_own_record_reaches_the_mirror_before_its_re_read_and_is_announced_once() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let sim = r.s.p.world.sim.clone();
    let matter = r.s.p.world.firm.matter_ids[0];
    let (first, _) = r.clio_matter(matter);
    let to = if first == "Closed" { "open" } else { "closed" };
    let calls = r.clio_calls();
    let mark = r.deliveries();
    sim.advance_clock(std::time::Duration::from_secs(2));
    sim.set_matter_status(matter, to).expect("status");
    // An `updated` and a status event, handled: the mirror has the change, with no call to Clio.
    r.settle(mark, 2).await;
    let (status, etag) = r.clio_matter(matter);
    let row = r.matter(matter).await.expect("mirrored");
    assert_eq!(
        row.status.as_ref().map(MatterStatus::as_str),
        Some(status.as_str())
    );
    assert_eq!(row.etag.as_deref(), Some(etag.as_str()));
    assert_eq!(r.clio_calls(), calls, "nothing was read from Clio yet");
    let status_changes = |outbox: Vec<(String, serde_json::Value)>| {
        outbox
            .into_iter()
            .filter(|(k, m)| k == "sync.matter.status_changed" && m["event"]["record"] == matter)
            .map(|(_, m)| {
                (
                    m["event"]["change"]["from"].clone(),
                    m["event"]["change"]["to"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let announced = vec![(json!(first), json!(status))];
    assert_eq!(status_changes(r.outbox().await), announced);
    // The re-read confirms it: one call, the same version, nothing announced again.
    let outcomes = r.stage.drain().await.expect("drain");
    assert_eq!(records_done(&outcomes), 1);
    assert_eq!(r.clio_calls(), calls + 1);
    assert_eq!(status_changes(r.outbox().await), announced);
    r.stop().await;
}

#[tokio::test]
async fn deliveries_that_waited_together_are_applied_together_each_announced_once() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let sim = r.s.p.world.sim.clone();
    let client = r.s.p.world.firm.contact_ids[1];
    let matters = r
        .open_mirrored_matters(r.id, r.account, client, 12, "Together")
        .await;
    r.stage.drain().await.expect("drain");
    let _ = r.outbox().await;
    let calls = r.clio_calls();
    // The consumer is away while every matter closes (an `updated` and a `matter_closed` each)
    // and one of them is renamed after its close: their deliveries wait in the queue together.
    r.worker
        .take()
        .expect("worker")
        .stop()
        .await
        .expect("stops");
    let mark = r.deliveries();
    sim.advance_clock(std::time::Duration::from_secs(2));
    for m in &matters {
        sim.set_matter_status(*m, "closed").expect("closed");
    }
    sim.advance_clock(std::time::Duration::from_secs(2));
    sim.update(
        Kind::Matter,
        matters[3],
        json!({"description": "Together, renamed"}),
    )
    .expect("renamed");
    r.worker = Some(
        r.s.p
            .start_worker_on(sync_handler(), 6, r.s.p.pool.clone(), 32)
            .await,
    );
    r.settle(mark, matters.len() * 2 + 1).await;

    for m in &matters {
        let (status, etag) = r.clio_matter(*m);
        let row = r.matter(*m).await.expect("mirrored");
        assert_eq!(
            (
                row.status.as_ref().map(MatterStatus::as_str),
                row.etag.as_deref()
            ),
            (Some(status.as_str()), Some(etag.as_str())),
            "matter {m} is Clio's latest version"
        );
    }
    assert_eq!(
        r.clio_calls(),
        calls,
        "applied from the webhooks, nothing read yet"
    );
    let closes = |outbox: Vec<(String, serde_json::Value)>| {
        let mut closed: Vec<i64> = outbox
            .iter()
            .filter(|(k, m)| {
                k == "sync.matter.status_changed" && m["event"]["change"]["to"] == "Closed"
            })
            .filter_map(|(_, m)| m["event"]["record"].as_i64())
            .collect();
        closed.sort_unstable();
        closed
    };
    assert_eq!(
        closes(r.outbox().await),
        matters,
        "each close announced once"
    );
    // The re-reads confirm every record and announce nothing again.
    r.stage.drain().await.expect("drain");
    assert_eq!(closes(r.outbox().await), matters, "nothing announced twice");
    r.stop().await;
}

fn sync_handler() -> matterhook_sync::SyncHandler {
    matterhook_e2e::sync::handler()
}

#[tokio::test]
async fn a_webhooks_own_record_never_settles_a_same_second_tie_or_revives_a_deleted_record() {
    let r = Rig::start().await;
    let target = apply::Target {
        connection_id: r.id,
        account: r.account,
        region: "us".into(),
    };
    let parse = |status: &str, etag: &str, at: &str| {
        apply::WebhookData::parse(
            Model::Matter,
            &json!({"id": 778, "etag": etag, "status": status, "updated_at": at}),
        )
        .expect("a whole record")
    };
    let reread = |status: &str, etag: &str, at: &str| {
        records::parse::<Matter>(
            vec![json!({"id": 778, "etag": etag, "status": status, "updated_at": at})],
            |m| m.id,
        )
        .expect("parses")
    };
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let causes = apply::Causes::new();
    let held = apply::matters(
        &mut conn,
        &target,
        &reread("Open", "\"v1\"", "2026-11-02T10:00:00Z"),
        ReadKind::Live,
        &causes,
    )
    .await
    .expect("write");
    assert_eq!(held.changed, 1);
    // The same second with another etag: only a re-read may settle it.
    let tie = apply::webhook(
        &mut conn,
        &target,
        parse("Closed", "\"v2\"", "2026-11-02T10:00:00Z"),
        "req",
    )
    .await
    .expect("write");
    assert_eq!(tie, apply::Applied::default());
    // An older one: nothing.
    let older = apply::webhook(
        &mut conn,
        &target,
        parse("Pending", "\"v0\"", "2026-11-02T09:00:00Z"),
        "req",
    )
    .await
    .expect("write");
    assert_eq!(older, apply::Applied::default());
    let row = r.matter(778).await.expect("mirrored");
    assert_eq!(row.etag.as_deref(), Some("\"v1\""));
    // A later second: applied, with its status change.
    let later = apply::webhook(
        &mut conn,
        &target,
        parse("Closed", "\"v3\"", "2026-11-02T10:00:01Z"),
        "req",
    )
    .await
    .expect("write");
    assert_eq!((later.changed, later.events), (1, 1));
    // Held as deleted: a webhook's data does not bring it back (only a re-read can).
    apply::absent(&mut conn, &target, Model::Matter, &[778], &causes)
        .await
        .expect("mark");
    let revived = apply::webhook(
        &mut conn,
        &target,
        parse("Open", "\"v4\"", "2026-11-02T11:00:00Z"),
        "req",
    )
    .await
    .expect("write");
    assert_eq!(revived, apply::Applied::default());
    assert!(r.matter(778).await.expect("row").deleted_at.is_some());
    // A body without `updated_at` is not a version to compare: left to the re-read.
    assert!(
        apply::WebhookData::parse(Model::Matter, &json!({"id": 778, "status": "Open"})).is_none()
    );
    drop(conn);
    r.stop().await;
}

#[tokio::test]
async fn an_older_read_never_replaces_a_newer_one() {
    let r = Rig::start().await;
    let target = apply::Target {
        connection_id: r.id,
        account: r.account,
        region: "us".into(),
    };
    let read = |status: &str, etag: &str, at: &str| {
        records::parse::<Matter>(
            vec![json!({"id": 777, "etag": etag, "status": status, "updated_at": at})],
            |m| m.id,
        )
        .expect("parses")
    };
    let newer = read("Closed", "\"v2\"", "2026-11-02T10:00:00Z");
    let older = read("Open", "\"v1\"", "2026-11-01T10:00:00Z");
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let causes = apply::Causes::new();
    let first = apply::matters(&mut conn, &target, &newer, ReadKind::Live, &causes)
        .await
        .expect("write");
    let second = apply::matters(&mut conn, &target, &older, ReadKind::Live, &causes)
        .await
        .expect("write");
    assert_eq!(first.changed, 1);
    assert_eq!(
        second,
        apply::Applied::default(),
        "the older read changed nothing"
    );
    let row = r.matter(777).await.expect("mirrored");
    assert_eq!(
        row.status.as_ref().map(MatterStatus::as_str),
        Some("Closed")
    );
    assert_eq!(row.etag.as_deref(), Some("\"v2\""));
    drop(conn);
    r.stop().await;
}

#[tokio::test]
async fn domain_events_survive_a_kill_between_commit_and_publish() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let started = chrono::Utc::now();
    // A consumer of every domain event.
    let channel = r.s.p.broker.create_channel().await.expect("channel");
    let queue = format!("{}.test-domain-events", r.s.p.names.worker_queue("x"));
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                exclusive: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .expect("queue");
    for key in matterhook_bus::all_domain_bindings() {
        channel
            .queue_bind(
                queue.as_str().into(),
                r.s.p.names.events_exchange().as_str().into(),
                key.as_str().into(),
                QueueBindOptions::default(),
                Default::default(),
            )
            .await
            .expect("bind");
    }

    let matter = r.s.p.world.firm.matter_ids[0];
    let (before, _) = r.clio_matter(matter);
    let target = if before == "Closed" { "open" } else { "closed" };
    let mark = r.deliveries();
    r.s.p
        .world
        .sim
        .set_matter_status(matter, target)
        .expect("status");
    r.settle(mark, 2).await;
    // The batch commits the mirror and the outbox; the process dies before any relay ran.
    let stage = r.stage.clone();
    stage.drain().await.expect("drain");
    drop(stage);
    let waiting = r.outbox().await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0].0, "sync.matter.status_changed");
    assert_eq!(r.s.p.queue_depth(&queue).await.expect("depth"), 0);

    // A relay in a new process publishes what the dead one left, then retires it.
    let report = relay::relay_once(&r.s.p.pool, &r.s.p.publisher, &r.s.p.names)
        .await
        .expect("relay");
    assert_eq!(report.published, 1);
    assert_eq!(r.outbox().await, vec![]);
    let mut consumer = channel
        .basic_consume(
            queue.as_str().into(),
            "t".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .expect("consume");
    let delivery = tokio::time::timeout(PATIENCE, consumer.next())
        .await
        .expect("a domain event arrives")
        .expect("stream")
        .expect("delivery");
    let envelope: matterhook_bus::Envelope =
        serde_json::from_slice(&delivery.data).expect("an envelope");
    assert_eq!(envelope.routing_key(), "sync.matter.status_changed");
    assert_eq!(
        envelope.record_id(),
        Some(matterhook_domain::ClioId(matter))
    );
    let change =
        serde_json::to_value(&envelope.domain().expect("a domain event").change).expect("json");
    assert_eq!(change["to"], json!(r.clio_matter(matter).0));
    assert_eq!(change["from"], json!(before));

    // RabbitMQ loses its data (the event above was still waiting, say): the retired event is
    // kept, and the recovery publishes it again, the same event, which its consumer would skip
    // had it applied it.
    let dry = relay::republish_since(&r.s.p.pool, &r.s.p.publisher, &r.s.p.names, started, true)
        .await
        .expect("dry run");
    assert_eq!((dry.matched, dry.published), (1, 0));
    let again = relay::republish_since(&r.s.p.pool, &r.s.p.publisher, &r.s.p.names, started, false)
        .await
        .expect("republish");
    assert_eq!((again.matched, again.published, again.unrouted), (1, 1, 0));
    let redelivered = tokio::time::timeout(PATIENCE, consumer.next())
        .await
        .expect("the event arrives again")
        .expect("stream")
        .expect("delivery");
    let same: matterhook_bus::Envelope =
        serde_json::from_slice(&redelivered.data).expect("an envelope");
    assert_eq!(same.event_id, envelope.event_id);
    // Within its retention it stays; nothing newer than that is purged.
    assert_eq!(relay::purge_published(&r.s.p.pool).await.expect("purge"), 0);
    let later = relay::republish_since(
        &r.s.p.pool,
        &r.s.p.publisher,
        &r.s.p.names,
        chrono::Utc::now(),
        true,
    )
    .await
    .expect("dry run");
    assert_eq!(
        later.matched, 0,
        "only what was published since the time given"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_deleted_record_is_marked_deleted_in_the_mirror() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let contact = r.s.p.world.firm.contact_ids[2];
    let mark = r.deliveries();
    r.s.p
        .world
        .sim
        .delete(Kind::Contact, contact)
        .expect("delete");
    r.settle(mark, 1).await;
    r.stage.drain().await.expect("drain");
    let row = r.contact(contact).await.expect("row kept");
    assert!(row.deleted_at.is_some());
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let live = mirror::count_live(&mut conn, Model::Contact, r.account)
        .await
        .expect("count");
    assert_eq!(
        live as usize,
        r.s.p.world.sim.count(Kind::Contact, r.account)
    );
    drop(conn);
    r.stop().await;
}

/// Clio takes a NUL in a text field; PostgreSQL stores none. The webhook is accepted and the
/// contact mirrored with the NUL as U+FFFD, where it would otherwise fail every retry.
#[tokio::test]
async fn a_nul_in_a_clio_field_is_mirrored_as_the_replacement_character() {
    let mut r = Rig::start().await;
    r.baseline().await;
    let contact = r.s.p.world.firm.contact_ids[0];
    let mark = r.deliveries();
    r.s.p
        .world
        .sim
        .update(
            Kind::Contact,
            contact,
            json!({"title": "Partner\u{0}at law"}),
        )
        .expect("update");
    r.settle(mark, 1).await;
    r.stage.drain().await.expect("drain");
    let row = r.contact(contact).await.expect("mirrored");
    assert_eq!(row.title.as_deref(), Some("Partner\u{fffd}at law"));
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let filter = matterhook_store::dead_letters::Filter::default();
    let dead = matterhook_store::dead_letters::count(&mut conn, &filter)
        .await
        .expect("count");
    assert_eq!(dead, 0);
    drop(conn);
    r.stop().await;
}

/// Once the oldest event of a connection and model has waited its window, fresh events that
/// arrived since join its batch (a burst fills batches rather than trickling out); a record
/// waiting out a failed read joins only when due.
#[tokio::test]
async fn a_due_batch_takes_the_fresh_events_behind_it_but_not_those_backing_off() {
    use diesel::{ExpressionMethods, QueryDsl};
    use diesel_async::RunQueryDsl;
    use matterhook_store::{schema::sync_queue as q, sync_queue};

    let r = Rig::start().await;
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let now = chrono::Utc::now();
    let envelope = json!({"event": "updated"});
    for (record, due_in) in [(9_001, -1), (9_002, 60), (9_003, 60)] {
        let event_id = format!("e-{record}");
        sync_queue::push(
            &mut conn,
            &sync_queue::NewWork {
                connection_id: r.id,
                model: Model::Contact,
                record_id: record,
                event_id: &event_id,
                envelope: &envelope,
                due_at: now + chrono::Duration::seconds(due_in),
            },
        )
        .await
        .expect("queued");
    }
    let failed: Vec<i64> = q::table
        .filter(q::record_id.eq(9_003))
        .select(q::id)
        .load(&mut conn)
        .await
        .expect("ids");
    sync_queue::retry(
        &mut conn,
        &failed,
        now + chrono::Duration::seconds(60),
        1,
        "read failed",
    )
    .await
    .expect("deferred");

    // A new event for the record backing off joins its retry: it does not make the record due
    // (nor, so, count another attempt sooner).
    sync_queue::push(
        &mut conn,
        &sync_queue::NewWork {
            connection_id: r.id,
            model: Model::Contact,
            record_id: 9_003,
            event_id: "e-9003-again",
            envelope: &envelope,
            due_at: now - chrono::Duration::seconds(1),
        },
    )
    .await
    .expect("queued");
    let waits: Vec<chrono::DateTime<chrono::Utc>> = q::table
        .filter(q::record_id.eq(9_003))
        .select(q::due_at)
        .load(&mut conn)
        .await
        .expect("due");
    assert_eq!(waits.len(), 2);
    assert_eq!(waits[0], waits[1], "the new event waits with the retry");

    let taken = sync_queue::take(&mut conn, r.id, Model::Contact, chrono::Utc::now(), 200)
        .await
        .expect("taken");
    let mut records: Vec<i64> = taken.iter().map(|t| t.record_id).collect();
    records.sort_unstable();
    assert_eq!(records, [9_001, 9_002]);
    drop(conn);
    r.stop().await;
}

/// "Last synced" is when a sync of the connection's data last completed: the baseline sweep
/// sets it, a later batch moves it on, and the user sees it in `GET /api/connections`.
#[tokio::test]
async fn last_synced_is_set_by_a_sweep_and_moved_on_by_a_batch() {
    let mut r = Rig::start().await;
    let synced_at = |r: &Rig| {
        let pool = r.s.p.pool.clone();
        let id = r.id;
        async move {
            let mut conn = pool.get().await.expect("conn");
            matterhook_store::connections::get(&mut conn, id)
                .await
                .expect("connection")
                .expect("exists")
                .last_synced_at
        }
    };
    assert_eq!(synced_at(&r).await, None, "never synced yet");
    r.baseline().await;
    let after_sweep = synced_at(&r).await.expect("set by the baseline sweep");

    let contact = r.s.p.world.firm.contact_ids[0];
    let mark = r.deliveries();
    r.s.p
        .world
        .sim
        .update(Kind::Contact, contact, json!({"title": "Partner"}))
        .expect("update");
    r.settle(mark, 1).await;
    r.stage.drain().await.expect("drain");
    let after_batch = synced_at(&r).await.expect("still set");
    assert!(
        after_batch > after_sweep,
        "{after_batch} after {after_sweep}"
    );

    let listed = r.s.api_get(&r.bob, "/api/connections").await;
    let shown = listed
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == r.id))
        .map(|c| c["last_synced_at"].clone())
        .expect("the connection is listed");
    let shown: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(shown).expect("a time, not null");
    assert_eq!(shown, after_batch);
    r.stop().await;
}

/// The batcher and the relay sleep until work is written (`LISTEN/NOTIFY`), not a poll period:
/// with their own wake-ups an hour apart, a matter opened in Clio still reaches the mirror and is
/// relayed within seconds.
#[tokio::test]
async fn the_batcher_and_the_relay_wake_when_work_is_written() {
    use matterhook_store::wakeups::{Wakeups, OUTBOX, SYNC_QUEUE};

    let r = Rig::start().await;
    r.baseline().await;
    let wake = matterhook_sync::Wake {
        wakeups: Wakeups::listen(r.s.p.db.url(), &[SYNC_QUEUE, OUTBOX]),
        fallback: std::time::Duration::from_secs(3600),
    };
    let stage = matterhook_sync::SyncStage::new(
        r.s.p.pool.clone(),
        r.s.connections.clone(),
        matterhook_sync::SyncConfig {
            wake: Some(wake.clone()),
            ..matterhook_e2e::sync::config(&r.s)
        },
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until = |mut s: tokio::sync::watch::Receiver<bool>| async move {
        let _ = s.wait_for(|v| *v).await;
    };
    let batcher = tokio::spawn({
        let (stage, s) = (stage.clone(), stopped.clone());
        async move { stage.run_batches(until(s)).await }
    });
    let relay = tokio::spawn(relay::run_relay_with(
        r.s.p.pool.clone(),
        matterhook_e2e::ingest::amqp_url(),
        r.s.p.names.clone(),
        Vec::new(),
        Some(wake),
        until(stopped.clone()),
    ));

    let firm = r.s.p.world.firm.clone();
    let matter = r
        .s
        .p
        .world
        .sim
        .create(
            Kind::Matter,
            firm.account_id,
            json!({"client": {"id": firm.contact_ids[1]}, "status": "open", "description": "Woken"}),
        )
        .expect("matter")
        .id;
    // Not `settle`: the batcher takes the queued record as soon as it is written.
    let mirrored = matterhook_e2e::ingest::eventually(|| async {
        let m = r.matter(matter).await?;
        (m.description.as_deref() == Some("Woken")).then_some(m)
    })
    .await;
    assert!(mirrored.is_some(), "the batcher woke for the queued record");
    let relayed =
        matterhook_e2e::ingest::eventually(|| async { r.outbox().await.is_empty().then_some(()) })
            .await;
    assert_eq!(relayed, Some(()), "the relay woke for the outbox");
    let _ = stop.send(true);
    batcher.await.expect("batcher stops");
    relay.await.expect("relay stops");
    r.stop().await;
}
