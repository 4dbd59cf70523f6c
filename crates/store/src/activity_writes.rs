//! The writeback worker's schedule: which activities are due, who holds one, and what became of
//! each write. The `activities` table is the queue (see the migration `activity_writes`).
//!
//! Exactly once, although Clio has no idempotency key: an activity is written only under a lease
//! ([`claim`]), and [`sent`] records, before the request goes out, that a write may reach Clio; if
//! its answer is never seen, `write_sent_at` stays set and the next attempt looks for the
//! activity's marker in Clio before writing again.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use matterhook_domain::{ActivityState, ClioRecordKind};

use crate::{activities::ActivityRow, schema::activities as a};

/// Queued, not parked, due by `now` and held by nobody.
macro_rules! due {
    ($now:expr) => {
        a::state
            .eq(ActivityState::Queued)
            .and(a::parked.eq(false))
            .and(a::due_at.le($now))
            .and(a::lease_until.is_null().or(a::lease_until.lt($now)))
    };
}

/// The activity `id` while it is still queued: what every outcome updates, so an activity written
/// (or failed) meanwhile is never changed back.
type StillQueued =
    diesel::dsl::Filter<diesel::dsl::Find<a::table, i64>, diesel::dsl::Eq<a::state, ActivityState>>;

fn still_queued(id: i64) -> StillQueued {
    a::table.find(id).filter(a::state.eq(ActivityState::Queued))
}

/// Connections with activities due by `now`, at most `limit`.
pub async fn due_connections(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    a::table
        .filter(due!(now))
        .select(a::connection_id)
        .distinct()
        .limit(limit)
        .load(conn)
        .await
}

/// How many activities are due by `now` and held by nobody.
pub async fn due_count(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<i64> {
    a::table.filter(due!(now)).count().get_result(conn).await
}

/// When the next queued activity falls due (and nobody holds it), if any will.
pub async fn next_due(conn: &mut AsyncPgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    use diesel::sql_types::{Nullable, Timestamptz};
    a::table
        .filter(a::state.eq(ActivityState::Queued))
        .filter(a::parked.eq(false))
        .select(diesel::dsl::sql::<Nullable<Timestamptz>>(
            "min(greatest(due_at, coalesce(lease_until, due_at)))",
        ))
        .get_result(conn)
        .await
}

/// Takes up to `limit` of the connection's due activities, oldest first, for `lease`: each
/// counts an attempt. Rows another worker is claiming at the same moment are skipped.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<ActivityRow>> {
    conn.transaction(async |conn| {
        let ids: Vec<i64> = a::table
            .filter(a::connection_id.eq(connection_id))
            .filter(due!(now))
            .order((a::due_at.asc(), a::id.asc()))
            .limit(limit)
            .select(a::id)
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        diesel::update(a::table.filter(a::id.eq_any(&ids)))
            .set((
                a::lease_until.eq(lease_until),
                a::attempts.eq(a::attempts + 1),
            ))
            .returning(ActivityRow::as_returning())
            .get_results(conn)
            .await
            .map(|mut rows: Vec<ActivityRow>| {
                rows.sort_by_key(|r| (r.due_at, r.id));
                rows
            })
    })
    .await
}

/// Records that a write of the activity is about to go out: until its answer is seen, the
/// activity may already be in Clio.
pub async fn sent(conn: &mut AsyncPgConnection, id: i64, at: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(a::table.find(id))
        .set(a::write_sent_at.eq(at))
        .execute(conn)
        .await
        .map(drop)
}

