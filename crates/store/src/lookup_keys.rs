//! Caller lookup keys: each looks up callers of one connection's firm, stored as the SHA-256 of
//! the key, listable and revocable.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::{connections as c, lookup_keys as k};

/// A key as its owner lists it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = k)]
pub struct LookupKey {
    /// Row id.
    pub id: i64,
    /// The connection whose firm it sees.
    pub connection_id: i64,
    /// What it is for.
    pub name: String,
    /// Its first characters.
    pub key_prefix: String,
    /// Lookups per minute.
    pub per_minute: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What a presented key stands for, as the database says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    /// The key's row id.
    pub key_id: i64,
    /// Its connection.
    pub connection_id: i64,
    /// The connection's firm.
    pub clio_account_id: i64,
    /// The firm's Clio region.
    pub region: String,
    /// Lookups per minute.
    pub per_minute: i32,
    /// Whether its connection is disconnected (the key then looks nothing up).
    pub disconnected: bool,
}

/// A new key to store.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    /// The connection.
    pub connection_id: i64,
    /// The user creating it.
    pub created_by: i64,
    /// What it is for.
    pub name: &'a str,
    /// SHA-256 of the key.
    pub key_hash: &'a [u8],
    /// Its first characters.
    pub key_prefix: &'a str,
    /// Lookups per minute.
    pub per_minute: i32,
}

/// Stores a new key.
pub async fn create(conn: &mut AsyncPgConnection, new: &NewKey<'_>) -> QueryResult<LookupKey> {
    diesel::insert_into(k::table)
        .values((
            k::connection_id.eq(new.connection_id),
            k::created_by.eq(new.created_by),
            k::name.eq(new.name),
            k::key_hash.eq(new.key_hash),
            k::key_prefix.eq(new.key_prefix),
            k::per_minute.eq(new.per_minute),
        ))
        .returning(LookupKey::as_returning())
        .get_result(conn)
        .await
}

/// The connection's keys, newest first (revoked ones included).
pub async fn of_connection(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
) -> QueryResult<Vec<LookupKey>> {
    k::table
        .filter(k::connection_id.eq(connection_id))
        .order(k::id.desc())
        .select(LookupKey::as_select())
        .load(conn)
        .await
}

/// Revokes the connection's key `id`; whether it was live until now.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    id: i64,
) -> QueryResult<bool> {
    diesel::update(
        k::table
            .find(id)
            .filter(k::connection_id.eq(connection_id))
            .filter(k::revoked_at.is_null()),
    )
    .set(k::revoked_at.eq(Utc::now()))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// The key whose hash is `key_hash`, unless revoked.
pub async fn grant(conn: &mut AsyncPgConnection, key_hash: &[u8]) -> QueryResult<Option<KeyGrant>> {
    k::table
        .inner_join(c::table)
        .filter(k::key_hash.eq(key_hash))
        .filter(k::revoked_at.is_null())
        .select((
            k::id,
            k::connection_id,
            c::clio_account_id,
            c::region,
            k::per_minute,
            c::status,
        ))
        .first::<(i64, i64, i64, String, i32, String)>(conn)
        .await
        .optional()
        .map(|row| {
            row.map(
                |(key_id, connection_id, clio_account_id, region, per_minute, status)| KeyGrant {
                    key_id,
                    connection_id,
                    clio_account_id,
                    region,
                    per_minute,
                    disconnected: status == "disconnected",
                },
            )
        })
}
