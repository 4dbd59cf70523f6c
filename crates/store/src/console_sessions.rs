//! Support console sessions: a browser's login, kept server-side. The cookie's value is stored
//! only as its SHA-256, so a read of this table cannot be replayed as a session.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::{console_confirmations as k, console_sessions as s, users as u};

/// A live session and its admin.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// The admin's user id.
    pub user_id: i64,
    /// The admin's email (the actor of what they do).
    pub email: String,
    /// Whether the user is still an admin (revoking admin ends their console access at once).
    pub is_admin: bool,
    /// The token every form must post back.
    pub csrf_token: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

/// Opens a session for `user_id` until `expires_at`.
pub async fn open(
    conn: &mut AsyncPgConnection,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(s::table)
        .values((
            s::token_hash.eq(token_hash),
            s::user_id.eq(user_id),
            s::csrf_token.eq(csrf_token),
            s::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The session whose cookie hashes to `token_hash`, unless it has ended by `now`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<ConsoleSession>> {
    s::table
        .inner_join(u::table)
        .filter(s::token_hash.eq(token_hash))
        .filter(s::expires_at.gt(now))
        .select((u::id, u::email, u::is_admin, s::csrf_token, s::expires_at))
        .first::<(i64, String, bool, String, DateTime<Utc>)>(conn)
        .await
        .optional()
        .map(|found| {
            found.map(
                |(user_id, email, is_admin, csrf_token, expires_at)| ConsoleSession {
                    user_id,
                    email,
                    is_admin,
                    csrf_token,
                    expires_at,
                },
            )
        })
}

/// Ends a session (logout).
pub async fn close(conn: &mut AsyncPgConnection, token_hash: &str) -> QueryResult<()> {
    diesel::delete(s::table.filter(s::token_hash.eq(token_hash)))
        .execute(conn)
        .await
        .map(drop)
}

/// Deletes sessions that ended before `now`, and confirmations older than a session can live;
/// returns how many sessions.
pub async fn purge_ended(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(k::table.filter(k::created_at.le(now - chrono::Duration::days(1))))
        .execute(conn)
        .await?;
    diesel::delete(s::table.filter(s::expires_at.le(now)))
        .execute(conn)
        .await
}

/// Uses a bulk action's one-time confirmation: `false` when it was used before.
pub async fn use_confirmation(conn: &mut AsyncPgConnection, nonce: &str) -> QueryResult<bool> {
    let n = diesel::insert_into(k::table)
        .values(k::nonce.eq(nonce))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}
