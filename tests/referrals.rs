//! Referrals end to end: Clio changes in the simulator, through the receiver, the sync worker and
//! its outbox, to the matching and status workers.

use clio_sim::Kind;
use matterhook_domain::ReferralStatus;
use matterhook_e2e::{
    ingest::eventually,
    referrals::{create, jane_and_a_new_matter, notes, received, referral, start, sync},
};
use matterhook_referrals::service;
use matterhook_store::referrals;
use serde_json::json;

#[tokio::test]
async fn a_referred_clients_matter_is_linked_won_and_thanked_once() {
    let (mut r, workers) = start().await;
    let firm = r.s.p.world.firm.clone();
    let jane = create(
        &r,
        received("Priya Shah", "Jane", "Doe", Some(" JANE.DOE@example.com")),
    )
    .await;
    let mut sent = received("Priya Shah", "Jane", "Doe", Some("jane.doe@example.com"));
    sent.direction = "sent".into();
    let sent = create(&r, sent).await;

    // A new matter for Jane Doe, whose Clio email differs only in case and spaces: linked.
    let mut matter = 0;
    sync(&mut r, 1, |sim| {
        matter = sim
            .create(Kind::Matter, firm.account_id,
                json!({"client": {"id": firm.contact_ids[1]}, "status": "open", "description": "Lease dispute"}))
            .expect("matter")
            .id;
    })
    .await;
    let linked =
        eventually(|| async { referral(&r, jane).await.matter_id.filter(|m| *m == matter) }).await;
    assert_eq!(linked, Some(matter), "linked by email");
    let n = notes(&r).await;
    assert!(
        n.iter()
            .any(|n| n.kind == "referral_linked" && n.referral_id == Some(jane)),
        "{n:?}"
    );
    assert_eq!(referral(&r, jane).await.linked_by.as_deref(), Some("match"));

    // Closed in Clio: the referral is won, with the timeline entry.
    sync(&mut r, 2, |sim| {
        sim.set_matter_status(matter, "closed").expect("closed");
    })
    .await;
    let won = eventually(|| async {
        (referral(&r, jane).await.status == ReferralStatus::Won).then_some(())
    })
    .await;
    assert_eq!(won, Some(()), "won");
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let timeline: Vec<String> = referrals::timeline(&mut conn, jane)
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert!(
        timeline.contains(&"Status changed to won (synced from Clio)".to_owned()),
        "{timeline:?}"
    );
    drop(conn);

    // Its bill paid: exactly one thank-you draft, mentioning the commission.
    let mut bill = 0;
    sync(&mut r, 1, |sim| {
        bill = sim
            .create(Kind::Bill, firm.account_id,
                json!({"client": {"id": firm.contact_ids[1]}, "matters": [{"id": matter}], "total": 1500.0, "state": "awaiting_payment"}))
            .expect("bill")
            .id;
    })
    .await;
    sync(&mut r, 1, |sim| {
        sim.pay_bill(bill).expect("paid");
    })
    .await;
    let drafts = eventually(|| async {
        let mut conn = r.s.p.pool.get().await.ok()?;
        let q = referrals::action_queue(&mut conn, r.bob.id, true)
            .await
            .ok()?;
        (!q.is_empty()).then_some(q)
    })
    .await
    .expect("a draft");
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].to_name, "Priya Shah");
    assert!(
        drafts[0]
            .body
            .contains("10% of the $1,500.00 billed comes to $150.00"),
        "{}",
        drafts[0].body
    );
    assert_eq!(drafts[0].state, "pending");
    // The user approves it (matterhook sends nothing itself); a second decision is refused.
    let bob = matterhook_e2e::stack::User {
        id: r.bob.id,
        token: r.bob.token.clone(),
    };
    let approve = format!("/api/action-queue/{}/approve", drafts[0].id);
    let (status, body) =
        r.s.api_send(&bob, reqwest::Method::POST, &approve, None)
            .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("approved")),
        "{body}"
    );
    let dismiss = format!("/api/action-queue/{}/dismiss", drafts[0].id);
    let (status, body) =
        r.s.api_send(&bob, reqwest::Method::POST, &dismiss, None)
            .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("already_decided")),
        "{body}"
    );
    let (_, pending) =
        r.s.api_send(&bob, reqwest::Method::GET, "/api/action-queue", None)
            .await;
    assert_eq!(pending, json!([]));

    // The event repeats (a republish): still one draft.
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let again = matterhook_bus::Envelope {
        version: matterhook_bus::ENVELOPE_VERSION,
        event_id: format!("repeat-{bill}"),
        subscription_id: matterhook_domain::SubscriptionId(0),
        connection_id: matterhook_domain::ConnectionId(r.id),
        received_at: chrono::Utc::now(),
        request_id: String::new(),
        event: matterhook_bus::Event::Sync(matterhook_domain::sync_events::DomainEvent::new(
            matterhook_domain::AccountId(firm.account_id),
            matterhook_domain::ClioId(bill),
            None,
            matterhook_domain::sync_events::Change::BillPaid,
        )),
    };
    let before = matterhook_store::processed::count(&mut conn, "status")
        .await
        .expect("count");
    r.s.p
        .publisher
        .publish(
            &r.s.p.names.events_exchange(),
            &again.routing_key(),
            &serde_json::to_vec(&again).expect("json"),
            lapin::BasicProperties::default(),
        )
        .await
        .expect("published");
    let handled = eventually(|| async {
        let mut conn = r.s.p.pool.get().await.ok()?;
        (matterhook_store::processed::count(&mut conn, "status")
            .await
            .ok()?
            > before)
            .then_some(())
    })
    .await;
    assert_eq!(handled, Some(()));
    assert_eq!(
        referrals::action_queue(&mut conn, r.bob.id, true)
            .await
            .expect("q")
            .len(),
        1
    );

    // The sent referral with the same client email was never touched.
    let s = referral(&r, sent).await;
    assert_eq!((s.matter_id, s.status.as_str()), (None, "open"));
    assert_eq!(
        referrals::timeline(&mut conn, sent)
            .await
            .expect("timeline")
            .len(),
        1
    );
    drop(conn);

    // Disconnecting Clio keeps the link and the timeline.
    let (status, _) =
        r.s.api_post(&r.bob, &format!("/api/connections/{}/disconnect", r.id))
            .await;
    assert_eq!(status, 200);
    let kept = referral(&r, jane).await;
    assert_eq!(
        (kept.matter_id, kept.status.as_str()),
        (Some(matter), "won")
    );
    for w in workers {
        w.stop().await.expect("stops");
    }
    r.stop().await;
}

