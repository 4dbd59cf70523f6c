//! The referral workers for a test: the sync rig with the matching and status workers running,
//! and helpers to make a Clio change and carry it through.

use crate::{ingest::Worker, sync::Rig};
use matterhook_referrals::service::{self, CommissionInput, ReferralInput};
use matterhook_store::{notifications, referrals};

/// The rig with both referral workers running (kept alive by what this returns).
pub async fn start() -> (Rig, Vec<Worker>) {
    let mut r = Rig::start().await;
    r.baseline().await;
    let matching = r.s.p.start_worker(matterhook_referrals::Matching, 3).await;
    let status =
        r.s.p
            .start_worker(matterhook_referrals::StatusSync, 3)
            .await;
    (r, vec![matching, status])
}

/// A received referral with a 10% commission.
pub fn received(partner: &str, first: &str, last: &str, email: Option<&str>) -> ReferralInput {
    ReferralInput {
        direction: "received".into(),
        partner_name: partner.into(),
        partner_email: Some(format!(
            "{}@partners.example",
            partner.replace(' ', ".").to_lowercase()
        )),
        client_first_name: Some(first.into()),
        client_last_name: Some(last.into()),
        client_email: email.map(str::to_owned),
        client_company: None,
        commission: Some(CommissionInput {
            kind: "percentage".into(),
            value: "10".into(),
        }),
    }
}

/// Creates a referral for the rig's user.
pub async fn create(r: &Rig, input: ReferralInput) -> i64 {
    let mut conn = r.s.p.pool.get().await.expect("conn");
    service::create(&mut conn, r.bob.id, input)
        .await
        .expect("created")
        .id
}

/// A received referral of `user`'s (Jane Doe's, from Bench Partner) linked by hand to `matter`
/// of `account`: for the benches, which need a referral per matter.
pub async fn linked_to(
    conn: &mut diesel_async::AsyncPgConnection,
    user: i64,
    account: i64,
    matter: i64,
) -> i64 {
    let input = serde_json::from_value(serde_json::json!({
        "direction": "received", "partner_name": "Bench Partner", "client_first_name": "Jane",
        "client_last_name": "Doe"}))
    .expect("input");
    let new = service::validate(user, input).expect("valid");
    let created = referrals::create(conn, &new).await.expect("referral");
    assert!(referrals::link(conn, created.id, account, matter, "user")
        .await
        .expect("link"));
    created.id
}

/// The rig's user's referral.
pub async fn referral(r: &Rig, id: i64) -> referrals::Referral {
    let mut conn = r.s.p.pool.get().await.expect("conn");
    referrals::get(&mut conn, r.bob.id, id)
        .await
        .expect("query")
        .expect("exists")
}

/// The rig's user's notifications.
pub async fn notes(r: &Rig) -> Vec<notifications::Notification> {
    let mut conn = r.s.p.pool.get().await.expect("conn");
    notifications::for_user(&mut conn, r.bob.id, false, 100)
        .await
        .expect("notifications")
}

/// Makes a change in Clio and carries it through: delivered, queued, re-read and relayed (when
/// the test says); the referral workers run on their own.
pub async fn sync(r: &mut Rig, events: usize, change: impl FnOnce(&clio_sim::Sim)) {
    let mark = r.deliveries();
    change(&r.s.p.world.sim);
    r.settle(mark, events).await;
    r.stage.drain().await.expect("drain");
    // The relay publishes the domain events the batch wrote.
    matterhook_sync::relay::relay_once(&r.s.p.pool, &r.s.p.publisher, &r.s.p.names)
        .await
        .expect("relay");
}

/// Jane Doe's received referral from Priya Shah, and a new matter for Jane in Clio in `status`,
/// carried through the sync stage: the referral's id and the matter's.
pub async fn jane_and_a_new_matter(r: &mut Rig, status: &str, description: &str) -> (i64, i64) {
    let firm = r.s.p.world.firm.clone();
    let jane = create(
        r,
        received("Priya Shah", "Jane", "Doe", Some("jane.doe@example.com")),
    )
    .await;
    let mut matter = 0;
    sync(r, 1, |sim| {
        matter = sim
            .create(
                clio_sim::Kind::Matter,
                firm.account_id,
                serde_json::json!({"client": {"id": firm.contact_ids[1]}, "status": status, "description": description}),
            )
            .expect("matter")
            .id;
    })
    .await;
    (jane, matter)
}
