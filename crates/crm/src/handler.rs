//! `matterhook-worker-crm`'s consumer: a contact's change re-projects it; a matter's change
//! re-projects its client, the people related to it, and, when its client is a company, that
//! company's people (their `Company` tag depends on it).

use diesel_async::AsyncPgConnection;
use matterhook_bus::{domain_binding, Envelope, Handler, HandlerError};
use matterhook_domain::{
    settings::ConnectionSettings,
    sync_events::{Change, ChangeKind},
};
use matterhook_store::{crm, mirror, settings};
use serde_json::Value;

use crate::project::{reproject, ProjectError};

/// Consumes `sync.contact.changed` and the matter events.
#[derive(Debug, Clone, Default)]
pub struct CrmProjector;

impl From<ProjectError> for HandlerError {
    fn from(e: ProjectError) -> Self {
        match e {
            ProjectError::Database(d) => d.into(),
            json @ ProjectError::Json(_) => HandlerError::permanent(json),
        }
    }
}

/// The connections of `account` whose projection is current and whose CRM is on, with their
/// settings. (A connection whose first projection has not finished is left to its job.)
pub async fn projecting(
    conn: &mut AsyncPgConnection,
    account: i64,
) -> Result<Vec<(i64, matterhook_domain::crm::CrmSettings)>, diesel::result::Error> {
    let mut out = Vec::new();
    for id in crm::projected_connections(conn, account).await? {
        let document = settings::get(conn, id).await?.unwrap_or(Value::Null);
        let parsed = if document.is_null() {
            Ok(ConnectionSettings::default())
        } else {
            ConnectionSettings::parse(&document)
        };
        match parsed {
            Ok(s) if s.crm.enabled => out.push((id, s.crm)),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(connection_id = id, error = %e, "CRM settings unreadable; skipped");
            }
        }
    }
    Ok(out)
}

/// The contacts a matter's change may re-tag.
async fn touched_by_matter(
    conn: &mut AsyncPgConnection,
    account: i64,
    matter: i64,
) -> Result<Vec<i64>, diesel::result::Error> {
    let Some(row) = mirror::matter(conn, account, matter).await? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<i64> = row
        .data
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("contact")?.get("id")?.as_i64())
        .collect();
    if let Some(client) = row.client_id {
        out.push(client);
        // A company client: its people carry `Company` because of it.
        out.extend(crm::people_of_company(conn, account, client).await?);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

impl Handler for CrmProjector {
    const NAME: &'static str = "crm";

    // Its whole effect is rows in PostgreSQL (it reads the mirror, never Clio): events waiting
    // together share a transaction, one commit for up to 16.
    const BATCH: usize = 16;

    fn routing_keys(&self) -> Vec<String> {
        [
            ChangeKind::ContactChanged,
            ChangeKind::MatterOpened,
            ChangeKind::MatterStatusChanged,
            ChangeKind::MatterChanged,
        ]
        .map(domain_binding)
        .to_vec()
    }

    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        let event = envelope.domain()?;
        let (account, record) = (event.account.get(), event.record.get());
        let connections = projecting(conn, account).await?;
        if connections.is_empty() {
            return Ok(());
        }
        let contacts = match &event.change {
            Change::ContactChanged => vec![record],
            Change::MatterOpened | Change::MatterStatusChanged { .. } | Change::MatterChanged => {
                touched_by_matter(conn, account, record).await?
            }
            other => {
                return Err(HandlerError::permanent(format!(
                    "the CRM worker does not handle {}",
                    domain_binding(other.kind())
                )))
            }
        };
        for (connection, settings) in &connections {
            for contact in &contacts {
                let outcome =
                    reproject(conn, *connection, account, *contact, settings, false).await?;
                if outcome.change.is_some() || outcome.new_client {
                    tracing::info!(
                        connection_id = connection,
                        contact_id = contact,
                        change = outcome.change.map(|c| c.as_str()),
                        new_client = outcome.new_client,
                        "CRM contact projected"
                    );
                }
            }
        }
        Ok(())
    }
}