#[tokio::test]
async fn a_name_alone_suggests_and_a_client_from_no_referral_changes_nothing() {
    let (mut r, workers) = start().await;
    let firm = r.s.p.world.firm.clone();
    // José Álvarez in Clio; the referral spells him without accents and with a middle name.
    let jose = create(&r, received("Sam Lee", "Jose Luis", "Alvarez", None)).await;
    let other = create(
        &r,
        received("Sam Lee", "Bob", "Smith", Some("bob@smith.example")),
    )
    .await;

    let mut matter = 0;
    sync(&mut r, 1, |sim| {
        matter = sim
            .create(Kind::Matter, firm.account_id,
                json!({"client": {"id": firm.contact_ids[2]}, "status": "open", "description": "Will"}))
            .expect("matter")
            .id;
    })
    .await;
    let suggested = eventually(|| async {
        notes(&r)
            .await
            .into_iter()
            .find(|n| n.kind == "referral_suggestion")
    })
    .await
    .expect("a suggestion");
    assert_eq!(suggested.referral_id, Some(jose));
    assert!(suggested.suggestion_id.is_some());
    assert!(
        suggested.message.contains("Possible referral match"),
        "{}",
        suggested.message
    );
    assert_eq!(
        referral(&r, jose).await.matter_id,
        None,
        "a suggestion links nothing"
    );

    // Mary O'Brien came from no referral: nothing at all happens.
    let before = notes(&r).await.len();
    sync(&mut r, 1, |sim| {
        sim.create(Kind::Matter, firm.account_id,
            json!({"client": {"id": firm.contact_ids[3]}, "status": "open", "description": "Estate"}))
            .expect("matter");
    })
    .await;
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let handled = eventually(|| async {
        let mut conn = r.s.p.pool.get().await.ok()?;
        (matterhook_store::processed::count(&mut conn, "matching")
            .await
            .ok()?
            >= 2)
            .then_some(())
    })
    .await;
    assert_eq!(handled, Some(()), "matching saw both matters");
    assert_eq!(notes(&r).await.len(), before);
    assert_eq!(referral(&r, other).await.matter_id, None);
    assert_eq!(
        referrals::timeline(&mut conn, other)
            .await
            .expect("timeline")
            .len(),
        1
    );

    // Dismissed: the notification is read, a second decision is refused, nothing is linked.
    let suggestion = suggested.suggestion_id.expect("suggestion");
    let dismissed = service::dismiss_suggestion(&mut conn, r.bob.id, suggestion)
        .await
        .expect("dismissed");
    assert_eq!(dismissed.outcome.as_deref(), Some("dismissed"));
    let unread = |n: &[matterhook_store::notifications::Notification]| {
        n.iter()
            .filter(|n| n.suggestion_id == Some(suggestion) && n.read_at.is_none())
            .count()
    };
    assert_eq!(unread(&notes(&r).await), 0, "the dismissed offer is read");
    assert!(matches!(
        service::dismiss_suggestion(&mut conn, r.bob.id, suggestion).await,
        Err(service::ReferralError::AlreadyDecided)
    ));
    assert!(matches!(
        service::dismiss_suggestion(&mut conn, r.bob.id + 1_000, suggestion).await,
        Err(service::ReferralError::NotFound)
    ));
    assert_eq!(referral(&r, jose).await.matter_id, None);

    // The user changes their mind: the one-click confirm links it after all.
    let linked = service::confirm_suggestion(&mut conn, r.bob.id, suggestion)
        .await
        .expect("linked");
    assert_eq!(
        (linked.matter_id, linked.linked_by.as_deref()),
        (Some(matter), Some("user"))
    );
    let decided = matterhook_store::suggestions::suggestion(&mut conn, r.bob.id, suggestion)
        .await
        .expect("query")
        .expect("exists");
    assert_eq!(decided.outcome.as_deref(), Some("confirmed"));
    let unlinked = service::unlink(&mut conn, r.bob.id, jose)
        .await
        .expect("unlinked");
    assert_eq!(unlinked.matter_id, None);
    drop(conn);
    for w in workers {
        w.stop().await.expect("stops");
    }
    r.stop().await;
}

