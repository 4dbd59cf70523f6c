//! `matterhook-worker-status`: a linked matter's status flows into its referral; a paid bill
//! covering a linked matter queues one thank-you draft.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use matterhook_bus::{domain_binding, Envelope, Handler, HandlerError};
use matterhook_domain::{
    referrals::{
        drafts::{thank_you, Commission, Earlier, Paid},
        status,
    },
    sync_events::{Change, ChangeKind},
    BillState,
};
use matterhook_store::{mirror, referrals};

use crate::{client, matching::account_of};

/// Consumes `sync.matter.status_changed`, `sync.bill.paid` and `sync.user.resumed`.
#[derive(Debug, Default, Clone)]
pub struct StatusSync;

impl Handler for StatusSync {
    const NAME: &'static str = "status";

    // Its whole effect is rows in PostgreSQL (it reads the mirror, never Clio): events waiting
    // together share a transaction, one commit for up to 16.
    const BATCH: usize = 16;

    fn routing_keys(&self) -> Vec<String> {
        [
            ChangeKind::MatterStatusChanged,
            ChangeKind::BillPaid,
            ChangeKind::ConnectionResumed,
        ]
        .map(domain_binding)
        .to_vec()
    }

    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        let (account, record) = account_of(envelope)?;
        match &envelope.domain()?.change {
            Change::MatterStatusChanged { .. } => {
                sync_status(conn, account, record).await?;
                Ok(())
            }
            Change::BillPaid => {
                queue_thanks(conn, account, record).await?;
                Ok(())
            }
            Change::ConnectionResumed { user, since } => {
                catch_up(conn, account, user.get(), *since).await?;
                Ok(())
            }
            other @ (Change::MatterOpened
            | Change::MatterChanged
            | Change::MatterDeleted
            | Change::ContactChanged) => Err(HandlerError::permanent(format!(
                "the status worker does not handle {}",
                domain_binding(other.kind())
            ))),
        }
    }
}

/// Carries the matter's status, as the mirror holds it now, into each referral linked to it. The
/// mirror is the truth: an event handled late reads the latest status, and the matter's Clio
/// `updated_at` orders it against the referral's last change.
pub async fn sync_status(
    conn: &mut AsyncPgConnection,
    account: i64,
    matter_id: i64,
) -> diesel::QueryResult<usize> {
    let linked = referrals::linked_to(conn, account, matter_id).await?;
    if linked.is_empty() {
        return Ok(0);
    }
    let Some(matter) = mirror::matter(conn, account, matter_id).await? else {
        return Ok(0);
    };
    let Some(matter_status) = matter.status.as_ref() else {
        return Ok(0);
    };
    let seen_at = matter.clio_updated_at.unwrap_or_else(Utc::now);
    let mut changed = 0;
    for r in linked {
        if let Some(change) = status::apply(r.status, r.status_changed_at, matter_status, seen_at) {
            referrals::set_status(conn, r.id, change.to, seen_at).await?;
            referrals::add_event(conn, r.id, "status", &change.timeline).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// A user's connection to the firm syncs again after a pause that began at `since`: their linked
/// referrals take their matters' statuses as the mirror holds them now, and each bill of those
/// matters paid during the pause queues its thank-you draft (a bill paid before it was announced
/// while they were connected, and has its draft already).
pub async fn catch_up(
    conn: &mut AsyncPgConnection,
    account: i64,
    user_id: i64,
    since: chrono::DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let mut matters: Vec<i64> = referrals::linked_of_user(conn, user_id, account)
        .await?
        .into_iter()
        .filter_map(|r| r.matter_id)
        .collect();
    matters.sort_unstable();
    matters.dedup();
    for matter_id in matters {
        sync_status(conn, account, matter_id).await?;
        for bill in mirror::paid_bills_of_matter(conn, account, matter_id).await? {
            if bill.paid_at.is_some_and(|paid| paid >= since) {
                queue_thanks(conn, account, bill.clio_id).await?;
            }
        }
    }
    Ok(())
}

/// The matter's other paid bills that were paid before `bill` (by Clio's paid time; by id when a
/// time is missing), however the events' order arrived; the running total counts those in the
/// bill's currency.
async fn paid_before(
    conn: &mut AsyncPgConnection,
    account: i64,
    matter_id: i64,
    bill: &mirror::BillRow,
) -> diesel::QueryResult<Earlier> {
    let before = |other: &mirror::BillRow| match (other.paid_at, bill.paid_at) {
        (Some(o), Some(b)) if o != b => o < b,
        _ => other.clio_id < bill.clio_id,
    };
    let earlier: Vec<_> = mirror::paid_bills_of_matter(conn, account, matter_id)
        .await?
        .into_iter()
        .filter(|other| other.clio_id != bill.clio_id && before(other))
        .collect();
    Ok(Earlier {
        bills: earlier.len(),
        total: earlier
            .iter()
            .filter(|b| b.currency == bill.currency)
            .filter_map(|b| b.total_minor)
            .fold(0_i64, i64::saturating_add),
    })
}

async fn queue_thanks(
    conn: &mut AsyncPgConnection,
    account: i64,
    bill_id: i64,
) -> diesel::QueryResult<()> {
    let Some(bill) = mirror::bill(conn, account, bill_id).await? else {
        return Ok(());
    };
    if bill.state != Some(BillState::Paid) || bill.deleted_at.is_some() {
        return Ok(());
    }
    for matter_id in &bill.matter_ids {
        let linked = referrals::linked_to(conn, account, *matter_id).await?;
        if linked.is_empty() {
            continue;
        }
        let facts = client::facts(conn, account, *matter_id).await?;
        let earlier = paid_before(conn, account, *matter_id, &bill).await?;
        for r in linked {
            let client_name = match (&r.client_first_name, &r.client_last_name) {
                (Some(f), Some(l)) => format!("{f} {l}"),
                _ => facts
                    .as_ref()
                    .and_then(|f| f.client_name.clone())
                    .unwrap_or_else(|| "your client".into()),
            };
            let commission = r.commission_cents.map(Commission::Amount).or(r
                .commission_bp
                .map(|bp| Commission::Percentage(i64::from(bp))));
            let draft = thank_you(&Paid {
                partner_name: &r.partner_name,
                client_name: &client_name,
                matter: facts
                    .as_ref()
                    .and_then(|f| f.matter.display_number.as_deref()),
                currency: bill.currency(),
                bill_total: bill.total_minor,
                bill_number: bill.number.as_deref(),
                earlier: Some(earlier),
                commission,
            });
            let queued = referrals::queue_draft(
                conn,
                &referrals::NewDraft {
                    user_id: r.user_id,
                    referral_id: r.id,
                    account,
                    bill_id,
                    to_name: &r.partner_name,
                    to_email: r.partner_email.as_deref(),
                    subject: &draft.subject,
                    body: &draft.body,
                },
            )
            .await?;
            if queued {
                let number = bill.number.as_deref().unwrap_or("");
                referrals::add_event(
                    conn,
                    r.id,
                    "draft",
                    &format!(
                        "Bill {number} paid: a thank-you draft to {} is in the action queue",
                        r.partner_name
                    ),
                )
                .await?;
            }
        }
    }
    Ok(())
}
