//! RabbitMQ restarted while webhooks arrive: no event the receiver accepted is lost.
//!
//! Its own test binary, because it restarts the machine's broker: cargo runs test binaries one at
//! a time, so no other test sees the restart.

use std::{process::Command, time::Duration};

use clio_sim::Kind;
use matterhook_e2e::{
    binaries::{ready_within, Service},
    ingest::{delete_namespace, Pipeline},
    PATIENCE,
};
use matterhook_store::journal;
use matterhook_test_support::amqp_url;
use matterhook_workers::journal::Journal;
use serde_json::json;

fn rabbitmqctl(args: &[&str]) {
    let status = Command::new("rabbitmqctl")
        .args(args)
        .status()
        .expect("rabbitmqctl runs");
    assert!(status.success(), "rabbitmqctl {args:?} failed");
}

#[tokio::test]
async fn no_accepted_event_is_lost_across_a_broker_restart() {
    matterhook_config::telemetry::init();
    let mut p = Pipeline::start().await;
    // Clio's retries, scaled so that they outlast a broker restart: 1.2 s, 2.4 s, 4.8 s, ...
    p.world.sim.configure(|c| c.retry_scale = 0.01);
    let sub = p
        .subscribe("contact", &["updated"], "id,etag,first_name")
        .await;
    let worker = p.start_worker(Journal, 6).await;
    let contacts = p.world.firm.contact_ids.clone();
    // A worker binary too, in a namespace of its own, to watch its readiness through the outage.
    let binary_prefix = format!("{}-bin", p.names.prefix());
    let journal_binary = Service::start(
        "matterhook-worker-journal",
        "MATTERHOOK_HEALTH_ADDR",
        &[
            ("DATABASE_URL", p.db.url().to_owned()),
            ("AMQP_URL", amqp_url()),
            ("MATTERHOOK_AMQP_PREFIX", binary_prefix.clone()),
        ],
    );
    assert_eq!(
        journal_binary.ready_is(200).await,
        Some(json!({"broker": true, "database": true})),
        "the worker binary is ready before the outage"
    );

    // Changes before, during and after the restart.
    let mut changed = Vec::new();
    for (i, id) in contacts.iter().enumerate().take(3) {
        p.world
            .sim
            .update(
                Kind::Contact,
                *id,
                json!({"first_name": format!("Before{i}")}),
            )
            .expect("update");
        changed.push(*id);
    }
    // Accepted (200) before the broker goes away.
    let accepted = p
        .world
        .sim
        .wait_until(PATIENCE, |sim| {
            let ok = sim
                .deliveries()
                .iter()
                .filter(|d| d.webhook_id == sub.webhook_id && d.event != "handshake")
                .filter(|d| d.attempts.iter().any(|a| a.status == Some(200)))
                .count();
            (ok >= 3).then_some(())
        })
        .await;
    assert_eq!(
        accepted,
        Some(()),
        "the first three were accepted before the restart"
    );
    let before = p.world.sim.deliveries().len();
    rabbitmqctl(&["stop_app"]);
    for (i, id) in contacts.iter().enumerate().skip(3) {
        p.world
            .sim
            .update(
                Kind::Contact,
                *id,
                json!({"first_name": format!("During{i}")}),
            )
            .expect("update");
        changed.push(*id);
    }
    // Refused (503) while the broker is down: the receiver never answers 2xx for what it could
    // not make durable.
    let refused = p
        .world
        .sim
        .wait_until(PATIENCE, |sim| {
            let refused = sim
                .deliveries()
                .iter()
                .skip(before)
                .filter(|d| d.webhook_id == sub.webhook_id)
                .filter(|d| d.attempts.iter().any(|a| a.status == Some(503)))
                .count();
            (refused == changed.len() - 3).then_some(())
        })
        .await;
    assert_eq!(
        refused,
        Some(()),
        "every change during the outage was refused with a 503"
    );
    // Neither the receiver nor a worker says it is ready while the broker is away.
    let broker_down = Some(json!({"broker": false, "database": true}));
    assert_eq!(journal_binary.ready_is(503).await, broker_down, "worker");
    assert_eq!(
        receiver_ready(&p.receiver_url, 503).await,
        broker_down,
        "receiver"
    );
    rabbitmqctl(&["start_app"]);
    rabbitmqctl(&["await_startup"]);
    let broker_up = Some(json!({"broker": true, "database": true}));
    // The worker reconnects when its backoff (at most 30 s) next tries.
    assert_eq!(
        journal_binary
            .ready_within(200, Duration::from_secs(60))
            .await,
        broker_up,
        "worker"
    );
    assert_eq!(
        receiver_ready(&p.receiver_url, 200).await,
        broker_up,
        "receiver"
    );

    // Every change reaches the journal: those accepted before the restart were durable, and
    // those refused during it (503) were retried by Clio until accepted.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let mut conn = p.pool.get().await.expect("conn");
        let mut missing = Vec::new();
        for id in &changed {
            if journal::for_record(&mut conn, matterhook_domain::Model::Contact, *id)
                .await
                .expect("journal")
                .is_empty()
            {
                missing.push(*id);
            }
        }
        if missing.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never recorded: {missing:?}; deliveries: {:#?}",
            p.world
                .sim
                .deliveries()
                .iter()
                .filter(|d| d.webhook_id == sub.webhook_id)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refused_then_accepted = p
        .world
        .sim
        .deliveries()
        .iter()
        .filter(|d| {
            d.webhook_id == sub.webhook_id
                && d.attempts.iter().any(|a| a.status == Some(503))
                && d.outcome == "delivered"
        })
        .count();
    assert_eq!(
        refused_then_accepted,
        changed.len() - 3,
        "each refused change was accepted on a later retry"
    );
    worker.stop().await.expect("clean stop");
    drop(journal_binary);
    let binary_names = matterhook_bus::topology::Names::new(&binary_prefix);
    delete_namespace(&p.broker, &binary_names, &["journal"]).await;
    p.stop().await;
}

/// Waits (up to a minute: the broker client's recovery has its own pace) until the receiver at
/// `url` answers `/readyz` with `status`; the body then.
async fn receiver_ready(url: &str, status: u16) -> Option<serde_json::Value> {
    ready_within(url, status, Duration::from_secs(60)).await
}
