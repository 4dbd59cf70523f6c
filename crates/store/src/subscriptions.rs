//! Webhook subscriptions: what the receiver looks up on every delivery.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::{Model, SubscriptionStatus};

use crate::schema::webhook_subscriptions as ws;

/// A subscription row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ws)]
pub struct Subscription {
    /// Row id.
    pub id: i64,
    /// The unguessable URL segment.
    pub token: String,
    /// The connection it belongs to.
    pub connection_id: i64,
    /// Clio's webhook id, once known.
    pub clio_webhook_id: Option<i64>,
    /// matter, contact or bill.
    pub model: Model,
    /// Subscribed events.
    pub events: Vec<String>,
    /// The `fields` given to Clio.
    pub fields: String,
    /// The sealed handshake secret.
    pub secret_enc: Option<Vec<u8>>,
    /// awaiting_handshake, active or deleted.
    pub status: SubscriptionStatus,
    /// When Clio stops delivering.
    pub expires_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// The public base URL it was created under.
    pub public_url: String,
    /// When Clio last confirmed it enabled and unexpired.
    pub checked_at: Option<DateTime<Utc>>,
    /// Why it was deleted.
    pub deleted_reason: Option<String>,
}

/// A subscription about to be created in Clio.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ws)]
pub struct NewSubscription {
    /// The unguessable URL segment.
    pub token: String,
    /// The connection.
    pub connection_id: i64,
    /// matter, contact or bill.
    pub model: Model,
    /// Events to subscribe to.
    pub events: Vec<String>,
    /// The `fields` to give Clio.
    pub fields: String,
    /// Our public base URL the webhook points under.
    pub public_url: String,
}

/// `status`: created, its handshake not yet seen.
pub const AWAITING_HANDSHAKE: SubscriptionStatus = SubscriptionStatus::AwaitingHandshake;
/// `status`: confirmed; deliveries are accepted.
pub const ACTIVE: SubscriptionStatus = SubscriptionStatus::Active;
/// `status`: gone; its URL answers 410.
pub const DELETED: SubscriptionStatus = SubscriptionStatus::Deleted;

/// The encryption context of a subscription's secret: a sealed secret opens only for its row.
pub fn secret_context(id: i64) -> String {
    format!("webhook_subscriptions.secret:{id}")
}

/// Creates a subscription awaiting its handshake.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewSubscription,
) -> QueryResult<Subscription> {
    diesel::insert_into(ws::table)
        .values(new)
        .returning(Subscription::as_returning())
        .get_result(conn)
        .await
}

/// The subscription a URL token names.
pub async fn by_token(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> QueryResult<Option<Subscription>> {
    ws::table
        .filter(ws::token.eq(token))
        .select(Subscription::as_select())
        .first(conn)
        .await
        .optional()
}

/// Stores the handshake's secret and activates the subscription, only while it awaits one.
/// Returns whether it did.
pub async fn complete_handshake(
    conn: &mut AsyncPgConnection,
    id: i64,
    sealed_secret: &[u8],
) -> QueryResult<bool> {
    let n = diesel::update(
        ws::table
            .filter(ws::id.eq(id))
            .filter(ws::status.eq(AWAITING_HANDSHAKE)),
    )
    .set((
        ws::secret_enc.eq(sealed_secret),
        ws::status.eq(ACTIVE),
        ws::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Records Clio's webhook id and expiry once the create call answered: Clio confirmed the webhook
/// at `checked_at`. Returns the row as it now is.
pub async fn set_clio_webhook(
    conn: &mut AsyncPgConnection,
    id: i64,
    clio_webhook_id: i64,
    expires_at: Option<DateTime<Utc>>,
    checked_at: DateTime<Utc>,
) -> QueryResult<Subscription> {
    diesel::update(ws::table.find(id))
        .set((
            ws::clio_webhook_id.eq(clio_webhook_id),
            ws::expires_at.eq(expires_at),
            ws::checked_at.eq(checked_at),
            ws::updated_at.eq(Utc::now()),
        ))
        .returning(Subscription::as_returning())
        .get_result(conn)
        .await
}

/// Marks a subscription deleted: its URL answers 410 from then on, so Clio disables the webhook.
pub async fn mark_deleted(conn: &mut AsyncPgConnection, id: i64, reason: &str) -> QueryResult<()> {
    diesel::update(ws::table.find(id))
        .set((
            ws::status.eq(DELETED),
            ws::deleted_reason.eq(reason),
            ws::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Records that Clio confirmed the webhook healthy at `checked_at`, expiring at `expires_at`.
pub async fn set_checked(
    conn: &mut AsyncPgConnection,
    id: i64,
    expires_at: Option<DateTime<Utc>>,
    checked_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(ws::table.find(id))
        .set((
            ws::expires_at.eq(expires_at),
            ws::checked_at.eq(checked_at),
            ws::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// One subscription.
pub async fn get(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Subscription>> {
    ws::table
        .find(id)
        .select(Subscription::as_select())
        .first(conn)
        .await
        .optional()
}

/// A connection's subscriptions that are not deleted, oldest first.
pub async fn live(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
) -> QueryResult<Vec<Subscription>> {
    list(conn, Some(connection_id), false).await
}

/// Subscriptions, optionally of one connection, optionally with the deleted ones, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    connection_id: Option<i64>,
    include_deleted: bool,
) -> QueryResult<Vec<Subscription>> {
    let mut q = ws::table.into_boxed();
    if let Some(id) = connection_id {
        q = q.filter(ws::connection_id.eq(id));
    }
    if !include_deleted {
        q = q.filter(ws::status.ne(DELETED));
    }
    q.order(ws::id.asc())
        .select(Subscription::as_select())
        .load(conn)
        .await
}

/// The live (not deleted) subscriptions of these connections, by connection then id.
pub async fn live_of(
    conn: &mut AsyncPgConnection,
    connection_ids: &[i64],
) -> QueryResult<Vec<Subscription>> {
    ws::table
        .filter(ws::connection_id.eq_any(connection_ids))
        .filter(ws::status.ne(DELETED))
        .order((ws::connection_id.asc(), ws::id.asc()))
        .select(Subscription::as_select())
        .load(conn)
        .await
}

/// A page of subscriptions' sealed secrets (those that have one), by id, after `after`.
pub async fn sealed_secrets(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, Vec<u8>)>> {
    ws::table
        .filter(ws::id.gt(after))
        .filter(ws::secret_enc.is_not_null())
        .order(ws::id.asc())
        .limit(limit)
        .select((ws::id, ws::secret_enc.assume_not_null()))
        .load(conn)
        .await
}

/// Replaces a subscription's sealed secret with `new`, only if it is still `old`: whether it did.
pub async fn reseal_secret(
    conn: &mut AsyncPgConnection,
    id: i64,
    old: &[u8],
    new: &[u8],
) -> QueryResult<bool> {
    let n = diesel::update(
        ws::table
            .filter(ws::id.eq(id))
            .filter(ws::secret_enc.eq(old)),
    )
    .set(ws::secret_enc.eq(new))
    .execute(conn)
    .await?;
    Ok(n == 1)
}
