//! Projecting one contact for one connection: the rules
//! (`matterhook_domain::crm::project`) over the mirror's facts, written to the projection and its
//! change feed, with the new-client event when it is one.

use matterhook_domain::crm::{becomes_client, project, CrmContact, CrmSettings};
use matterhook_store::{crm, AsyncPgConnection};

use crate::facts;

/// Why a projection failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The store failed.
    #[error("database")]
    Database(#[from] diesel::result::Error),
    /// A projection that does not serialise (a bug).
    #[error("projection")]
    Json(#[from] serde_json::Error),
}

/// What one contact's projection came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// What the change feed says, if it changed.
    pub change: Option<crm::Change>,
    /// Whether it fired `contact.new_client`.
    pub new_client: bool,
}

/// Projects `contact` of `account` for `connection` with `settings`, from the mirror. In a
/// `baseline` (the connection's first projection) a client is recorded without an event.
pub async fn reproject(
    conn: &mut AsyncPgConnection,
    connection: i64,
    account: i64,
    contact: i64,
    settings: &CrmSettings,
    baseline: bool,
) -> Result<Outcome, ProjectError> {
    let facts = facts::load(conn, account, contact).await?;
    let now = facts.as_ref().and_then(|f| project(f, settings));
    write(conn, connection, account, contact, now, baseline).await
}

/// Writes `now` as the contact's projection (and its new-client event).
pub async fn write(
    conn: &mut AsyncPgConnection,
    connection: i64,
    account: i64,
    contact: i64,
    now: Option<CrmContact>,
    baseline: bool,
) -> Result<Outcome, ProjectError> {
    let held = crm::projection(conn, connection, contact).await?;
    write_over(conn, connection, account, contact, held, now, baseline).await
}

/// [`write`], `held` being what the connection holds of the contact.
pub async fn write_over(
    conn: &mut AsyncPgConnection,
    connection: i64,
    account: i64,
    contact: i64,
    held: Option<serde_json::Value>,
    now: Option<CrmContact>,
    baseline: bool,
) -> Result<Outcome, ProjectError> {
    let before: Option<CrmContact> = held
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let projected = match &now {
        Some(c) => Some(crm::Projected {
            projection: serde_json::to_value(c)?,
            tags: c.tags.iter().cloned().collect(),
            owner: c.owner,
        }),
        None => None,
    };
    let change = crm::write_over(
        conn,
        connection,
        account,
        contact,
        held.as_ref(),
        projected.as_ref(),
    )
    .await?;
    // Becoming a client in the projection: the store keeps the first record only, so a contact
    // fires once per connection ever; a baseline records the clients of the past without firing.
    let new_client = becomes_client(before.as_ref(), now.as_ref())
        && crm::record_client(conn, connection, contact, baseline).await?
        && !baseline;
    Ok(Outcome { change, new_client })
}
