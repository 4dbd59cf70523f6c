//! Webhooks against the simulator: handshake, signed deliveries checked with our own
//! `verify_signature`, Clio's event rules, expiry, retries, suspension, and delivery faults.

use std::time::Duration;

use clio_sim::{DeliveryFault, DeliveryFaultKind, Kind, Sim, SimConfig};
use matterhook_clio::{
    models::{NewWebhook, WebhookStatus, WebhookUpdate},
    verify_signature, Api, ClioError,
};
use matterhook_e2e::{fast_retries, Receiver, World, PATIENCE};
use serde_json::json;

/// Creates a webhook, answers its handshake, and returns its id and secret once it is enabled.
async fn subscribe(
    w: &World,
    api: &Api,
    receiver: &Receiver,
    model: &str,
    fields: &str,
    events: &[&str],
) -> (i64, String) {
    let hook = api
        .create_webhook(&NewWebhook {
            url: receiver.url.clone(),
            model: model.into(),
            fields: fields.into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            expires_at: None,
        })
        .await
        .expect("webhook created");
    let handshake = receiver.next().await;
    let secret = handshake
        .hook_secret
        .expect("the handshake carries X-Hook-Secret");
    assert!(handshake.signature.is_none(), "the handshake is unsigned");
    wait_for_status(&w.sim, hook.id, "enabled").await;
    (hook.id, secret)
}

async fn wait_for_status(sim: &Sim, id: i64, status: &str) {
    let found = sim
        .wait_until(PATIENCE, |s| {
            s.webhooks()
                .into_iter()
                .find(|h| h.id == id && h.status == status)
        })
        .await;
    assert!(found.is_some(), "webhook {id} never became {status}");
}

fn deliveries_for(sim: &Sim, webhook_id: i64) -> usize {
    sim.deliveries()
        .iter()
        .filter(|d| d.webhook_id == webhook_id && d.event != "handshake")
        .count()
}

#[tokio::test]
async fn an_echoed_handshake_enables_the_webhook_and_deliveries_are_signed() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let receiver = Receiver::start().await;
    let (id, secret) = subscribe(&w, &api, &receiver, "contact", "id,etag,name", &[]).await;
    let shown = api.webhook(id).await.expect("show");
    assert_eq!(shown.status, Some(WebhookStatus::Enabled));
    assert_eq!(
        shown.events.expect("events").len(),
        3,
        "no events given means all of the model's"
    );
    let expires = shown.expires_at.expect("expiry");
    let lifetime = expires.with_timezone(&chrono::Utc) - w.sim.now();
    assert!(
        (lifetime - chrono::Duration::days(3)).num_seconds().abs() < 60,
        "3-day default, got {lifetime}"
    );

    let jane = w.firm.contact_ids[1];
    w.sim
        .update(Kind::Contact, jane, json!({"first_name": "Janet"}))
        .expect("update");
    let delivery = receiver.next().await;
    let signature = delivery.signature.clone().expect("X-Hook-Signature");
    assert!(
        signature
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            && signature.len() == 64
    );
    assert!(
        verify_signature(secret.as_bytes(), &delivery.body, &signature),
        "our verifier accepts Clio's signature"
    );
    let mut tampered = delivery.body.clone();
    tampered[10] ^= 1;
    assert!(!verify_signature(secret.as_bytes(), &tampered, &signature));

    let body = delivery.json();
    assert_eq!(body["meta"], json!({"event": "updated", "webhook_id": id}));
    assert_eq!(body["data"]["id"], json!(jane));
    assert_eq!(body["data"]["name"], json!("Janet Doe"));
    assert_eq!(
        body["data"].as_object().expect("data").len(),
        3,
        "only the fields asked for"
    );
}

#[tokio::test]
async fn updated_fires_only_for_watched_fields_after_the_first_update() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&w, &api, &receiver, "contact", "id,name", &["updated"]).await;
    let jane = w.firm.contact_ids[1];

    w.sim
        .update(Kind::Contact, jane, json!({"title": "CFO"}))
        .expect("unwatched change");
    assert_eq!(
        deliveries_for(&w.sim, id),
        1,
        "the first update fires for any change"
    );
    w.sim
        .update(Kind::Contact, jane, json!({"title": "CEO"}))
        .expect("unwatched change");
    assert_eq!(
        deliveries_for(&w.sim, id),
        1,
        "later unwatched changes do not fire"
    );
    w.sim
        .update(Kind::Contact, jane, json!({"last_name": "Smith"}))
        .expect("watched change");
    assert_eq!(deliveries_for(&w.sim, id), 2, "a watched field fires");
    w.sim
        .create(
            Kind::Contact,
            w.firm.account_id,
            json!({"first_name": "New"}),
        )
        .expect("create");
    assert_eq!(deliveries_for(&w.sim, id), 2, "created was not subscribed");
}

