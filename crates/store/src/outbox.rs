//! The transactional outbox: domain events written in the same transaction as the change that
//! implies them, published by the relay, then deleted.

use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::schema::outbox as o;

/// A waiting event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = o)]
pub struct OutboxRow {
    /// Row id: publication order.
    pub id: i64,
    /// Where it goes.
    pub routing_key: String,
    /// The envelope.
    pub message: Value,
}

/// Writes an event to publish.
pub async fn push(
    conn: &mut AsyncPgConnection,
    routing_key: &str,
    message: &Value,
) -> QueryResult<()> {
    diesel::insert_into(o::table)
        .values((o::routing_key.eq(routing_key), o::message.eq(message)))
        .execute(conn)
        .await
        .map(drop)
}

/// Writes events to publish in one statement, in order (their ids keep it).
pub async fn push_many(
    conn: &mut AsyncPgConnection,
    events: &[(String, Value)],
) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = events
        .iter()
        .map(|(key, message)| (o::routing_key.eq(key), o::message.eq(message)))
        .collect();
    diesel::insert_into(o::table)
        .values(rows)
        .execute(conn)
        .await
        .map(drop)
}

/// The oldest `limit` events, locked (skipping any another relay holds) until the transaction
/// ends.
pub async fn take(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<OutboxRow>> {
    o::table
        .order(o::id.asc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// Deletes published events.
pub async fn delete(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<usize> {
    diesel::delete(o::table.filter(o::id.eq_any(ids)))
        .execute(conn)
        .await
}

/// How many events wait, and when the oldest was written: the relay's lag.
pub async fn backlog(
    conn: &mut AsyncPgConnection,
) -> QueryResult<(i64, Option<chrono::DateTime<chrono::Utc>>)> {
    o::table
        .select((diesel::dsl::count_star(), diesel::dsl::min(o::created_at)))
        .get_result(conn)
        .await
}
