//! Clio records waiting to be re-read by the sync worker.
//!
//! The event handler appends one row per event; the batcher takes the due rows of one connection
//! and model together (up to a number of distinct records), re-reads those records in one call,
//! and deletes the rows in the transaction that writes the mirror. Rows stay locked while taken,
//! so several workers never take the same record, and a crashed worker's rows come back.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Jsonb, Text, Timestamptz},
    QueryResult,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::Model;
use serde_json::Value;

use crate::schema::{connections as c, sync_queue as q};

/// A record to re-read.
#[derive(Debug, Clone)]
pub struct NewWork<'a> {
    /// The connection whose event it was.
    pub connection_id: i64,
    /// matter, contact or bill.
    pub model: Model,
    /// The record's Clio id.
    pub record_id: i64,
    /// The event's id.
    pub event_id: &'a str,
    /// The event as it arrived.
    pub envelope: &'a Value,
    /// Not taken before (the coalescing window's end).
    pub due_at: DateTime<Utc>,
}

/// Appends work. A record waiting out a failed read keeps waiting: the new row is due no
/// sooner than the record's retry, so a new event for it never brings its next read forward
/// (nor, with it, its next attempt).
pub async fn push(conn: &mut AsyncPgConnection, work: &NewWork<'_>) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO sync_queue (connection_id, model, record_id, event_id, envelope, due_at) \
         SELECT $1, $2, $3, $4, $5, greatest($6, ( \
             SELECT max(due_at) FROM sync_queue \
             WHERE connection_id = $1 AND model = $2 AND record_id = $3 AND attempts > 0))",
    )
    .bind::<BigInt, _>(work.connection_id)
    .bind::<Text, _>(work.model)
    .bind::<BigInt, _>(work.record_id)
    .bind::<Text, _>(work.event_id)
    .bind::<Jsonb, _>(work.envelope)
    .bind::<Timestamptz, _>(work.due_at)
    .execute(conn)
    .await
    .map(drop)
}

