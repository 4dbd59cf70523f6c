//! matterhook's own users: who may call the API, found by the hash of their bearer token.

use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::users as u;

/// A user as the API knows them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = u)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Lower-cased email.
    pub email: String,
    /// May use the admin endpoints.
    pub is_admin: bool,
}

/// The user whose API token hashes to `token_hash`.
pub async fn by_token_hash(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<User>> {
    u::table
        .filter(u::token_hash.eq(token_hash))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// Adds the user with `email`, or updates the one that has it: its token hash becomes
/// `token_hash` (the previous token stops working, and so do the support console sessions it
/// opened) and its admin right `is_admin`. Returns the user's id and whether it existed.
pub async fn upsert_with_token(
    conn: &mut AsyncPgConnection,
    email: &str,
    token_hash: &[u8],
    is_admin: bool,
) -> QueryResult<(i64, bool)> {
    let existing: Option<i64> = u::table
        .filter(u::email.eq(email))
        .select(u::id)
        .first(conn)
        .await
        .optional()?;
    match existing {
        Some(id) => {
            diesel::update(u::table.find(id))
                .set((u::token_hash.eq(token_hash), u::is_admin.eq(is_admin)))
                .execute(conn)
                .await?;
            // A new token is often a leaked one replaced: what the old one signed in to ends too.
            diesel::delete(
                crate::schema::console_sessions::table
                    .filter(crate::schema::console_sessions::user_id.eq(id)),
            )
            .execute(conn)
            .await?;
            Ok((id, true))
        }
        None => {
            let id = diesel::insert_into(u::table)
                .values((
                    u::email.eq(email),
                    u::token_hash.eq(token_hash),
                    u::is_admin.eq(is_admin),
                ))
                .returning(u::id)
                .get_result(conn)
                .await?;
            Ok((id, false))
        }
    }
}
