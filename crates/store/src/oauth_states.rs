//! Single-use OAuth `state` values, stored as hashes.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::oauth_states as s;

/// What the callback's `state` turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateCheck {
    /// Issued by us, unused and unexpired: now used.
    Valid {
        /// The user who started the connect.
        user_id: i64,
        /// The region they chose.
        region: String,
    },
    /// Never issued by us.
    Unknown,
    /// Already used once.
    Used,
    /// Issued, but too long ago.
    Expired,
}

/// Records a state issued to `user_id`.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    state_hash: &[u8],
    user_id: i64,
    region: &str,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(s::table)
        .values((
            s::state_hash.eq(state_hash),
            s::user_id.eq(user_id),
            s::region.eq(region),
            s::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Uses a state: atomically, so two callbacks carrying the same state cannot both succeed.
pub async fn consume(
    conn: &mut AsyncPgConnection,
    state_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<StateCheck> {
    let used: Option<(i64, String)> = diesel::update(
        s::table
            .filter(s::state_hash.eq(state_hash))
            .filter(s::used_at.is_null())
            .filter(s::expires_at.gt(now)),
    )
    .set(s::used_at.eq(now))
    .returning((s::user_id, s::region))
    .get_result(conn)
    .await
    .optional()?;
    if let Some((user_id, region)) = used {
        return Ok(StateCheck::Valid { user_id, region });
    }
    let found: Option<Option<DateTime<Utc>>> = s::table
        .filter(s::state_hash.eq(state_hash))
        .select(s::used_at)
        .first(conn)
        .await
        .optional()?;
    Ok(match found {
        None => StateCheck::Unknown,
        Some(Some(_)) => StateCheck::Used,
        Some(None) => StateCheck::Expired,
    })
}

/// Deletes states that expired before `before`. Returns how many.
pub async fn purge(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(s::table.filter(s::expires_at.lt(before)))
        .execute(conn)
        .await
}
