//! Watches: matters a user imported from Clio as records (the obituary-monitoring product's Clio
//! integration). Their Clio-sourced fields (the client's names, date of birth, city and state,
//! the case number, the responsible attorney, the case type through the user's mapping, the open
//! date) re-sync field by field by [`matterhook_domain::watches`]' rules; notes, tags and priority
//! are the user's alone.
//!
//! - [`import`] makes watches of mirrored matters (sync never creates one);
//! - [`sync_one`] re-reads one watch's matter and client from Clio through the sync stage and
//!   answers with what changed;
//! - [`jobs`] syncs every watch of a connection (Sync All, the `auto_sync` schedule, a login) in
//!   `ids[]` reads of 200;
//! - [`WatchSyncer`] re-syncs the watches a mirror change touches, so a change in Clio reaches
//!   them within seconds without any button;
//! - [`edit`] applies the user's edits and acceptances of conflicts.
//!
//! Nothing here deletes a watch: a matter closed or deleted in Clio marks it.

mod edit;
mod facts;
mod handler;
mod import;
pub mod jobs;
mod resync;
mod sync_one;
mod view;

use diesel_async::AsyncPgConnection;
use matterhook_domain::{settings::ConnectionSettings, watches::WatchSettings};
use serde_json::Value;

pub use edit::{accept, edit, EditError, Patch, Priority};
pub use facts::Source;
pub use handler::WatchSyncer;
pub use import::{import, Imported};
pub use resync::{Cause, Outcome};
pub use sync_one::{sync_one, SyncOneError};
pub use view::{ChangeView, ConflictView, SyncAnswer, WatchView};

/// The worker's name: its queue is `matterhook.watches`.
pub const WORKER: &str = "watches";

/// A connection's `watches` settings (the defaults when it has none, or an unreadable document).
pub async fn settings_of(
    conn: &mut AsyncPgConnection,
    connection: i64,
) -> diesel::QueryResult<WatchSettings> {
    let document = matterhook_store::settings::get(conn, connection)
        .await?
        .unwrap_or(Value::Null);
    if document.is_null() {
        return Ok(WatchSettings::default());
    }
    Ok(match ConnectionSettings::parse(&document) {
        Ok(s) => s.watches,
        Err(e) => {
            tracing::error!(connection_id = connection, error = %e, "settings unreadable; watch defaults used");
            WatchSettings::default()
        }
    })
}
