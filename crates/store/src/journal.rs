//! The event journal: one row per Clio event the journal worker applied.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::Model;

use crate::schema::event_journal;

/// A journal entry.
#[derive(Debug, Clone, Insertable, Queryable, Selectable, PartialEq)]
#[diesel(table_name = event_journal)]
pub struct JournalEntry {
    /// The event id.
    pub event_id: String,
    /// The subscription it came through.
    pub subscription_id: i64,
    /// The connection.
    pub connection_id: i64,
    /// matter, contact or bill.
    pub model: Model,
    /// The Clio event.
    pub event: String,
    /// The record.
    pub record_id: Option<i64>,
    /// When the receiver accepted it.
    pub received_at: DateTime<Utc>,
}

/// Adds an entry (a second insert of the same event is a constraint violation, which the runtime's
/// idempotency mark prevents from ever happening).
pub async fn insert(conn: &mut AsyncPgConnection, entry: &JournalEntry) -> QueryResult<()> {
    diesel::insert_into(event_journal::table)
        .values(entry)
        .execute(conn)
        .await
        .map(drop)
}

/// Every entry for a record, oldest first.
pub async fn for_record(
    conn: &mut AsyncPgConnection,
    model: Model,
    record_id: i64,
) -> QueryResult<Vec<JournalEntry>> {
    event_journal::table
        .filter(event_journal::model.eq(model))
        .filter(event_journal::record_id.eq(record_id))
        .order(event_journal::recorded_at.asc())
        .select(JournalEntry::as_select())
        .load(conn)
        .await
}

/// How many entries there are.
pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    event_journal::table.count().get_result(conn).await
}
