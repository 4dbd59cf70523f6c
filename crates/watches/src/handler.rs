//! `matterhook-worker-watches`' consumer: a change the sync stage announces to a matter or a
//! contact re-syncs the watches of that matter, or whose client that contact is, from the
//! mirror, by each watch's connection's settings. No button needed, and no Clio call: the
//! sync stage has just read the record.

use std::collections::BTreeMap;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use matterhook_bus::{domain_binding, Envelope, Handler, HandlerError};
use matterhook_domain::sync_events::{Change, ChangeKind};
use matterhook_store::watches as store;

use crate::{facts, resync, settings_of, Cause};

/// Consumes the matter events and `sync.contact.changed`.
#[derive(Debug, Clone, Default)]
pub struct WatchSyncer;

impl Handler for WatchSyncer {
    const NAME: &'static str = crate::WORKER;

    fn routing_keys(&self) -> Vec<String> {
        [
            ChangeKind::MatterOpened,
            ChangeKind::MatterStatusChanged,
            ChangeKind::MatterChanged,
            ChangeKind::MatterDeleted,
            ChangeKind::ContactChanged,
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
        let (matter, client) = match &event.change {
            Change::MatterOpened
            | Change::MatterStatusChanged { .. }
            | Change::MatterChanged
            | Change::MatterDeleted => (Some(record), None),
            Change::ContactChanged => (None, Some(record)),
            other => {
                return Err(HandlerError::permanent(format!(
                    "the watches worker does not handle {}",
                    domain_binding(other.kind())
                )))
            }
        };
        // The runtime's transaction holds these locks until the watches are written.
        let rows = store::touched_by(conn, account, matter, client).await?;
        if rows.is_empty() {
            return Ok(());
        }
        let matters: Vec<i64> = rows.iter().map(|r| r.matter_id).collect();
        let sources = facts::load(conn, account, &matters).await?;
        let mut by_connection: BTreeMap<i64, Vec<store::WatchRow>> = BTreeMap::new();
        for row in rows {
            by_connection
                .entry(row.connection_id)
                .or_default()
                .push(row);
        }
        let now = Utc::now();
        for (connection, rows) in by_connection {
            let settings = settings_of(conn, connection).await?;
            let outcomes =
                resync::resync(conn, &rows, &sources, &settings, Cause::Event, now).await?;
            let changed: usize = outcomes.iter().map(|o| o.changes.len()).sum();
            if changed > 0 {
                tracing::info!(
                    connection_id = connection,
                    watches = outcomes.len(),
                    fields = changed,
                    "watches follow a change in Clio"
                );
            }
        }
        Ok(())
    }
}