/// [`push`] for many records in one statement (a batch of deliveries), each row under the same
/// rule: a record waiting out a failed read keeps waiting.
pub async fn push_many(conn: &mut AsyncPgConnection, works: &[NewWork<'_>]) -> QueryResult<()> {
    use diesel::sql_types::Array;
    if works.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO sync_queue (connection_id, model, record_id, event_id, envelope, due_at) \
         SELECT w.c, w.m, w.r, w.e, w.env, greatest(w.d, ( \
             SELECT max(due_at) FROM sync_queue \
             WHERE connection_id = w.c AND model = w.m AND record_id = w.r AND attempts > 0)) \
         FROM unnest($1, $2, $3, $4, $5, $6) AS w(c, m, r, e, env, d)",
    )
    .bind::<Array<BigInt>, _>(works.iter().map(|w| w.connection_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(works.iter().map(|w| w.model.as_str()).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(works.iter().map(|w| w.record_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(works.iter().map(|w| w.event_id).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(works.iter().map(|w| w.envelope).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(works.iter().map(|w| w.due_at).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map(drop)
}

/// A taken row.
#[derive(Debug, Clone, QueryableByName)]
#[diesel(table_name = q)]
pub struct Queued {
    /// Row id.
    pub id: i64,
    /// The record's Clio id.
    pub record_id: i64,
    /// The event's id.
    pub event_id: String,
    /// The event as it arrived.
    pub envelope: Value,
    /// Appended.
    pub enqueued_at: DateTime<Utc>,
    /// Failed reads so far.
    pub attempts: i32,
    /// The first failed read.
    pub first_failed_at: Option<DateTime<Utc>>,
}

/// When the next group of work falls due (now or earlier when some is due already), among
/// connections that are connected, not held by a 429 and not in `busy`; `None` when there is
/// none. What the batcher sleeps until.
pub async fn next_due(
    conn: &mut AsyncPgConnection,
    busy: &[i64],
) -> QueryResult<Option<DateTime<Utc>>> {
    #[derive(QueryableByName)]
    struct Next {
        #[diesel(sql_type = diesel::sql_types::Nullable<Timestamptz>)]
        at: Option<DateTime<Utc>>,
    }
    let next: Next = diesel::sql_query(
        "WITH RECURSIVE present AS ( \
             (SELECT connection_id, model FROM sync_queue ORDER BY connection_id, model LIMIT 1) \
             UNION ALL \
             SELECT n.connection_id, n.model FROM present p \
             CROSS JOIN LATERAL (SELECT q.connection_id, q.model FROM sync_queue q \
                 WHERE (q.connection_id, q.model) > (p.connection_id, p.model) \
                 ORDER BY q.connection_id, q.model LIMIT 1) n \
         ) \
         SELECT min(greatest(oldest.due_at, coalesce(c.sync_not_before, oldest.due_at))) AS at \
         FROM present p \
         JOIN connections c ON c.id = p.connection_id \
         CROSS JOIN LATERAL (SELECT q.due_at FROM sync_queue q \
             WHERE q.connection_id = p.connection_id AND q.model = p.model \
             ORDER BY q.due_at LIMIT 1) oldest \
         WHERE c.status = $1 AND p.connection_id <> ALL($2)",
    )
    .bind::<Text, _>(crate::connections::CONNECTED)
    .bind::<diesel::sql_types::Array<BigInt>, _>(busy)
    .get_result(conn)
    .await?;
    Ok(next.at)
}

/// Connections and models with due work, oldest first, skipping connections that are not
/// connected (their work is parked until a reconnect) or held by a 429.
pub async fn due_groups(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<(i64, Model)>> {
    // A skip scan over `sync_queue_group_due_idx`: each group present is found with one index
    // probe, and its oldest row with another, so the cost follows the number of groups with
    // work, not the backlog (a plain GROUP BY read every queued row on every call, and the
    // batcher calls it after every batch: 100 ms at 20,000 rows, the stage's whole budget).
    #[derive(QueryableByName)]
    struct Group {
        #[diesel(sql_type = BigInt)]
        connection_id: i64,
        #[diesel(sql_type = Text)]
        model: Model,
    }
    let groups: Vec<Group> = diesel::sql_query(
        "WITH RECURSIVE present AS ( \
             (SELECT connection_id, model FROM sync_queue ORDER BY connection_id, model LIMIT 1) \
             UNION ALL \
             SELECT n.connection_id, n.model FROM present p \
             CROSS JOIN LATERAL (SELECT q.connection_id, q.model FROM sync_queue q \
                 WHERE (q.connection_id, q.model) > (p.connection_id, p.model) \
                 ORDER BY q.connection_id, q.model LIMIT 1) n \
         ) \
         SELECT p.connection_id, p.model \
         FROM present p \
         JOIN connections c ON c.id = p.connection_id \
         CROSS JOIN LATERAL (SELECT q.due_at FROM sync_queue q \
             WHERE q.connection_id = p.connection_id AND q.model = p.model \
             ORDER BY q.due_at LIMIT 1) oldest \
         WHERE oldest.due_at <= $1 AND c.status = $2 \
           AND (c.sync_not_before IS NULL OR c.sync_not_before <= $1) \
         ORDER BY oldest.due_at \
         LIMIT $3",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Text, _>(crate::connections::CONNECTED)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(groups
        .into_iter()
        .map(|g| (g.connection_id, g.model))
        .collect())
}

/// Takes every row of up to `records` distinct records of one connection and model, locked
/// until the transaction ends; rows another worker holds are skipped. Due rows come first, then
/// fresh rows whose window has not ended yet: once the oldest event of a group has waited its
/// window, whatever arrived since joins its batch (a debounce per group, so a burst fills
/// batches instead of trickling out as each event's own window ends). A record waiting out a
/// failed read (a row with `attempts > 0` not yet due) is not taken at all, whatever arrived for
/// it since: its next read, and so its next attempt, comes when its backoff ends.
pub async fn take(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    model: Model,
    now: DateTime<Utc>,
    records: i64,
) -> QueryResult<Vec<Queued>> {
    // The due rows are picked skipping those another worker holds (so several workers share a
    // connection's backlog), then every row of the chosen records is taken: their duplicates,
    // due or not, are answered by the same read.
    diesel::sql_query(
        "WITH picked AS ( \
             SELECT record_id FROM sync_queue \
             WHERE connection_id = $1 AND model = $2 AND (due_at <= $3 OR attempts = 0) \
               AND NOT EXISTS (SELECT 1 FROM sync_queue w \
                   WHERE w.connection_id = $1 AND w.model = $2 \
                     AND w.record_id = sync_queue.record_id \
                     AND w.attempts > 0 AND w.due_at > $3) \
             ORDER BY due_at, id LIMIT $4 * 4 FOR UPDATE SKIP LOCKED), \
         records AS (SELECT DISTINCT record_id FROM picked LIMIT $4) \
         SELECT id, record_id, event_id, envelope, enqueued_at, attempts, first_failed_at \
         FROM sync_queue \
         WHERE connection_id = $1 AND model = $2 \
           AND record_id IN (SELECT record_id FROM records) \
         ORDER BY id FOR UPDATE SKIP LOCKED",
    )
    .bind::<BigInt, _>(connection_id)
    .bind::<Text, _>(model)
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(records)
    .load(conn)
    .await
}

/// Deletes done rows.
pub async fn delete(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<usize> {
    diesel::delete(q::table.filter(q::id.eq_any(ids)))
        .execute(conn)
        .await
}

/// Puts rows back until `due_at`, their attempts unchanged (a 429, a parked connection).
pub async fn defer(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    due_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(q::table.filter(q::id.eq_any(ids)))
        .set(q::due_at.eq(due_at))
        .execute(conn)
        .await
}

/// A failed read of a record: its rows wait until `due_at`, all marked with the record's
/// `attempt` (failed reads of the record so far, however many events it has queued) and the
/// error.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    due_at: DateTime<Utc>,
    attempt: i32,
    error: &str,
) -> QueryResult<usize> {
    diesel::update(q::table.filter(q::id.eq_any(ids)))
        .set((
            q::due_at.eq(due_at),
            q::attempts.eq(attempt),
            q::first_failed_at.eq(
                diesel::dsl::sql::<diesel::sql_types::Nullable<Timestamptz>>(
                    "coalesce(first_failed_at, now())",
                ),
            ),
            q::last_error.eq(error),
        ))
        .execute(conn)
        .await
}

/// Brings forward every record of a connection waiting out a failed read: Clio answers again,
/// so what failed while it did not is read now rather than after its backoff (up to an hour).
pub async fn retry_now(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        q::table
            .filter(q::connection_id.eq(connection_id))
            .filter(q::attempts.gt(0))
            .filter(q::due_at.gt(now)),
    )
    .set(q::due_at.eq(now))
    .execute(conn)
    .await
}

/// Holds a connection's sync work until `until` (Clio's 429 for its token).
pub async fn hold_connection(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    until: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(c::table.find(connection_id))
        .set(c::sync_not_before.eq(until))
        .execute(conn)
        .await
        .map(drop)
}

/// Rows waiting for a connection (all models).
pub async fn waiting(conn: &mut AsyncPgConnection, connection_id: i64) -> QueryResult<i64> {
    q::table
        .filter(q::connection_id.eq(connection_id))
        .count()
        .get_result(conn)
        .await
}

/// Rows waiting, all connections.
pub async fn total(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    q::table.count().get_result(conn).await
}

/// Rows waiting to be re-read, parked and held ones included: the sync stage's backlog.
pub async fn depth(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    q::table.count().get_result(conn).await
}