#[tokio::test]
async fn matter_status_events_and_deletes_are_delivered() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(
        &w,
        &api,
        &receiver,
        "matter",
        "id,status",
        &["matter_closed", "matter_pended", "deleted"],
    )
    .await;
    let matter = w.firm.matter_ids[0];

    w.sim.set_matter_status(matter, "closed").expect("close");
    let closed = receiver.next().await.json();
    assert_eq!(closed["meta"]["event"], json!("matter_closed"));
    assert_eq!(closed["data"], json!({"id": matter, "status": "Closed"}));

    w.sim.delete(Kind::Matter, matter).expect("delete");
    let deleted = receiver.next().await.json();
    assert_eq!(
        deleted["meta"],
        json!({"event": "deleted", "webhook_id": id})
    );
    assert!(
        deleted["data"]["etag"].is_string(),
        "a delete carries id and etag"
    );
}

#[tokio::test]
async fn expiry_is_capped_at_31_days_and_an_expired_webhook_delivers_nothing() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let receiver = Receiver::start().await;
    let too_far = NewWebhook {
        url: receiver.url.clone(),
        model: "contact".into(),
        fields: "id".into(),
        events: vec![],
        expires_at: Some(w.sim.now() + chrono::Duration::days(32)),
    };
    let err = api.create_webhook(&too_far).await.expect_err("32 days");
    assert!(
        matches!(err, ClioError::Rejected { status: 422, .. }),
        "{err:?}"
    );

    let (id, _) = subscribe(&w, &api, &receiver, "contact", "id,name", &[]).await;
    let renewed = api
        .update_webhook(
            id,
            &WebhookUpdate {
                expires_at: Some(w.sim.now() + chrono::Duration::days(31)),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("renewal to the cap");
    assert_eq!(renewed.status, Some(WebhookStatus::Enabled));

    w.sim.advance_clock(Duration::from_secs(32 * 24 * 3600));
    w.sim
        .update(
            Kind::Contact,
            w.firm.contact_ids[1],
            json!({"first_name": "Late"}),
        )
        .expect("update");
    assert_eq!(deliveries_for(&w.sim, id), 0, "expired: nothing is sent");
}

#[tokio::test]
async fn failed_deliveries_are_retried_on_clios_schedule() {
    let w = World::start(fast_retries()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&w, &api, &receiver, "contact", "id,name", &[]).await;
    receiver.respond_with(&[500, 503]);

    w.sim
        .update(
            Kind::Contact,
            w.firm.contact_ids[1],
            json!({"first_name": "Retry"}),
        )
        .expect("update");
    let bodies: Vec<Vec<u8>> = vec![
        receiver.next().await.body,
        receiver.next().await.body,
        receiver.next().await.body,
    ];
    assert!(
        bodies.windows(2).all(|p| p[0] == p[1]),
        "a retry resends the same bytes"
    );

    let log = w
        .sim
        .wait_until(PATIENCE, |s| {
            s.deliveries()
                .into_iter()
                .find(|d| d.webhook_id == id && d.outcome == "delivered" && d.event != "handshake")
        })
        .await
        .expect("delivered in the end");
    let statuses: Vec<Option<u16>> = log.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![Some(500), Some(503), Some(200)]);
    // 2 minutes, then 4, scaled by 0.0005: at least 60 ms, then at least 120 ms.
    let gaps: Vec<chrono::Duration> = log.attempts.windows(2).map(|p| p[1].at - p[0].at).collect();
    assert!(gaps[0] >= chrono::Duration::milliseconds(60), "{gaps:?}");
    assert!(gaps[1] >= chrono::Duration::milliseconds(120), "{gaps:?}");
    assert_eq!(w.sim.webhooks()[0].consecutive_failures, 0);
}

#[tokio::test]
async fn a_410_disables_the_webhook() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&w, &api, &receiver, "contact", "id,name", &[]).await;
    receiver.respond_with(&[410]);
    w.sim
        .update(
            Kind::Contact,
            w.firm.contact_ids[1],
            json!({"first_name": "Gone"}),
        )
        .expect("update");
    receiver.next().await;
    wait_for_status(&w.sim, id, "suspended").await;
    w.sim
        .update(
            Kind::Contact,
            w.firm.contact_ids[1],
            json!({"first_name": "Again"}),
        )
        .expect("update");
    assert_eq!(
        deliveries_for(&w.sim, id),
        1,
        "a disabled webhook sends nothing more"
    );
}

#[tokio::test]
async fn repeated_failure_suspends_the_webhook() {
    let config = SimConfig {
        max_retries: 1,
        suspend_after_failed_deliveries: 2,
        ..fast_retries()
    };
    let w = World::start(config).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&w, &api, &receiver, "contact", "id,name", &[]).await;
    receiver.respond_with(&[500; 4]);
    for name in ["One", "Two"] {
        w.sim
            .update(
                Kind::Contact,
                w.firm.contact_ids[1],
                json!({"first_name": name}),
            )
            .expect("update");
    }
    wait_for_status(&w.sim, id, "suspended").await;
    let shown = api.webhook(id).await.expect("show");
    assert_eq!(shown.status, Some(WebhookStatus::Suspended));
    let failed = w
        .sim
        .deliveries()
        .iter()
        .filter(|d| d.webhook_id == id && d.outcome == "failed")
        .count();
    assert_eq!(failed, 2);
}

