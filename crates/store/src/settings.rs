//! Connections' settings documents, and the history of every change.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::schema::{connection_settings as s, connection_settings_history as h, connections as c};

/// The stored document of a connection, if its user ever saved one.
pub async fn get(conn: &mut AsyncPgConnection, connection_id: i64) -> QueryResult<Option<Value>> {
    s::table
        .find(connection_id)
        .select(s::document)
        .first(conn)
        .await
        .optional()
}

/// Stores `after` as the connection's document and records the change, in the caller's
/// transaction.
pub async fn save(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    user_id: i64,
    before: &Value,
    after: &Value,
) -> QueryResult<()> {
    let now = Utc::now();
    diesel::insert_into(s::table)
        .values((
            s::connection_id.eq(connection_id),
            s::document.eq(after),
            s::updated_at.eq(now),
            s::updated_by.eq(user_id),
        ))
        .on_conflict(s::connection_id)
        .do_update()
        .set((
            s::document.eq(after),
            s::updated_at.eq(now),
            s::updated_by.eq(user_id),
        ))
        .execute(conn)
        .await?;
    diesel::insert_into(h::table)
        .values((
            h::connection_id.eq(connection_id),
            h::changed_at.eq(now),
            h::changed_by.eq(user_id),
            h::before.eq(before),
            h::after.eq(after),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Locks the connection's settings row (if any) for a read-modify-write.
pub async fn lock(conn: &mut AsyncPgConnection, connection_id: i64) -> QueryResult<Option<Value>> {
    s::table
        .find(connection_id)
        .select(s::document)
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// One recorded change.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = h)]
pub struct Change {
    /// Row id.
    pub id: i64,
    /// When.
    pub changed_at: DateTime<Utc>,
    /// Who (our user id).
    pub changed_by: i64,
    /// The document before.
    pub before: Value,
    /// The document after.
    pub after: Value,
}

/// A connection's changes, newest first.
pub async fn history(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    limit: i64,
) -> QueryResult<Vec<Change>> {
    h::table
        .filter(h::connection_id.eq(connection_id))
        .order(h::id.desc())
        .limit(limit)
        .select(Change::as_select())
        .load(conn)
        .await
}

/// Connections whose review requests are on, with what the review worker needs of each.
#[derive(Debug, Clone, Queryable)]
pub struct ReviewConnection {
    /// The connection.
    pub connection_id: i64,
    /// Its user.
    pub user_id: i64,
    /// Its firm.
    pub clio_account_id: i64,
    /// Its state.
    pub status: matterhook_domain::ConnectionStatus,
    /// When Clio refused to show custom field definitions.
    pub custom_fields_forbidden_at: Option<DateTime<Utc>>,
    /// The Clio user's time zone.
    pub clio_time_zone: Option<String>,
    /// Its Clio region (`us`, `eu`, ...).
    pub region: String,
    /// The settings document.
    pub document: Value,
}

/// Which connections [`review_connections`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope {
    /// Only this firm's.
    pub account: Option<i64>,
    /// Only this user's.
    pub user: Option<i64>,
    /// Only this connection.
    pub connection: Option<i64>,
}

/// The connections (all, or those of `scope`) whose settings turn review requests on.
pub async fn review_connections(
    conn: &mut AsyncPgConnection,
    scope: Scope,
) -> QueryResult<Vec<ReviewConnection>> {
    let mut q = c::table
        .inner_join(s::table)
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "(connection_settings.document -> 'review_requests' ->> 'enabled') = 'true'",
        ))
        .select((
            c::id,
            c::user_id,
            c::clio_account_id,
            c::status,
            c::custom_fields_forbidden_at,
            c::clio_time_zone,
            c::region,
            s::document,
        ))
        .order(c::id.asc())
        .into_boxed();
    if let Some(account) = scope.account {
        q = q.filter(c::clio_account_id.eq(account));
    }
    if let Some(user) = scope.user {
        q = q.filter(c::user_id.eq(user));
    }
    if let Some(connection) = scope.connection {
        q = q.filter(c::id.eq(connection));
    }
    q.load(conn).await
}