/// The sync worker's relay declares the queues of the workers downstream of it: a matter opened
/// before the matching worker ever ran is matched when it first starts, not dropped.
#[tokio::test]
async fn a_matter_opened_before_the_matching_worker_first_runs_waits_for_it() {
    use matterhook_bus::topology::{WorkerQueue, TEST_TIERS};

    let mut r = matterhook_e2e::sync::Rig::start().await;
    r.baseline().await;
    let firm = r.s.p.world.firm.clone();
    let jane = create(
        &r,
        received("Priya Shah", "Jane", "Doe", Some("jane.doe@example.com")),
    )
    .await;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(matterhook_sync::relay::run_relay(
        r.s.p.pool.clone(),
        matterhook_e2e::ingest::amqp_url(),
        r.s.p.names.clone(),
        vec![WorkerQueue::of(
            &matterhook_referrals::Matching,
            &TEST_TIERS,
        )],
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        },
    ));

    // Opened, re-read and written to the outbox while no matching worker has ever run.
    let mark = r.deliveries();
    let matter = r
        .s
        .p
        .world
        .sim
        .create(Kind::Matter, firm.account_id,
            json!({"client": {"id": firm.contact_ids[1]}, "status": "open", "description": "Lease"}))
        .expect("matter")
        .id;
    r.settle(mark, 1).await;
    r.stage.drain().await.expect("drain");
    let relayed = eventually(|| async { r.outbox().await.is_empty().then_some(()) }).await;
    assert_eq!(relayed, Some(()), "the relay published the outbox");

    // The matching worker starts for the first time and finds the event waiting.
    let matching = r.s.p.start_worker(matterhook_referrals::Matching, 3).await;
    let linked =
        eventually(|| async { referral(&r, jane).await.matter_id.filter(|m| *m == matter) }).await;
    assert_eq!(linked, Some(matter), "matched once the worker started");

    let _ = stop.send(true);
    relay.await.expect("relay stops");
    matching.stop().await.expect("stops");
    r.stop().await;
}

