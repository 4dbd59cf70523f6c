//! `matterhook-worker-matching`: a newly opened matter against each connected user's unlinked
//! received referrals; and, when a user's connection syncs again, the matters created while it
//! did not against theirs.

use diesel_async::AsyncPgConnection;
use matterhook_bus::{domain_binding, Envelope, Handler, HandlerError};
use matterhook_domain::referrals::matching::{decide, Candidate, Decision};
use matterhook_domain::{
    sync_events::{Change, ChangeKind},
    Direction,
};
use matterhook_store::{connections, mirror, notifications, referrals, suggestions};

use crate::client;

/// Consumes `sync.matter.opened`.
#[derive(Debug, Default, Clone)]
pub struct Matching;

/// `notifications.kind` of a referral linked by matching.
pub const LINKED: &str = "referral_linked";
/// `notifications.kind` of a possible match to confirm.
pub const SUGGESTED: &str = "referral_suggestion";

/// The firm and record a domain event is about.
pub(crate) fn account_of(envelope: &Envelope) -> Result<(i64, i64), HandlerError> {
    let event = envelope.domain()?;
    Ok((event.account.get(), event.record.get()))
}

fn candidate(r: &referrals::Referral) -> Candidate {
    Candidate {
        id: r.id,
        received: r.direction == Direction::Received,
        linked: r.matter_id.is_some(),
        email: r.email_key.clone(),
        name: r.name_key.clone(),
        company: r.company_key.clone(),
        name_tokens: r.name_tokens.clone(),
    }
}

impl Handler for Matching {
    const NAME: &'static str = "matching";

    // Its whole effect is rows in PostgreSQL (it reads the mirror, never Clio): events waiting
    // together share a transaction, one commit for up to 16.
    const BATCH: usize = 16;

    fn routing_keys(&self) -> Vec<String> {
        [ChangeKind::MatterOpened, ChangeKind::ConnectionResumed]
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
            Change::MatterOpened => {
                let Some(facts) = client::facts(conn, account, record).await? else {
                    // Deleted since, or never mirrored: nothing to match.
                    return Ok(());
                };
                for user_id in connections::users_of_account(conn, account).await? {
                    match_for_user(conn, account, &facts, user_id).await?;
                }
                Ok(())
            }
            // The user was away while colleagues' connections kept the mirror current: the
            // matters created meanwhile are matched against their referrals now.
            Change::ConnectionResumed { user, since } => {
                for matter_id in mirror::matters_created_since(conn, account, *since).await? {
                    if let Some(facts) = client::facts(conn, account, matter_id).await? {
                        match_for_user(conn, account, &facts, user.get()).await?;
                    }
                }
                Ok(())
            }
            other @ (Change::MatterStatusChanged { .. }
            | Change::MatterChanged
            | Change::MatterDeleted
            | Change::ContactChanged
            | Change::BillPaid) => Err(HandlerError::permanent(format!(
                "the matching worker does not handle {}",
                domain_binding(other.kind())
            ))),
        }
    }
}

/// A new matter against one user's unlinked received referrals: linked when one clearly matches,
/// suggested when some might.
async fn match_for_user(
    conn: &mut AsyncPgConnection,
    account: i64,
    facts: &client::MatterFacts,
    user_id: i64,
) -> diesel::QueryResult<()> {
    let matter_id = facts.matter.clio_id;
    let number = facts
        .matter
        .display_number
        .clone()
        .unwrap_or_else(|| format!("#{matter_id}"));
    let found = referrals::candidates(
        conn,
        user_id,
        &facts.client.emails,
        facts.client.name.as_deref(),
        facts.client.company.as_deref(),
    )
    .await?;
    let candidates: Vec<Candidate> = found.iter().map(candidate).collect();
    let by_id = |id: i64| found.iter().find(|r| r.id == id);
    match decide(&facts.client, &candidates) {
        Decision::Nothing => {}
        Decision::Link(id) => {
            if referrals::link(conn, id, account, matter_id, "match").await? {
                // The matter may be past open already (first seen closed): its status applies at
                // once, as when a user links by hand.
                crate::status::sync_status(conn, account, matter_id).await?;
                let partner = by_id(id).map_or("", |r| r.partner_name.as_str());
                referrals::add_event(
                    conn,
                    id,
                    "linked",
                    &format!("Linked to matter {number} (the client's email matched)"),
                )
                .await?;
                notifications::notify_referral(
                    conn,
                    user_id,
                    LINKED,
                    &format!("The referral from {partner} was linked to new matter {number}."),
                    id,
                    None,
                )
                .await?;
            }
        }
        Decision::Suggest(ids) => {
            for id in ids {
                let Some(suggestion) = suggestions::suggest(conn, id, account, matter_id).await?
                else {
                    continue;
                };
                let partner = by_id(id).map_or("", |r| r.partner_name.as_str());
                let client = facts.client_name.as_deref().unwrap_or("the client");
                notifications::notify_referral(
                    conn,
                    user_id,
                    SUGGESTED,
                    &format!(
                        "Possible referral match: new matter {number} for {client} may be the \
                         referral from {partner}. Confirm to link them."
                    ),
                    id,
                    Some(suggestion),
                )
                .await?;
            }
        }
    }
    Ok(())
}
