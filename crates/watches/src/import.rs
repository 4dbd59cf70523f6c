//! Importing mirrored matters as watches: idempotent per matter.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use matterhook_domain::watches::{from_clio, Change};
use matterhook_store::watches::{self as store, Synced, WatchRow};

use crate::{
    facts,
    resync::{conflicts_value, edited_value, fields_value, record, Cause},
    settings_of,
};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Imported {
    /// The watches of the matters asked for, in the order asked (those already watched
    /// included, as they were).
    pub watches: Vec<WatchRow>,
    /// How many this import created.
    pub created: usize,
    /// Matters asked for that the firm's mirror does not hold live.
    pub unknown: Vec<i64>,
}

/// Imports these matters of the connection's firm as watches of `user` through `connection`,
/// with their fields from the mirror; a matter already watched through it stays as it is.
pub async fn import(
    conn: &mut AsyncPgConnection,
    connection: i64,
    user: i64,
    account: i64,
    matters: &[i64],
    at: DateTime<Utc>,
) -> diesel::QueryResult<Imported> {
    let settings = settings_of(conn, connection).await?;
    conn.transaction(async |conn| {
        let sources = facts::load(conn, account, matters).await?;
        let mut out = Imported::default();
        for &matter in matters {
            let Some(source) = sources.get(&matter).filter(|s| s.deleted_at.is_none()) else {
                out.unknown.push(matter);
                continue;
            };
            let fields = from_clio(&source.facts, &settings.mapping);
            let synced = Synced {
                client_id: source.client_id,
                fields: fields_value(&fields),
                edited: edited_value(&Default::default()),
                conflicts: conflicts_value(&[]),
                clio_status: source.status.clone(),
                clio_deleted_at: None,
            };
            let (row, created) =
                store::import(conn, connection, user, account, matter, &synced, at).await?;
            if created {
                out.created += 1;
                let changes: Vec<Change> = fields
                    .iter()
                    .map(|(field, value)| Change {
                        field: *field,
                        from: None,
                        to: value.clone(),
                    })
                    .collect();
                record(conn, row.id, Cause::Import, &changes, at).await?;
            }
            out.watches.push(row);
        }
        Ok(out)
    })
    .await
}
