//! Activities posted for writeback to Clio, and what became of each.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::{ActivityDirection, ActivityState, ActivityType, ClioRecordKind};

use crate::schema::activities as a;

/// An activity row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = a)]
pub struct ActivityRow {
    /// Row id.
    pub id: i64,
    /// The user who posted it.
    pub user_id: i64,
    /// The connection it is written through.
    pub connection_id: i64,
    /// The caller's Idempotency-Key.
    pub idempotency_key: String,
    /// SHA-256 of the body posted with that key.
    pub request_hash: Vec<u8>,
    /// The firm.
    pub clio_account_id: i64,
    /// The Clio contact.
    pub contact_id: i64,
    /// The matter, if any.
    pub matter_id: Option<i64>,
    /// Its kind.
    pub kind: ActivityType,
    /// Subject.
    pub subject: String,
    /// Text.
    pub body: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Which way it went.
    pub direction: Option<ActivityDirection>,
    /// Where it stands.
    pub state: ActivityState,
    /// What it became in Clio, once written.
    pub clio_record: Option<ClioRecordKind>,
    /// Clio's id of it, once written.
    pub clio_id: Option<i64>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// Its dead letter.
    pub dead_letter_id: Option<i64>,
    /// Posted.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When it is next due for writing.
    pub due_at: DateTime<Utc>,
    /// Writes tried.
    pub attempts: i32,
    /// Waiting for its connection to be reauthorized.
    pub parked: bool,
    /// Until when a worker holds it.
    pub lease_until: Option<DateTime<Utc>>,
    /// When a write went out whose answer was never seen: the next attempt looks for it first.
    pub write_sent_at: Option<DateTime<Utc>>,
    /// When it was written (or found in Clio and adopted).
    pub written_at: Option<DateTime<Utc>>,
}

/// An activity about to be stored.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = a)]
pub struct NewActivity {
    /// The user who posted it.
    pub user_id: i64,
    /// The connection.
    pub connection_id: i64,
    /// The caller's Idempotency-Key.
    pub idempotency_key: String,
    /// SHA-256 of the body.
    pub request_hash: Vec<u8>,
    /// The firm.
    pub clio_account_id: i64,
    /// The Clio contact.
    pub contact_id: i64,
    /// The matter, if any.
    pub matter_id: Option<i64>,
    /// Its kind.
    pub kind: ActivityType,
    /// Subject.
    pub subject: String,
    /// Text.
    pub body: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Which way it went.
    pub direction: Option<ActivityDirection>,
    /// `queued`, or `skipped` when the connection's settings refuse it as posted.
    pub state: ActivityState,
    /// Why it was skipped.
    pub reason: Option<String>,
}

/// Stores `new` unless its user already used its key: the stored row either way, and whether it
/// is new. Two posts with one key at once both get the one row.
pub async fn insert_once(
    conn: &mut AsyncPgConnection,
    new: &NewActivity,
) -> QueryResult<(ActivityRow, bool)> {
    let inserted: Option<ActivityRow> = diesel::insert_into(a::table)
        .values(new)
        .on_conflict((a::user_id, a::idempotency_key))
        .do_nothing()
        .returning(ActivityRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(row) = inserted {
        return Ok((row, true));
    }
    let existing = by_key(conn, new.user_id, &new.idempotency_key)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    Ok((existing, false))
}

/// An activity, whoever posted it.
pub async fn get(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<ActivityRow>> {
    a::table
        .find(id)
        .select(ActivityRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user's activity posted with `key`.
pub async fn by_key(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    key: &str,
) -> QueryResult<Option<ActivityRow>> {
    a::table
        .filter(a::user_id.eq(user_id))
        .filter(a::idempotency_key.eq(key))
        .select(ActivityRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// One of the user's activities.
pub async fn of_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> QueryResult<Option<ActivityRow>> {
    a::table
        .filter(a::user_id.eq(user_id))
        .filter(a::id.eq(id))
        .select(ActivityRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Which of a user's activities [`list`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Only this contact's.
    pub contact_id: Option<i64>,
    /// Only in this state.
    pub state: Option<ActivityState>,
    /// Only after this id (the cursor).
    pub after: i64,
}

/// The user's activities, oldest first, at most `limit`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    filter: &Filter,
    limit: i64,
) -> QueryResult<Vec<ActivityRow>> {
    let mut q = a::table
        .filter(a::user_id.eq(user_id))
        .filter(a::id.gt(filter.after))
        .into_boxed();
    if let Some(contact) = filter.contact_id {
        q = q.filter(a::contact_id.eq(contact));
    }
    if let Some(state) = filter.state {
        q = q.filter(a::state.eq(state));
    }
    q.order(a::id.asc())
        .limit(limit)
        .select(ActivityRow::as_select())
        .load(conn)
        .await
}
