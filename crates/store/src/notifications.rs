//! Notifications for users: about their connections and their referrals.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::notifications as n;

/// `notifications.kind`: a connection needs the user to connect again.
pub const NEEDS_REAUTH: &str = "needs_reauth";

/// A notification row.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = n)]
pub struct Notification {
    /// Row id.
    pub id: i64,
    /// The user.
    pub user_id: i64,
    /// The connection concerned.
    pub connection_id: Option<i64>,
    /// What happened.
    pub kind: String,
    /// For the user to read.
    pub message: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it was read or resolved.
    pub read_at: Option<DateTime<Utc>>,
    /// The referral it is about.
    pub referral_id: Option<i64>,
    /// The suggestion it offers to confirm (`POST /api/referrals/{referral_id}/link`).
    pub suggestion_id: Option<i64>,
    /// The review request it is about.
    pub review_request_id: Option<i64>,
}

/// Records a notification, unless an unread one of the same kind exists for the connection.
pub async fn notify(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    connection_id: i64,
    kind: &str,
    message: &str,
) -> QueryResult<()> {
    diesel::insert_into(n::table)
        .values((
            n::user_id.eq(user_id),
            n::connection_id.eq(connection_id),
            n::kind.eq(kind),
            n::message.eq(message),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

/// Marks a connection's unread notifications of `kind` read: what they reported is resolved.
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    kind: &str,
) -> QueryResult<()> {
    diesel::update(
        n::table
            .filter(n::connection_id.eq(connection_id))
            .filter(n::kind.eq(kind))
            .filter(n::read_at.is_null()),
    )
    .set(n::read_at.eq(Utc::now()))
    .execute(conn)
    .await
    .map(drop)
}

/// A user's notifications, newest first; only the unread ones with `unread_only`.
pub async fn for_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    unread_only: bool,
    limit: i64,
) -> QueryResult<Vec<Notification>> {
    let mut query = n::table
        .filter(n::user_id.eq(user_id))
        .order(n::id.desc())
        .limit(limit)
        .select(Notification::as_select())
        .into_boxed();
    if unread_only {
        query = query.filter(n::read_at.is_null());
    }
    query.load(conn).await
}

/// Marks one of `user_id`'s notifications read (a read one keeps its first `read_at`); `None`
/// when it is not theirs.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> QueryResult<Option<Notification>> {
    diesel::update(n::table.filter(n::id.eq(id).and(n::user_id.eq(user_id))))
        .set(n::read_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("coalesce(read_at, now())")))
        .returning(Notification::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Marks read the unread notifications offering a referral's suggestions (`suggestion` alone,
/// or all of the referral's): once decided, there is nothing left to act on.
pub async fn read_suggestions(
    conn: &mut AsyncPgConnection,
    referral_id: i64,
    suggestion: Option<i64>,
) -> QueryResult<()> {
    let mut query = diesel::update(n::table)
        .filter(n::referral_id.eq(referral_id))
        .filter(n::suggestion_id.is_not_null())
        .filter(n::read_at.is_null())
        .into_boxed();
    if let Some(id) = suggestion {
        query = query.filter(n::suggestion_id.eq(id));
    }
    query
        .set(n::read_at.eq(Utc::now()))
        .execute(conn)
        .await
        .map(drop)
}

/// Records a notification about a referral (not tied to a connection, so any number may be
/// unread).
pub async fn notify_referral(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    kind: &str,
    message: &str,
    referral_id: i64,
    suggestion_id: Option<i64>,
) -> QueryResult<()> {
    diesel::insert_into(n::table)
        .values((
            n::user_id.eq(user_id),
            n::kind.eq(kind),
            n::message.eq(message),
            n::referral_id.eq(referral_id),
            n::suggestion_id.eq(suggestion_id),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Records that a review request fell due: one notification per request.
pub async fn notify_review_request(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    kind: &str,
    message: &str,
    review_request_id: i64,
) -> QueryResult<()> {
    diesel::insert_into(n::table)
        .values((
            n::user_id.eq(user_id),
            n::kind.eq(kind),
            n::message.eq(message),
            n::review_request_id.eq(review_request_id),
        ))
        .execute(conn)
        .await
        .map(drop)
}
