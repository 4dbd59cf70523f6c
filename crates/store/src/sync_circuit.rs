//! The sync stage's circuit per connection: when Clio keeps failing a connection's reads (5xx,
//! timeouts), its reads pause instead of spending its rate budget and its records' attempts on
//! an outage; then one probe read tests whether Clio answers again.
//!
//! The state lives on the connection row (`sync_failures`, and `sync_not_before`, which a 429
//! uses too), so every sync worker process sees the same circuit.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Bool, Integer, Timestamptz},
    QueryResult,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::connections as c;

/// Whether a connection's reads may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Clio answers: read as usual.
    Closed,
    /// The pause is over: this batch alone reads, one record, to test Clio.
    Probe,
    /// Paused, or another worker is probing: read nothing.
    Open,
}

#[derive(QueryableByName)]
struct AdmitRow {
    #[diesel(sql_type = Integer)]
    failures: i32,
    #[diesel(sql_type = Bool)]
    probing: bool,
}

/// Admits a batch of `connection_id`. A tripped circuit (`threshold` consecutive failures) whose
/// pause has ended is claimed for one probe: `sync_not_before` moves to `probe_until`, so no
/// other worker reads the connection until the probe has answered (or its time is up).
pub async fn admit(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    now: DateTime<Utc>,
    threshold: i32,
    probe_until: DateTime<Utc>,
) -> QueryResult<Admission> {
    let row: Option<AdmitRow> = diesel::sql_query(
        "WITH probe AS ( \
             UPDATE connections SET sync_not_before = $4 \
             WHERE id = $1 AND sync_failures >= $3 \
               AND (sync_not_before IS NULL OR sync_not_before <= $2) \
             RETURNING id) \
         SELECT sync_failures AS failures, EXISTS (SELECT 1 FROM probe) AS probing \
         FROM connections WHERE id = $1",
    )
    .bind::<BigInt, _>(connection_id)
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(threshold)
    .bind::<Timestamptz, _>(probe_until)
    .get_result(conn)
    .await
    .optional()?;
    Ok(match row {
        Some(AdmitRow { probing: true, .. }) => Admission::Probe,
        Some(AdmitRow { failures, .. }) if failures >= threshold => Admission::Open,
        // A deleted connection: the batch finds out for itself.
        _ => Admission::Closed,
    })
}

/// A failed read (Clio's 5xx or a timeout): counts it, and once `threshold` have failed in a row
/// pauses the connection's reads for `pause(failures past the threshold)`. Returns the pause's
/// end when there is one.
pub async fn failed(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    now: DateTime<Utc>,
    threshold: i32,
    pause: impl FnOnce(u32) -> chrono::Duration,
) -> QueryResult<Option<DateTime<Utc>>> {
    let failures: Option<i32> = diesel::update(c::table.find(connection_id))
        .set(c::sync_failures.eq(c::sync_failures + 1))
        .returning(c::sync_failures)
        .get_result(conn)
        .await
        .optional()?;
    let Some(failures) = failures.filter(|f| *f >= threshold) else {
        return Ok(None);
    };
    let until = now + pause(u32::try_from(failures - threshold).unwrap_or(0));
    // Set, not extended: a failed probe's claim gives way to the next, shorter or longer, pause.
    diesel::update(c::table.find(connection_id))
        .set(c::sync_not_before.eq(until))
        .execute(conn)
        .await?;
    Ok(Some(until))
}

/// A read Clio answered. After failures it closes the circuit and brings every record of the
/// connection waiting out a failed read forward to now. Returns how many rows it brought
/// forward (none when nothing had failed).
pub async fn succeeded(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    // Only a connection that had failed is written: a healthy one's row is left alone.
    let recovered = diesel::update(c::table.find(connection_id).filter(c::sync_failures.gt(0)))
        .set((
            c::sync_failures.eq(0),
            c::sync_not_before.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    if recovered == 0 {
        return Ok(0);
    }
    crate::sync_queue::retry_now(conn, connection_id, now).await
}

/// Consecutive failed reads of a connection (0 when its circuit is closed and well).
pub async fn failures(conn: &mut AsyncPgConnection, connection_id: i64) -> QueryResult<i32> {
    c::table
        .find(connection_id)
        .select(c::sync_failures)
        .get_result(conn)
        .await
}
