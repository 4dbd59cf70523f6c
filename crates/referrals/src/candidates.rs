//! Matters a person might link a referral to: a pinned best guess, a text search, matters
//! matching the referral's client details, and the most recent ones.

use diesel_async::AsyncPgConnection;
use matterhook_domain::MatterStatus;
use matterhook_store::{
    connections,
    mirror::{self, MatterRow},
    referrals, suggestions,
};
use serde::Serialize;

use crate::service::ReferralError;

/// A matter as a picker shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatterBrief {
    /// The firm.
    pub clio_account_id: i64,
    /// The matter's Clio id (what `link` takes).
    pub matter_id: i64,
    /// Its number.
    pub display_number: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// Open, Pending or Closed.
    pub status: Option<MatterStatus>,
    /// The client's name.
    pub client_name: Option<String>,
    /// The client's email.
    pub client_email: Option<String>,
}

impl From<MatterRow> for MatterBrief {
    fn from(m: MatterRow) -> Self {
        Self {
            clio_account_id: m.clio_account_id,
            matter_id: m.clio_id,
            display_number: m.display_number,
            description: m.description,
            status: m.status,
            client_name: m.client_name,
            client_email: m.client_email,
        }
    }
}

/// The candidates for one referral.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Candidates {
    /// The linked matter, else the latest suggestion, else the best guess from the client's
    /// details.
    pub pinned: Option<MatterBrief>,
    /// Matters whose number, client name or client email contains `q` (empty without `q`).
    pub search: Vec<MatterBrief>,
    /// Matters whose client has the referral's client email, or both of its names.
    pub suggested: Vec<MatterBrief>,
    /// The most recently changed matters.
    pub recent: Vec<MatterBrief>,
}

const EACH: i64 = 10;

/// The candidates for `referral_id` of `user_id`, in the firms the user is connected to.
pub async fn link_candidates(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    referral_id: i64,
    q: Option<&str>,
) -> Result<Candidates, ReferralError> {
    let r = referrals::get(conn, user_id, referral_id)
        .await?
        .ok_or(ReferralError::NotFound)?;
    let accounts = connections::accounts_of_user(conn, user_id).await?;
    if accounts.is_empty() {
        return Ok(Candidates::default());
    }
    let q = q.map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 100) {
        return Err(ReferralError::Invalid("q is at most 100 characters".into()));
    }
    let search = match q {
        Some(q) => mirror::search_matters(conn, &accounts, q, EACH).await?,
        None => Vec::new(),
    };
    let names = r
        .client_first_name
        .as_deref()
        .zip(r.client_last_name.as_deref());
    let suggested =
        mirror::matters_for_client(conn, &accounts, r.email_key.as_deref(), names, EACH).await?;
    let recent = mirror::recent_matters(conn, &accounts, EACH).await?;
    let linked = match (r.clio_account_id, r.matter_id) {
        (Some(a), Some(m)) => mirror::matter(conn, a, m).await?,
        _ => None,
    };
    let offered = match linked {
        Some(m) => Some(m),
        None => match suggestions::open_suggestions(conn, referral_id)
            .await?
            .first()
        {
            Some(s) => mirror::matter(conn, s.clio_account_id, s.matter_id).await?,
            None => None,
        },
    };
    let pinned = offered.or_else(|| suggested.first().cloned());
    Ok(Candidates {
        pinned: pinned.map(Into::into),
        search: search.into_iter().map(Into::into).collect(),
        suggested: suggested.into_iter().map(Into::into).collect(),
        recent: recent.into_iter().map(Into::into).collect(),
    })
}
