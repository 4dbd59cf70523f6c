//! `matterhook-worker-matching`: a newly opened matter against each connected user's unlinked
//! received referrals.

use diesel_async::AsyncPgConnection;
use matterhook_bus::{domain_binding, Envelope, Handler, HandlerError};
use matterhook_domain::referrals::matching::{decide, Candidate, Decision};
use matterhook_domain::{sync_events::ChangeKind, Direction};
use matterhook_store::{connections, notifications, referrals, suggestions};

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

    fn routing_keys(&self) -> Vec<String> {
        vec![domain_binding(ChangeKind::MatterOpened)]
    }

    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        let (account, matter_id) = account_of(envelope)?;
        let Some(facts) = client::facts(conn, account, matter_id).await? else {
            // Deleted since, or never mirrored: nothing to match.
            return Ok(());
        };
        let number = facts
            .matter
            .display_number
            .clone()
            .unwrap_or_else(|| format!("#{matter_id}"));
        for user_id in connections::users_of_account(conn, account).await? {
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
                        // The matter may be past open already (first seen closed): its status
                        // applies at once, as when a user links by hand.
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
                            &format!(
                                "The referral from {partner} was linked to new matter {number}."
                            ),
                            id,
                            None,
                        )
                        .await?;
                    }
                }
                Decision::Suggest(ids) => {
                    for id in ids {
                        let Some(suggestion) =
                            suggestions::suggest(conn, id, account, matter_id).await?
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
                                "Possible referral match: new matter {number} for {client} may \
                                 be the referral from {partner}. Confirm to link them."
                            ),
                            id,
                            Some(suggestion),
                        )
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }
}
