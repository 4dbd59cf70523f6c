//! Sweep progress per connection and model: where the last complete sweep started, the page a
//! running sweep has reached, and a lease so one sweeper works on it at a time.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::Model;

use crate::schema::{connections as c, sync_cursors as s};

/// A cursor row.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = s)]
pub struct Cursor {
    /// The connection.
    pub connection_id: i64,
    /// matter, contact, bill, user or custom_field.
    pub model: Model,
    /// The start of the last complete sweep.
    pub swept_until: Option<DateTime<Utc>>,
    /// The start of the sweep under way.
    pub started_at: Option<DateTime<Utc>>,
    /// The next page of the sweep under way.
    #[serde(skip)]
    pub next_page: Option<String>,
    /// Held by a sweeper until.
    pub lease_until: Option<DateTime<Utc>>,
    /// When the last sweep finished.
    pub last_finished_at: Option<DateTime<Utc>>,
    /// Records the last sweep read.
    pub last_seen: i32,
    /// Changes the last sweep found that the mirror lacked.
    pub last_missed: i32,
    /// The last sweep's failure.
    pub last_error: Option<String>,
    /// The start of the last complete listing (a full sweep or the baseline).
    pub last_full_at: Option<DateTime<Utc>>,
}

/// Takes the cursor for a sweep until `until`, creating it if new; `None` while another sweeper
/// holds it.
pub async fn lease(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    model: Model,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<Option<Cursor>> {
    diesel::insert_into(s::table)
        .values((s::connection_id.eq(connection_id), s::model.eq(model)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    diesel::update(s::table.find((connection_id, model)))
        .filter(s::lease_until.is_null().or(s::lease_until.lt(now)))
        .set(s::lease_until.eq(until))
        .returning(Cursor::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Records a sweep's progress (the page to read next, when the sweep started) and extends its
/// lease: a long first sweep keeps its cursor.
pub async fn save_page(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    model: Model,
    started_at: DateTime<Utc>,
    next_page: Option<&str>,
    lease_until: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(s::table.find((connection_id, model)))
        .set((
            s::started_at.eq(started_at),
            s::next_page.eq(next_page),
            s::lease_until.eq(lease_until),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Completes a sweep: the next one asks for records updated since `swept_until`.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    model: Model,
    swept_until: DateTime<Utc>,
    seen: i32,
    missed: i32,
) -> QueryResult<()> {
    diesel::update(s::table.find((connection_id, model)))
        .set((
            s::swept_until.eq(swept_until),
            s::started_at.eq(None::<DateTime<Utc>>),
            s::next_page.eq(None::<String>),
            s::lease_until.eq(None::<DateTime<Utc>>),
            s::last_finished_at.eq(Utc::now()),
            s::last_seen.eq(seen),
            s::last_missed.eq(missed),
            s::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The firm's account and region of a connection whose mirror of `model` is established (a sweep
/// of it has finished): where a webhook's own data may be applied at once. `None` before the
/// first sweep finished, whose reads are history, not news; or for a connection gone.
pub async fn established(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    model: Model,
) -> QueryResult<Option<(i64, String)>> {
    s::table
        .inner_join(c::table)
        .filter(s::connection_id.eq(connection_id))
        .filter(s::model.eq(model))
        .filter(s::last_finished_at.is_not_null())
        .select((c::clio_account_id, c::region))
        .first(conn)
        .await
        .optional()
}

/// Records that the sweep finished by [`finish`] listed every record, from `started`.
pub async fn mark_full(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    model: Model,
    started: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(s::table.find((connection_id, model)))
        .set(s::last_full_at.eq(started))
        .execute(conn)
        .await
        .map(drop)
}

/// Gives the cursor back after a failure, keeping the page reached so the next try resumes
/// (unless `restart`: the saved page cannot be read again).
pub async fn fail(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    model: Model,
    error: &str,
    restart: bool,
) -> QueryResult<()> {
    give_back(conn, connection_id, model, Some(error)).await?;
    if restart {
        diesel::update(s::table.find((connection_id, model)))
            .set((
                s::next_page.eq(None::<String>),
                s::started_at.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Gives the cursor back after a sweep that does not move it (a requested window).
pub async fn release(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    model: Model,
) -> QueryResult<()> {
    give_back(conn, connection_id, model, None).await
}

/// Ends the lease, recording how the sweep ended.
async fn give_back(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    model: Model,
    error: Option<&str>,
) -> QueryResult<()> {
    diesel::update(s::table.find((connection_id, model)))
        .set((
            s::lease_until.eq(None::<DateTime<Utc>>),
            s::last_error.eq(error),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A connection's cursors.
pub async fn of(conn: &mut AsyncPgConnection, connection_id: i64) -> QueryResult<Vec<Cursor>> {
    s::table
        .filter(s::connection_id.eq(connection_id))
        .order(s::model.asc())
        .select(Cursor::as_select())
        .load(conn)
        .await
}

/// Connected connections whose last complete sweep of `model` finished before `before` (or
/// never), and which no 429 holds.
pub async fn due(
    conn: &mut AsyncPgConnection,
    model: Model,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<i64>> {
    c::table
        .left_join(s::table.on(s::connection_id.eq(c::id).and(s::model.eq(model))))
        .filter(c::status.eq(crate::connections::CONNECTED))
        .filter(c::sync_not_before.is_null().or(c::sync_not_before.le(now)))
        .filter(
            s::last_finished_at
                .is_null()
                .or(s::last_finished_at.lt(before)),
        )
        .select(c::id)
        .order(c::id.asc())
        .load(conn)
        .await
}