/// Matching reads the firm's mirror, not the user's token: a colleague whose connection waits
/// for them to authorize again still gets their referral linked.
#[tokio::test]
async fn a_user_whose_connection_needs_reauthorizing_still_gets_matches() {
    let (mut r, workers) = start().await;
    let firm = r.s.p.world.firm.clone();
    let alice = r.s.user("carol@hartleyfinch.example").await;
    let (_, answer) = r.s.connect_as(&alice, firm.partner_id, "allow").await;
    assert_eq!(answer.status(), 200, "connected");
    let body: serde_json::Value = answer.json().await.expect("json");
    let hers = body["connection_id"].as_i64().expect("connection id");
    r.s.wait_enabled(hers).await;
    let mut conn = r.s.p.pool.get().await.expect("conn");
    matterhook_store::connections::mark_needs_reauth(&mut conn, hers, "test: token revoked")
        .await
        .expect("marked");
    let referral_id = service::create(
        &mut conn,
        alice.id,
        received("Priya Shah", "Jane", "Doe", Some("jane.doe@example.com")),
    )
    .await
    .expect("created")
    .id;
    drop(conn);

    // Each change now reaches both users' webhooks; Bob's connection carries it through.
    let mut matter = 0;
    sync(&mut r, 2, |sim| {
        matter = sim
            .create(Kind::Matter, firm.account_id,
                json!({"client": {"id": firm.contact_ids[1]}, "status": "open", "description": "Lease"}))
            .expect("matter")
            .id;
    })
    .await;
    let linked = eventually(|| async {
        let mut conn = r.s.p.pool.get().await.ok()?;
        referrals::get(&mut conn, alice.id, referral_id)
            .await
            .ok()??
            .matter_id
            .filter(|m| *m == matter)
    })
    .await;
    assert_eq!(linked, Some(matter), "Alice's referral linked");
    for w in workers {
        w.stop().await.expect("stops");
    }
    r.stop().await;
}

/// A matter opened and closed before the sync stage read it (a short webhook lapse is enough) is
/// first seen closed: it still reaches matching, and its referral is linked and won at once.
#[tokio::test]
async fn a_matter_first_seen_closed_is_still_linked_and_won() {
    let (mut r, workers) = start().await;
    let (jane, matter) = jane_and_a_new_matter(&mut r, "closed", "Settled already").await;
    let won = eventually(|| async {
        let r = referral(&r, jane).await;
        (r.matter_id == Some(matter) && r.status == ReferralStatus::Won).then_some(())
    })
    .await;
    assert_eq!(won, Some(()), "linked to the closed matter and won");
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let timeline: Vec<String> = referrals::timeline(&mut conn, jane)
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert!(
        timeline
            .iter()
            .any(|m| m == "Status changed to won (synced from Clio)"),
        "{timeline:?}"
    );
    drop(conn);
    for w in workers {
        w.stop().await.expect("stops");
    }
    r.stop().await;
}

/// A matter's second paid bill gets a draft of its own that names it and says what has been paid
/// on the matter so far; the first bill's draft names only itself.
#[tokio::test]
async fn a_second_paid_bill_names_itself_and_the_running_total() {
    let (mut r, workers) = start().await;
    let (jane, matter) = jane_and_a_new_matter(&mut r, "open", "Lease dispute").await;
    let firm = r.s.p.world.firm.clone();
    let linked =
        eventually(|| async { referral(&r, jane).await.matter_id.filter(|m| *m == matter) }).await;
    assert_eq!(linked, Some(matter));
    let mut bills = Vec::new();
    for total in [1500.0, 1000.0] {
        let mut bill = 0;
        sync(&mut r, 1, |sim| {
            bill = sim
                .create(Kind::Bill, firm.account_id,
                    json!({"client": {"id": firm.contact_ids[1]}, "matters": [{"id": matter}], "total": total, "state": "awaiting_payment"}))
                .expect("bill")
                .id;
        })
        .await;
        sync(&mut r, 1, |sim| {
            sim.pay_bill(bill).expect("paid");
        })
        .await;
        // Each draft is queued before the next bill is paid.
        let queued = bills.len() + 1;
        let drafts = eventually(|| async {
            let mut conn = r.s.p.pool.get().await.ok()?;
            let q = referrals::action_queue(&mut conn, r.bob.id, true)
                .await
                .ok()?;
            (q.len() == queued).then_some(q)
        })
        .await;
        assert!(drafts.is_some(), "draft {queued} queued");
        bills.push(bill);
    }
    let number = |bill: i64| {
        r.s.p.world.sim.get(Kind::Bill, bill).expect("bill")["number"]
            .as_str()
            .expect("a number")
            .to_owned()
    };
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let drafts = referrals::action_queue(&mut conn, r.bob.id, true)
        .await
        .expect("queue");
    drop(conn);
    let of = |bill: i64| {
        drafts
            .iter()
            .find(|d| d.bill_id == bill)
            .map(|d| d.body.clone())
            .expect("a draft for the bill")
    };
    let (first, second) = (of(bills[0]), of(bills[1]));
    assert!(
        first.contains(&format!("that bill {} (matter", number(bills[0]))),
        "{first}"
    );
    assert!(!first.contains("so far"), "{first}");
    assert!(
        second.contains(&format!("that bill {} (matter", number(bills[1]))),
        "{second}"
    );
    assert!(
        second.contains(
            "With the 1 bill paid before it, $2,500.00 has been paid on the matter so far."
        ),
        "{second}"
    );
    for w in workers {
        w.stop().await.expect("stops");
    }
    r.stop().await;
}

