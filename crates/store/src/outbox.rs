//! The transactional outbox: domain events written in the same transaction as the change that
//! implies them, published by the relay, then moved to `outbox_published`, where they are kept
//! for [`PUBLISHED_RETENTION_HOURS`] so they can be published again after a loss of the broker's
//! data.

use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use chrono::{DateTime, Utc};

use crate::schema::{outbox as o, outbox_published as op};

/// How long published events are kept for republishing.
pub const PUBLISHED_RETENTION_HOURS: i64 = 72;

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

/// Moves published events out of the outbox into `outbox_published`, in one statement.
pub async fn retire(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "WITH moved AS (DELETE FROM outbox WHERE id = ANY($1) \
                        RETURNING id, routing_key, message, created_at) \
         INSERT INTO outbox_published (id, routing_key, message, created_at) \
         SELECT id, routing_key, message, created_at FROM moved \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(ids)
    .execute(conn)
    .await
}

/// Deletes published events older than `before`; returns how many.
pub async fn purge_published(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(op::table.filter(op::published_at.lt(before)))
        .execute(conn)
        .await
}

/// Published events from `since` on, in publication order, after row `after`.
pub async fn published_since(
    conn: &mut AsyncPgConnection,
    since: DateTime<Utc>,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    op::table
        .filter(op::published_at.ge(since))
        .filter(op::id.gt(after))
        .order(op::id.asc())
        .limit(limit)
        .select((op::id, op::routing_key, op::message))
        .load(conn)
        .await
}

/// How many published events there are from `since` on.
pub async fn count_published_since(
    conn: &mut AsyncPgConnection,
    since: DateTime<Utc>,
) -> QueryResult<i64> {
    op::table
        .filter(op::published_at.ge(since))
        .count()
        .get_result(conn)
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
