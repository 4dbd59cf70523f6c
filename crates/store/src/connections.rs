//! Connections: one of our users linked to one Clio user, with its tokens sealed at rest.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::ConnectionStatus;

use crate::schema::connections as c;

/// `connections.status`: the connection works.
pub const CONNECTED: ConnectionStatus = ConnectionStatus::Connected;
/// `connections.status`: Clio refused a refresh; the user must connect again.
pub const NEEDS_REAUTH: ConnectionStatus = ConnectionStatus::NeedsReauth;
/// `connections.status`: the user disconnected.
pub const DISCONNECTED: ConnectionStatus = ConnectionStatus::Disconnected;

/// A connection row. The token columns hold ciphertext only.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = c)]
pub struct Connection {
    /// Row id.
    pub id: i64,
    /// Our user.
    pub user_id: i64,
    /// Clio region code (`us`, `eu`, `ca`, `au`).
    pub region: String,
    /// The Clio user.
    pub clio_user_id: i64,
    /// The Clio account (firm).
    pub clio_account_id: i64,
    /// The firm's name.
    pub account_name: String,
    /// The Clio user's name.
    pub clio_user_name: Option<String>,
    /// Sealed access token (context [`access_context`]).
    pub access_token_enc: Option<Vec<u8>>,
    /// Sealed refresh token (context [`refresh_context`]).
    pub refresh_token_enc: Option<Vec<u8>>,
    /// When the access token expires.
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Bumped whenever the access token changes.
    pub token_version: i64,
    /// [`CONNECTED`], [`NEEDS_REAUTH`] or [`DISCONNECTED`].
    pub status: ConnectionStatus,
    /// Why the status is what it is.
    pub status_reason: Option<String>,
    /// Last successful sync.
    pub last_synced_at: Option<DateTime<Utc>>,
    /// When the user disconnected.
    pub disconnected_at: Option<DateTime<Utc>>,
    /// A 429 holds this connection's sync work until then.
    pub sync_not_before: Option<DateTime<Utc>>,
    /// When Clio refused to show custom field definitions.
    pub custom_fields_forbidden_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The encryption context of a connection's access token: it opens only for its row.
pub fn access_context(id: i64) -> String {
    format!("connections.access_token:{id}")
}

/// The encryption context of a connection's refresh token.
pub fn refresh_context(id: i64) -> String {
    format!("connections.refresh_token:{id}")
}

/// Who Clio says connected.
#[derive(Debug, Clone)]
pub struct ClioIdentity {
    /// Our user.
    pub user_id: i64,
    /// Region code.
    pub region: String,
    /// The Clio user.
    pub clio_user_id: i64,
    /// Their name.
    pub clio_user_name: Option<String>,
    /// The Clio account.
    pub clio_account_id: i64,
    /// The firm's name.
    pub account_name: String,
    /// The Clio user's time zone (IANA), when Clio gave one.
    pub time_zone: Option<String>,
}

/// Creates the connection, or resumes the one this user already has with this Clio user (same
/// row, so everything linked to it stays). Returns the row id and the row as it was before, if any.
pub async fn upsert_connected(
    conn: &mut AsyncPgConnection,
    who: &ClioIdentity,
) -> QueryResult<(i64, Option<Connection>)> {
    let existing: Option<Connection> = c::table
        .filter(c::user_id.eq(who.user_id))
        .filter(c::region.eq(&who.region))
        .filter(c::clio_user_id.eq(who.clio_user_id))
        .select(Connection::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let changes = (
        c::clio_account_id.eq(who.clio_account_id),
        c::account_name.eq(&who.account_name),
        c::clio_user_name.eq(&who.clio_user_name),
        c::status.eq(CONNECTED),
        c::status_reason.eq(None::<String>),
        c::disconnected_at.eq(None::<DateTime<Utc>>),
        c::updated_at.eq(Utc::now()),
        // Clio has just accepted the grant (the flow read `who_am_i` with it).
        c::verified_at.eq(Utc::now()),
        c::clio_time_zone.eq(&who.time_zone),
    );
    match existing {
        Some(before) => {
            diesel::update(c::table.find(before.id))
                .set(changes)
                .execute(conn)
                .await?;
            Ok((before.id, Some(before)))
        }
        None => {
            let id = diesel::insert_into(c::table)
                .values((
                    c::user_id.eq(who.user_id),
                    c::region.eq(&who.region),
                    c::clio_user_id.eq(who.clio_user_id),
                    changes,
                ))
                .returning(c::id)
                .get_result(conn)
                .await?;
            Ok((id, None))
        }
    }
}

/// Stores new sealed tokens and bumps the token version. A `None` refresh token keeps the one
/// stored (Clio may omit it on refresh). Returns the new version.
pub async fn store_tokens(
    conn: &mut AsyncPgConnection,
    id: i64,
    access_enc: &[u8],
    refresh_enc: Option<&[u8]>,
    expires_at: Option<DateTime<Utc>>,
) -> QueryResult<i64> {
    #[derive(AsChangeset)]
    #[diesel(table_name = c)]
    struct Tokens<'a> {
        access_token_enc: &'a [u8],
        // `None` leaves the column alone (the stored refresh token stays).
        refresh_token_enc: Option<&'a [u8]>,
        updated_at: DateTime<Utc>,
    }
    diesel::update(c::table.find(id))
        .set((
            Tokens {
                access_token_enc: access_enc,
                refresh_token_enc: refresh_enc,
                updated_at: Utc::now(),
            },
            c::token_expires_at.eq(expires_at),
            c::token_version.eq(c::token_version + 1),
        ))
        .returning(c::token_version)
        .get_result(conn)
        .await
}

/// One connection.
pub async fn get(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Connection>> {
    c::table
        .find(id)
        .select(Connection::as_select())
        .first(conn)
        .await
        .optional()
}

/// One connection, locked until the transaction ends: how token refreshes take turns across
/// processes.
pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Connection>> {
    c::table
        .find(id)
        .select(Connection::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// A user's connections, oldest first.
pub async fn for_user(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<Connection>> {
    c::table
        .filter(c::user_id.eq(user_id))
        .order(c::id.asc())
        .select(Connection::as_select())
        .load(conn)
        .await
}

/// The connections of one Clio user at one firm (normally one; more when several of our users
/// connected as the same Clio user), oldest first.
pub async fn of_clio_user(
    conn: &mut AsyncPgConnection,
    account: i64,
    clio_user_id: i64,
) -> QueryResult<Vec<Connection>> {
    c::table
        .filter(c::clio_account_id.eq(account))
        .filter(c::clio_user_id.eq(clio_user_id))
        .order(c::id.asc())
        .select(Connection::as_select())
        .load(conn)
        .await
}

/// Every connection, optionally only those with `status`, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    status: Option<ConnectionStatus>,
) -> QueryResult<Vec<Connection>> {
    let mut q = c::table.into_boxed();
    if let Some(s) = status {
        q = q.filter(c::status.eq(s));
    }
    q.order(c::id.asc())
        .select(Connection::as_select())
        .load(conn)
        .await
}

/// Connected connections whose access token expires before `before`, with their token versions.
pub async fn expiring(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<Vec<(i64, i64)>> {
    c::table
        .filter(c::status.eq(CONNECTED))
        .filter(c::token_expires_at.lt(before))
        .order(c::id.asc())
        .select((c::id, c::token_version))
        .load(conn)
        .await
}

/// Marks a connection as needing the user to connect again.
pub async fn mark_needs_reauth(
    conn: &mut AsyncPgConnection,
    id: i64,
    reason: &str,
) -> QueryResult<()> {
    diesel::update(c::table.find(id).filter(c::status.eq(CONNECTED)))
        .set((
            c::status.eq(NEEDS_REAUTH),
            c::status_reason.eq(reason),
            c::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Marks a connection disconnected and forgets its tokens. Everything linked to it stays.
pub async fn mark_disconnected(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
    let now = Utc::now();
    diesel::update(c::table.find(id))
        .set((
            c::status.eq(DISCONNECTED),
            c::status_reason.eq("disconnected by the user"),
            c::access_token_enc.eq(None::<Vec<u8>>),
            c::refresh_token_enc.eq(None::<Vec<u8>>),
            c::token_expires_at.eq(None::<DateTime<Utc>>),
            c::token_version.eq(c::token_version + 1),
            c::disconnected_at.eq(now),
            c::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Records (or clears, with `None`) that Clio refused to show the connection's custom field
/// definitions.
pub async fn set_custom_fields_forbidden(
    conn: &mut AsyncPgConnection,
    id: i64,
    at: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    diesel::update(c::table.find(id))
        .set(c::custom_fields_forbidden_at.eq(at))
        .execute(conn)
        .await
        .map(drop)
}

/// Connected connections whose grant Clio has not accepted since `before` (never-probed first),
/// at most `limit`: the scheduler's daily probe.
pub async fn unverified_since(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    c::table
        .filter(c::status.eq(CONNECTED))
        .filter(c::verified_at.is_null().or(c::verified_at.lt(before)))
        .order(c::verified_at.asc().nulls_first())
        .select(c::id)
        .limit(limit)
        .load(conn)
        .await
}

/// Clio accepted the connection's grant at `at`.
pub async fn mark_verified(
    conn: &mut AsyncPgConnection,
    id: i64,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(c::table.find(id))
        .set(c::verified_at.eq(at))
        .execute(conn)
        .await
        .map(drop)
}

/// Our users connected to a Clio account (firm), including those whose connection waits for
/// them to authorize again: what they get from the firm's mirror needs no token of theirs. A user
/// who disconnected gets nothing from it (not through a colleague's connection either) until they
/// connect again, when they catch up.
pub async fn users_of_account(conn: &mut AsyncPgConnection, account: i64) -> QueryResult<Vec<i64>> {
    c::table
        .filter(
            c::clio_account_id
                .eq(account)
                .and(c::status.ne(DISCONNECTED)),
        )
        .select(c::user_id)
        .distinct()
        .load(conn)
        .await
}

/// The Clio accounts (firms) a user is connected to.
pub async fn accounts_of_user(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<i64>> {
    c::table
        .filter(c::user_id.eq(user_id).and(c::status.ne(DISCONNECTED)))
        .select(c::clio_account_id)
        .distinct()
        .load(conn)
        .await
}

/// Records that a sync of the connection's data (a batch or a sweep) completed at `at`: what
/// "last synced" shows. An older time never replaces a newer one.
pub async fn mark_synced(
    conn: &mut AsyncPgConnection,
    id: i64,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        c::table
            .find(id)
            .filter(c::last_synced_at.is_null().or(c::last_synced_at.lt(at))),
    )
    .set(c::last_synced_at.eq(at))
    .execute(conn)
    .await
    .map(drop)
}

/// The connection's Clio user's time zone (IANA), as Clio last told us.
pub async fn clio_time_zone(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<String>> {
    c::table
        .find(id)
        .select(c::clio_time_zone)
        .first::<Option<String>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// A page of every connection with its user's email, by id, after `after` (the support
/// console's connections page).
pub async fn page_with_email(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<(Connection, String)>> {
    use crate::schema::users as u;
    c::table
        .inner_join(u::table)
        .filter(c::id.gt(after))
        .order(c::id.asc())
        .limit(limit)
        .select((Connection::as_select(), u::email))
        .load(conn)
        .await
}

/// A connection's sealed tokens, for re-sealing under a new key.
#[derive(Debug, Clone, Queryable)]
pub struct SealedTokens {
    /// Row id.
    pub id: i64,
    /// Sealed access token.
    pub access: Option<Vec<u8>>,
    /// Sealed refresh token.
    pub refresh: Option<Vec<u8>>,
}

/// A page of connections' sealed tokens, by id, after `after`.
pub async fn sealed_tokens(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<SealedTokens>> {
    c::table
        .filter(c::id.gt(after))
        .order(c::id.asc())
        .limit(limit)
        .select((c::id, c::access_token_enc, c::refresh_token_enc))
        .load(conn)
        .await
}

/// Replaces a connection's sealed tokens with `new`, only if they are still `old` (a refresh
/// that wrote new tokens meanwhile wins): whether it replaced them.
pub async fn reseal_tokens(
    conn: &mut AsyncPgConnection,
    old: &SealedTokens,
    new: &SealedTokens,
) -> QueryResult<bool> {
    let n = diesel::update(
        c::table
            .filter(c::id.eq(old.id))
            .filter(c::access_token_enc.is_not_distinct_from(old.access.clone()))
            .filter(c::refresh_token_enc.is_not_distinct_from(old.refresh.clone())),
    )
    .set((
        c::access_token_enc.eq(&new.access),
        c::refresh_token_enc.eq(&new.refresh),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}
