//! The custom actions (buttons inside Clio) each connection registered.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::CustomActionPurpose;

use crate::schema::{connections as c, custom_actions as ca};

/// A registered custom action.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ca)]
pub struct Registered {
    /// The connection that registered it.
    pub connection_id: i64,
    /// What it is for.
    pub purpose: CustomActionPurpose,
    /// Clio's id.
    pub clio_id: i64,
    /// Where a click lands, as registered.
    pub target_url: String,
    /// Registered.
    pub created_at: DateTime<Utc>,
    /// When Clio last showed it registered.
    pub checked_at: DateTime<Utc>,
}

/// The connection's custom action for `purpose`, if registered.
pub async fn get(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    purpose: CustomActionPurpose,
) -> QueryResult<Option<Registered>> {
    ca::table
        .find((connection_id, purpose))
        .select(Registered::as_select())
        .first(conn)
        .await
        .optional()
}

/// The custom action Clio knows by `clio_id`, with the Clio account of the connection that
/// registered it: what a click names.
pub async fn by_clio_id(
    conn: &mut AsyncPgConnection,
    clio_id: i64,
) -> QueryResult<Option<(Registered, i64)>> {
    ca::table
        .inner_join(c::table)
        .filter(ca::clio_id.eq(clio_id))
        .select((Registered::as_select(), c::clio_account_id))
        .first(conn)
        .await
        .optional()
}

/// Records a registration (or its new target), replacing any earlier one of the same purpose.
pub async fn put(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    purpose: CustomActionPurpose,
    clio_id: i64,
    target_url: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(ca::table)
        .values((
            ca::connection_id.eq(connection_id),
            ca::purpose.eq(purpose),
            ca::clio_id.eq(clio_id),
            ca::target_url.eq(target_url),
            ca::created_at.eq(now),
            ca::checked_at.eq(now),
        ))
        .on_conflict((ca::connection_id, ca::purpose))
        .do_update()
        .set((
            ca::clio_id.eq(clio_id),
            ca::target_url.eq(target_url),
            ca::checked_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Clio showed it registered at `now`.
pub async fn mark_checked(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    purpose: CustomActionPurpose,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(ca::table.find((connection_id, purpose)))
        .set(ca::checked_at.eq(now))
        .execute(conn)
        .await
        .map(drop)
}

/// Forgets a registration (removed from Clio, or gone there).
pub async fn remove(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    purpose: CustomActionPurpose,
) -> QueryResult<()> {
    diesel::delete(ca::table.find((connection_id, purpose)))
        .execute(conn)
        .await
        .map(drop)
}

/// Every registration of a connection.
pub async fn of_connection(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
) -> QueryResult<Vec<Registered>> {
    ca::table
        .filter(ca::connection_id.eq(connection_id))
        .select(Registered::as_select())
        .load(conn)
        .await
}
