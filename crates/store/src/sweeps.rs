//! Sweep requests: re-read what webhooks may have missed.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::Model;

use crate::schema::sweep_requests as s;

/// A sweep request row.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = s)]
pub struct SweepRequest {
    /// Row id.
    pub id: i64,
    /// The connection.
    pub connection_id: i64,
    /// matter, contact or bill.
    pub model: Model,
    /// Re-read records changed since.
    pub since: DateTime<Utc>,
    /// Why.
    pub reason: String,
    /// Requested.
    pub requested_at: DateTime<Utc>,
    /// Completed.
    pub done_at: Option<DateTime<Utc>>,
}

/// Asks for a sweep of one model of a connection since `since`.
pub async fn request(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    model: Model,
    since: DateTime<Utc>,
    reason: &str,
) -> QueryResult<i64> {
    diesel::insert_into(s::table)
        .values((
            s::connection_id.eq(connection_id),
            s::model.eq(model),
            s::since.eq(since),
            s::reason.eq(reason),
        ))
        .returning(s::id)
        .get_result(conn)
        .await
}

/// A connection's requests not yet done, oldest first.
pub async fn pending(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
) -> QueryResult<Vec<SweepRequest>> {
    s::table
        .filter(s::connection_id.eq(connection_id))
        .filter(s::done_at.is_null())
        .order(s::id.asc())
        .select(SweepRequest::as_select())
        .load(conn)
        .await
}

/// Marks a request done.
pub async fn mark_done(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
    diesel::update(s::table.find(id))
        .set(s::done_at.eq(chrono::Utc::now()))
        .execute(conn)
        .await
        .map(drop)
}

/// Requests not yet done, of connected connections, oldest first.
pub async fn pending_all(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> QueryResult<Vec<SweepRequest>> {
    s::table
        .inner_join(crate::schema::connections::table)
        .filter(s::done_at.is_null())
        .filter(crate::schema::connections::status.eq(crate::connections::CONNECTED))
        .order(s::id.asc())
        .limit(limit)
        .select(SweepRequest::as_select())
        .load(conn)
        .await
}
