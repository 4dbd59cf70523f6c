//! Webhook subscriptions that never lapse: renewed over 60 simulated days, replaced when Clio
//! suspends or deletes them (with a sweep of the gap), moved make-before-break to a new public URL.

use matterhook_domain::Model;
use matterhook_e2e::{
    stack::{
        a_change_reaches_the_receiver, hooks_at, live_subscriptions, sweep_requests, Stack, DAY,
    },
    PATIENCE,
};

#[tokio::test]
async fn subscriptions_never_lapse_over_sixty_simulated_days() {
    let (s, worker, _, id) = Stack::connected().await;
    let original: Vec<i64> = hooks_at(&s, &s.p.receiver_url)
        .iter()
        .map(|h| h.id)
        .collect();
    let mut renewed = 0;
    for day in 1..=60 {
        s.p.world.sim.advance_clock(DAY);
        let report = s
            .connections
            .scheduled_pass()
            .await
            .expect("pass")
            .expect("no other scheduler");
        assert!(
            report.subscriptions.errors.is_empty(),
            "day {day}: {report:?}"
        );
        assert_eq!(
            report.subscriptions.replaced, 0,
            "day {day}: nothing lapsed"
        );
        renewed += report.subscriptions.renewed;
        let now = s.p.world.sim.now();
        let hooks = hooks_at(&s, &s.p.receiver_url);
        assert_eq!(hooks.len(), 3, "day {day}");
        for h in &hooks {
            assert_eq!(h.status, "enabled", "day {day}");
            assert!(
                h.expires_at > now + chrono::Duration::days(6),
                "day {day}: {h:?}"
            );
        }
    }
    let still: Vec<i64> = hooks_at(&s, &s.p.receiver_url)
        .iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(
        still, original,
        "the same webhooks, renewed, never recreated"
    );
    assert!(
        renewed >= 6,
        "each webhook renewed at least twice in 60 days: {renewed}"
    );
    assert!(sweep_requests(&s, id).await.is_empty(), "no gap, no sweep");
    a_change_reaches_the_receiver(&s, &s.p.receiver_url).await;
    worker.stop().await.expect("worker stops");
    s.stop().await;
}

#[tokio::test]
async fn a_suspended_or_deleted_webhook_is_replaced_and_its_gap_swept() {
    let (s, worker, _, id) = Stack::connected().await;
    let live = live_subscriptions(&s, id).await;
    let contact = live
        .iter()
        .find(|l| l.model == Model::Contact)
        .expect("contact");
    let matter = live
        .iter()
        .find(|l| l.model == Model::Matter)
        .expect("matter");
    assert!(s
        .p
        .world
        .sim
        .suspend_webhook(contact.clio_webhook_id.expect("id")));
    s.connections
        .call(id, |api| {
            let hook = matter.clio_webhook_id.expect("id");
            async move { api.delete_webhook(hook).await }
        })
        .await
        .expect("deleted in Clio");

    let report = s
        .connections
        .scheduled_pass()
        .await
        .expect("pass")
        .expect("ran");
    assert_eq!(report.subscriptions.replaced, 2, "{report:?}");
    assert_eq!(report.subscriptions.sweeps, 2);
    let mut sweeps = sweep_requests(&s, id).await;
    sweeps.sort();
    assert_eq!(sweeps[0].0, "contact");
    assert!(sweeps[0].1.contains("suspended"), "{sweeps:?}");
    assert_eq!(sweeps[1].0, "matter");
    assert!(sweeps[1].1.contains("deleted"), "{sweeps:?}");

    let hooks = hooks_at(&s, &s.p.receiver_url);
    assert_eq!(
        hooks.len(),
        3,
        "the suspended one is gone, two new ones exist: {hooks:?}"
    );
    s.wait_enabled(id).await;
    let now_live = live_subscriptions(&s, id).await;
    assert_eq!(now_live.len(), 3);
    assert!(now_live
        .iter()
        .all(|l| l.status == matterhook_domain::SubscriptionStatus::Active));
    assert!(!now_live
        .iter()
        .any(|l| l.id == contact.id || l.id == matter.id));
    a_change_reaches_the_receiver(&s, &s.p.receiver_url).await;

    // The old contact URL now answers 410, so Clio disables anything still pointing at it.
    let old = reqwest::Client::new()
        .post(format!(
            "{}/webhooks/clio/{}",
            s.p.receiver_url, contact.token
        ))
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(old.status(), 410);
    worker.stop().await.expect("worker stops");
    s.stop().await;
}

#[tokio::test]
async fn a_new_public_url_moves_every_subscription_make_before_break() {
    let (s, worker, _, id) = Stack::connected().await;

    // A second receiver at the new public URL, on the same database and broker.
    let (new_url, handle) = s.p.start_receiver();

    let moved = s.another_process(&new_url);
    let first = moved.scheduled_pass().await.expect("pass").expect("ran");
    assert_eq!(first.subscriptions.created, 3, "{first:?}");
    // An old one goes only once its successor has completed the handshake.
    let confirmed =
        s.p.world
            .sim
            .wait_until(PATIENCE, |sim| {
                let enabled = sim
                    .webhooks()
                    .iter()
                    .filter(|h| h.url.starts_with(&new_url) && h.status == "enabled")
                    .count();
                (enabled == 3).then_some(())
            })
            .await;
    assert_eq!(confirmed, Some(()));
    let second = moved.scheduled_pass().await.expect("pass").expect("ran");
    assert_eq!(second.subscriptions.created, 0, "{second:?}");
    assert_eq!(
        first.subscriptions.moved + second.subscriptions.moved,
        3,
        "{first:?} {second:?}"
    );
    assert!(
        hooks_at(&s, &s.p.receiver_url).is_empty(),
        "old webhooks deleted"
    );
    let new_hooks = hooks_at(&s, &new_url);
    assert_eq!(new_hooks.len(), 3);
    assert!(new_hooks.iter().all(|h| h.status == "enabled"));
    assert!(live_subscriptions(&s, id)
        .await
        .iter()
        .all(|l| l.public_url == new_url
            && l.status == matterhook_domain::SubscriptionStatus::Active));
    assert_eq!(
        sweep_requests(&s, id).await.len(),
        3,
        "each move sweeps Clio's retry window"
    );
    a_change_reaches_the_receiver(&s, &new_url).await;
    handle.stop(true).await;
    worker.stop().await.expect("worker stops");
    s.stop().await;
}