/// Carol disconnects while Bob, at the same firm, stays connected: the matter her referral is
/// linked to closes and its bill is paid, and a new matter for another of her referred clients
/// opens. Bob's referrals take all of it; none of it reaches hers. When she connects again, hers
/// catch up: won, thanked, and the new matter linked.
#[tokio::test]
async fn a_disconnected_user_beside_a_connected_colleague_gets_nothing_until_reconnecting() {
    let (mut r, workers) = start().await;
    let firm = r.s.p.world.firm.clone();
    let carol = r.s.user("carol@hartleyfinch.example").await;
    let (_, answer) = r.s.connect_as(&carol, firm.partner_id, "allow").await;
    assert_eq!(answer.status(), 200, "connected");
    let body: serde_json::Value = answer.json().await.expect("json");
    let hers = body["connection_id"].as_i64().expect("connection id");
    r.s.wait_enabled(hers).await;

    // Each of them was referred Jane and Tom.
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let mut referred = Vec::new();
    for user in [r.bob.id, carol.id] {
        for (first, last, email) in [
            ("Jane", "Doe", "jane.doe@example.com"),
            ("Tom", "Reyes", "tom.reyes@example.com"),
        ] {
            let id = service::create(
                &mut conn,
                user,
                received("Priya Shah", first, last, Some(email)),
            )
            .await
            .expect("created")
            .id;
            referred.push((user, id));
        }
    }
    drop(conn);
    let (bob_jane, bob_tom, carol_jane, carol_tom) =
        (referred[0], referred[1], referred[2], referred[3]);
    let pool = r.s.p.pool.clone();
    let get = |(user, id): (i64, i64)| {
        let pool = pool.clone();
        async move {
            let mut conn = pool.get().await.expect("conn");
            referrals::get(&mut conn, user, id)
                .await
                .expect("query")
                .expect("exists")
        }
    };

    // Jane's matter opens while both are connected (each change reaches both webhooks).
    let mut matter = 0;
    sync(&mut r, 2, |sim| {
        matter = sim
            .create(Kind::Matter, firm.account_id,
                json!({"client": {"id": firm.contact_ids[1]}, "status": "open", "description": "Lease"}))
            .expect("matter")
            .id;
    })
    .await;
    for who in [bob_jane, carol_jane] {
        let linked =
            eventually(|| async { get(who).await.matter_id.filter(|m| *m == matter) }).await;
        assert_eq!(linked, Some(matter), "{who:?} linked");
    }
    let mut bill = 0;
    sync(&mut r, 2, |sim| {
        bill = sim
            .create(Kind::Bill, firm.account_id,
                json!({"client": {"id": firm.contact_ids[1]}, "matters": [{"id": matter}], "total": 1200.0, "state": "awaiting_payment"}))
            .expect("bill")
            .id;
    })
    .await;

    let gone =
        r.s.connections
            .disconnect(hers, Some(carol.id))
            .await
            .expect("disconnected");
    assert!(gone.webhooks_deleted > 0);

    // While she is away: Jane's matter closes, its bill is paid, Tom becomes a client.
    sync(&mut r, 1, |sim| {
        sim.set_matter_status(matter, "closed").expect("closed");
    })
    .await;
    sync(&mut r, 1, |sim| {
        sim.pay_bill(bill).expect("paid");
    })
    .await;
    let mut tom_matter = 0;
    sync(&mut r, 2, |sim| {
        let tom = sim
            .create(
                Kind::Contact,
                firm.account_id,
                json!({"type": "Person", "first_name": "Tom", "last_name": "Reyes",
                       "email_addresses": [{"address": "tom.reyes@example.com", "primary": true}]}),
            )
            .expect("contact")
            .id;
        tom_matter = sim
            .create(
                Kind::Matter,
                firm.account_id,
                json!({"client": {"id": tom}, "status": "open", "description": "Estate"}),
            )
            .expect("matter")
            .id;
    })
    .await;
    let drafts = |user: i64| {
        let pool = pool.clone();
        async move {
            let mut conn = pool.get().await.expect("conn");
            referrals::action_queue(&mut conn, user, true)
                .await
                .expect("queue")
        }
    };
    // Bob's referrals took every change (the same events carry Carol's, when they would).
    let bob_done = eventually(|| async {
        let done = get(bob_jane).await.status == ReferralStatus::Won
            && drafts(r.bob.id).await.len() == 1
            && get(bob_tom).await.matter_id == Some(tom_matter);
        done.then_some(())
    })
    .await;
    assert_eq!(
        bob_done,
        Some(()),
        "the connected colleague's referrals moved on"
    );
    assert_eq!(get(carol_jane).await.status, ReferralStatus::Open);
    assert!(
        drafts(carol.id).await.is_empty(),
        "no draft while disconnected"
    );
    assert_eq!(
        get(carol_tom).await.matter_id,
        None,
        "no link while disconnected"
    );
    assert_eq!(
        get(carol_jane).await.matter_id,
        Some(matter),
        "her link stays"
    );

    // She connects again: her referrals catch up on what changed meanwhile.
    let (_, answer) = r.s.connect_as(&carol, firm.partner_id, "allow").await;
    assert_eq!(answer.status(), 200, "reconnected");
    matterhook_sync::relay::relay_once(&r.s.p.pool, &r.s.p.publisher, &r.s.p.names)
        .await
        .expect("relay");
    let caught_up = eventually(|| async {
        let done = get(carol_jane).await.status == ReferralStatus::Won
            && drafts(carol.id).await.len() == 1
            && get(carol_tom).await.matter_id == Some(tom_matter);
        done.then_some(())
    })
    .await;
    assert_eq!(
        caught_up,
        Some(()),
        "won, thanked and linked after reconnecting"
    );
    let draft = &drafts(carol.id).await[0];
    assert_eq!(draft.bill_id, bill);
    for w in workers {
        w.stop().await.expect("stops");
    }
    r.stop().await;
}