#[tokio::test]
async fn an_unanswered_handshake_stays_pending_until_activated_with_the_secret() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let receiver = Receiver::start().await;
    receiver.echo_handshakes(false);
    let hook = api
        .create_webhook(&NewWebhook {
            url: receiver.url.clone(),
            model: "bill".into(),
            fields: "id,state".into(),
            events: vec![],
            expires_at: None,
        })
        .await
        .expect("created");
    let secret = receiver.next().await.hook_secret.expect("secret");
    let handshake_done = w
        .sim
        .wait_until(PATIENCE, |s| {
            s.deliveries()
                .into_iter()
                .find(|d| d.webhook_id == hook.id && d.outcome != "pending")
        })
        .await;
    assert_eq!(
        handshake_done.expect("handshake finished").outcome,
        "failed"
    );
    assert_eq!(
        api.webhook(hook.id).await.expect("show").status,
        Some(WebhookStatus::Pending)
    );

    let wrong = api
        .activate_webhook(hook.id, &"nope".to_owned().into())
        .await
        .expect_err("wrong secret");
    assert!(matches!(wrong, ClioError::Forbidden { .. }), "{wrong:?}");
    api.activate_webhook(hook.id, &secret.into())
        .await
        .expect("activate");
    assert_eq!(
        api.webhook(hook.id).await.expect("show").status,
        Some(WebhookStatus::Enabled)
    );
}

#[tokio::test]
async fn invalid_models_stale_etags_and_double_deletes_are_refused() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let receiver = Receiver::start().await;
    let bad = NewWebhook {
        url: receiver.url.clone(),
        model: "CalendarEntry".into(),
        fields: "id".into(),
        events: vec![],
        expires_at: None,
    };
    match api.create_webhook(&bad).await.expect_err("bad model") {
        ClioError::Rejected {
            status, message, ..
        } => {
            assert_eq!(status, 422);
            assert_eq!(
                message,
                "An invalid argument was supplied: 'CalendarEntry' is not a valid model"
            );
        }
        other => panic!("{other:?}"),
    }

    let (id, _) = subscribe(&w, &api, &receiver, "matter", "id", &[]).await;
    let etag = api.webhook(id).await.expect("show").etag.expect("etag");
    api.update_webhook(
        id,
        &WebhookUpdate {
            fields: Some("id,status".into()),
            ..Default::default()
        },
        Some(&etag),
    )
    .await
    .expect("fresh etag");
    let stale = api
        .update_webhook(
            id,
            &WebhookUpdate {
                fields: Some("id".into()),
                ..Default::default()
            },
            Some(&etag),
        )
        .await;
    assert!(
        matches!(stale, Err(ClioError::PreconditionFailed)),
        "{stale:?}"
    );

    api.delete_webhook(id).await.expect("delete");
    assert!(matches!(
        api.delete_webhook(id).await,
        Err(ClioError::NotFound)
    ));
}

#[tokio::test]
async fn delivery_faults_duplicate_reorder_and_delay() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let receiver = Receiver::start().await;
    subscribe(&w, &api, &receiver, "contact", "id,first_name", &[]).await;
    let jane = w.firm.contact_ids[1];

    w.sim.inject_delivery_fault(DeliveryFault {
        kind: DeliveryFaultKind::Duplicate,
        count: 1,
        delay_ms: 0,
    });
    w.sim
        .update(Kind::Contact, jane, json!({"first_name": "Twice"}))
        .expect("update");
    let (a, b) = (receiver.next().await, receiver.next().await);
    assert_eq!(a.body, b.body, "the same delivery arrives twice");

    w.sim.inject_delivery_fault(DeliveryFault {
        kind: DeliveryFaultKind::Reorder,
        count: 3,
        delay_ms: 0,
    });
    for name in ["First", "Second", "Third"] {
        w.sim
            .update(Kind::Contact, jane, json!({"first_name": name}))
            .expect("update");
    }
    let mut names = Vec::new();
    for _ in 0..3 {
        names.push(
            receiver.next().await.json()["data"]["first_name"]
                .as_str()
                .expect("name")
                .to_owned(),
        );
    }
    assert_eq!(names, vec!["Third", "Second", "First"]);

    // A delayed delivery's first attempt waits at least the delay.
    w.sim.inject_delivery_fault(DeliveryFault {
        kind: DeliveryFaultKind::Delay,
        count: 1,
        delay_ms: 300,
    });
    let before = w.sim.now();
    w.sim
        .update(Kind::Contact, jane, json!({"first_name": "Late"}))
        .expect("update");
    assert_eq!(
        receiver.next().await.json()["data"]["first_name"],
        json!("Late")
    );
    let log = w
        .sim
        .wait_until(PATIENCE, |s| {
            s.deliveries()
                .into_iter()
                .last()
                .filter(|d| !d.attempts.is_empty())
        })
        .await
        .expect("the attempt is logged");
    let waited = log.attempts[0].at - before;
    assert!(
        waited >= chrono::Duration::milliseconds(300),
        "attempted after only {waited}"
    );
}