/// The activity is in Clio as `record` number `clio_id`: written. False when it was not queued
/// any more (nothing changed).
pub async fn written(
    conn: &mut AsyncPgConnection,
    id: i64,
    record: ClioRecordKind,
    clio_id: i64,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(still_queued(id))
        .set((
            a::state.eq(ActivityState::Written),
            a::clio_record.eq(record),
            a::clio_id.eq(clio_id),
            a::written_at.eq(at),
            a::reason.eq(None::<String>),
            a::lease_until.eq(None::<DateTime<Utc>>),
            a::write_sent_at.eq(None::<DateTime<Utc>>),
            a::updated_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// How a write that did not succeed leaves the activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsent {
    /// Clio certainly did not apply it (a 4xx, a 429, no token): nothing to look for.
    Certainly,
    /// It may have reached Clio (a 5xx, no answer): look for its marker before writing again.
    Perhaps,
}

/// Forgets that a write went out, when it certainly did not reach Clio; otherwise keeps the time
/// [`sent`] recorded, for the next attempt to look for it.
async fn settle_sent(conn: &mut AsyncPgConnection, id: i64, unsent: Unsent) -> QueryResult<()> {
    if unsent == Unsent::Certainly {
        diesel::update(a::table.find(id))
            .set(a::write_sent_at.eq(None::<DateTime<Utc>>))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Tries again at `due_at`, releasing the lease. `counted`: whether this attempt counts towards
/// the limit (a 429 is the token's, not the activity's, and does not).
pub async fn retry_at(
    conn: &mut AsyncPgConnection,
    row: &ActivityRow,
    due_at: DateTime<Utc>,
    unsent: Unsent,
    counted: bool,
    why: &str,
) -> QueryResult<()> {
    let attempts = if counted {
        row.attempts
    } else {
        (row.attempts - 1).max(0)
    };
    diesel::update(still_queued(row.id))
        .set((
            a::due_at.eq(due_at),
            a::attempts.eq(attempts),
            a::lease_until.eq(None::<DateTime<Utc>>),
            a::reason.eq(why),
            a::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    settle_sent(conn, row.id, unsent).await
}

/// Given up on: failed with `reason`, and the dead letter support staff can replay.
pub async fn failed(
    conn: &mut AsyncPgConnection,
    row: &ActivityRow,
    reason: &str,
    dead_letter_id: i64,
    unsent: Unsent,
) -> QueryResult<()> {
    diesel::update(still_queued(row.id))
        .set((
            a::state.eq(ActivityState::Failed),
            a::reason.eq(reason),
            a::dead_letter_id.eq(dead_letter_id),
            a::lease_until.eq(None::<DateTime<Utc>>),
            a::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    settle_sent(conn, row.id, unsent).await
}

/// Waits for the connection to be reauthorized (still queued, not due), with the dead letter
/// whose replay on reconnecting brings it back.
pub async fn parked(
    conn: &mut AsyncPgConnection,
    row: &ActivityRow,
    reason: &str,
    dead_letter_id: i64,
) -> QueryResult<()> {
    diesel::update(still_queued(row.id))
        .set((
            a::parked.eq(true),
            a::attempts.eq((row.attempts - 1).max(0)),
            a::reason.eq(reason),
            a::dead_letter_id.eq(dead_letter_id),
            a::lease_until.eq(None::<DateTime<Utc>>),
            a::write_sent_at.eq(None::<DateTime<Utc>>),
            a::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Not written, for `reason` (its type or writeback is turned off).
pub async fn skipped(conn: &mut AsyncPgConnection, id: i64, reason: &str) -> QueryResult<()> {
    diesel::update(still_queued(id))
        .set((
            a::state.eq(ActivityState::Skipped),
            a::reason.eq(reason),
            a::lease_until.eq(None::<DateTime<Utc>>),
            a::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Brings a failed or parked activity back to the queue, due at once with a fresh count of
/// attempts (a replay of its dead letter). True when it changed.
pub async fn requeue(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
    let now = Utc::now();
    diesel::update(
        a::table.find(id).filter(
            a::state
                .eq(ActivityState::Failed)
                .or(a::state.eq(ActivityState::Queued).and(a::parked.eq(true))),
        ),
    )
    .set((
        a::state.eq(ActivityState::Queued),
        a::parked.eq(false),
        a::attempts.eq(0),
        a::due_at.eq(now),
        a::reason.eq(None::<String>),
        a::updated_at.eq(now),
    ))
    .execute(conn)
    .await
    .map(|n| n == 1)
}