/// A European firm bills in euros: the mirror keeps the bill's currency, and the thank-you draft
/// speaks it, with the 10% commission computed to the cent (€2,500.75 -> €250.08, half a cent
/// up), never in dollars.
#[tokio::test]
async fn a_bill_in_euros_is_thanked_in_euros_to_the_cent() {
    let (mut r, workers) = start().await;
    let (jane, matter) = jane_and_a_new_matter(&mut r, "open", "Lease dispute").await;
    let firm = r.s.p.world.firm.clone();
    let linked =
        eventually(|| async { referral(&r, jane).await.matter_id.filter(|m| *m == matter) }).await;
    assert_eq!(linked, Some(matter));
    let mut bill = 0;
    sync(&mut r, 1, |sim| {
        bill = sim
            .create(
                Kind::Bill,
                firm.account_id,
                json!({"client": {"id": firm.contact_ids[1]}, "matters": [{"id": matter}],
                       "total": 2500.75, "state": "awaiting_payment", "currency": {"code": "EUR"}}),
            )
            .expect("bill")
            .id;
    })
    .await;
    sync(&mut r, 1, |sim| {
        sim.pay_bill(bill).expect("paid");
    })
    .await;
    let draft = eventually(|| async {
        let mut conn = r.s.p.pool.get().await.ok()?;
        referrals::action_queue(&mut conn, r.bob.id, true)
            .await
            .ok()?
            .into_iter()
            .find(|d| d.bill_id == bill)
    })
    .await
    .expect("a draft");
    assert!(
        draft
            .body
            .contains("10% of the €2,500.75 billed comes to €250.08."),
        "{}",
        draft.body
    );
    assert!(!draft.body.contains('$'), "{}", draft.body);
    let mut conn = r.s.p.pool.get().await.expect("conn");
    let row = matterhook_store::mirror::bill(&mut conn, firm.account_id, bill)
        .await
        .expect("query")
        .expect("mirrored");
    assert_eq!(
        (row.currency.as_str(), row.total_minor),
        ("EUR", Some(250_075))
    );
    drop(conn);
    for w in workers {
        w.stop().await.expect("stops");
    }
    r.stop().await;
}
