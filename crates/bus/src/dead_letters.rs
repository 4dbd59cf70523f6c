//! Replaying and discarding dead letters: what support staff do, through the CLI or the admin API.
//!
//! A replay publishes the recorded envelope straight to the queue that failed (through the default
//! exchange), never to the events exchange, so it does not fan out to every worker again. It
//! starts over at attempt 1. Each row is replayed once unless `again` is set; a replayed event
//! that had already been applied has no second effect (the consumer's idempotency mark).

use diesel_async::AsyncConnection;
use lapin::BasicProperties;
use matterhook_store::{
    dead_letters::{self, DeadLetter, Filter},
    PgPool,
};
use serde::Serialize;

use crate::Publisher;

/// Rows handled per batch.
pub const BATCH: i64 = 200;

/// Which rows an operation applies to.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// These row ids.
    Ids(Vec<i64>),
    /// Every row matching.
    Filter(Filter),
}

/// What an operation did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    /// Rows selected.
    pub matched: usize,
    /// Rows replayed or discarded.
    pub done: usize,
    /// Rows left alone (already replayed or discarded, without `again`).
    pub skipped: usize,
}

type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A failure part-way: `report` says what was done before it; the source says why.
#[derive(Debug, thiserror::Error)]
#[error("stopped after {} of {} rows", report.done, report.matched)]
pub struct OperationError {
    /// Progress so far.
    pub report: Report,
    /// Why it stopped.
    #[source]
    pub source: Cause,
}

fn fail(source: impl Into<Cause>, report: &Report) -> OperationError {
    OperationError {
        report: report.clone(),
        source: source.into(),
    }
}

/// Runs `apply` over the selected rows in batches, calling `progress` after each batch. Reading a
/// batch and applying it use the pool one connection at a time, so an operation never waits for a
/// second connection while holding one.
async fn for_each_batch<F, Fut>(
    pool: &PgPool,
    selection: &Selection,
    mut apply: F,
    mut progress: impl FnMut(&Report),
) -> Result<Report, OperationError>
where
    F: FnMut(Vec<DeadLetter>) -> Fut,
    Fut: std::future::Future<Output = Result<(usize, usize), Cause>>,
{
    let mut report = Report::default();
    let read = |report: &Report| {
        let report = report.clone();
        async move { pool.get().await.map_err(|e| fail(e, &report)) }
    };
    let mut batches: Vec<Vec<i64>> = Vec::new();
    match selection {
        Selection::Ids(ids) => batches.extend(ids.chunks(BATCH as usize).map(<[i64]>::to_vec)),
        Selection::Filter(filter) => {
            let mut conn = read(&report).await?;
            report.matched = usize::try_from(
                dead_letters::count(&mut conn, filter)
                    .await
                    .map_err(|e| fail(e, &report))?,
            )
            .unwrap_or(0);
        }
    }
    let mut after = 0;
    let mut next_ids = batches.into_iter();
    loop {
        let rows = {
            let mut conn = read(&report).await?;
            match selection {
                Selection::Ids(_) => match next_ids.next() {
                    Some(ids) => {
                        let rows = dead_letters::by_ids(&mut conn, &ids)
                            .await
                            .map_err(|e| fail(e, &report))?;
                        report.matched += rows.len();
                        rows
                    }
                    None => break,
                },
                Selection::Filter(filter) => {
                    let rows = dead_letters::list(&mut conn, filter, after, BATCH)
                        .await
                        .map_err(|e| fail(e, &report))?;
                    match rows.last() {
                        Some(last) => after = last.id,
                        None => break,
                    }
                    rows
                }
            }
        };
        let (done, skipped) = apply(rows).await.map_err(|e| fail(e, &report))?;
        report.done += done;
        report.skipped += skipped;
        progress(&report);
    }
    Ok(report)
}

/// How many rows a selection matches (a dry run).
pub async fn count(pool: &PgPool, selection: &Selection) -> Result<usize, OperationError> {
    let report = Report::default();
    let mut conn = pool.get().await.map_err(|e| fail(e, &report))?;
    let n = match selection {
        Selection::Ids(ids) => dead_letters::count_ids(&mut conn, ids).await,
        Selection::Filter(f) => dead_letters::count(&mut conn, f).await,
    }
    .map_err(|e| fail(e, &report))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Replays the selected rows. Each row is claimed (marked replayed) in the transaction that
/// publishes it, committed after the broker's confirm.
pub async fn replay(
    pool: &PgPool,
    publisher: &Publisher,
    selection: &Selection,
    actor: &str,
    again: bool,
    progress: impl FnMut(&Report),
) -> Result<Report, OperationError> {
    let report = for_each_batch(
        pool,
        selection,
        |rows| async move {
            let mut conn = pool.get().await?;
            let (mut done, mut skipped) = (0, 0);
            for row in rows {
                // The claim commits only with a confirmed publish: two replays at once never both
                // send a row, and a failed publish leaves it as it was.
                let replayed = conn
                    .transaction::<bool, ReplayFailure, _>(async |conn| {
                        if !dead_letters::claim_for_replay(conn, row.id, actor, again).await? {
                            return Ok(false);
                        }
                        publish_replay(publisher, &row).await?;
                        Ok(true)
                    })
                    .await
                    .map_err(|source| RowFailed {
                        id: row.id,
                        queue: row.queue.clone(),
                        source,
                    })?;
                if replayed {
                    done += 1;
                } else {
                    skipped += 1;
                }
            }
            Ok((done, skipped))
        },
        progress,
    )
    .await?;
    audit(pool, "replay", actor, selection, &report).await?;
    Ok(report)
}

/// Sends one dead letter's envelope to the queue that failed, as a fresh sending.
async fn publish_replay(publisher: &Publisher, row: &DeadLetter) -> Result<(), ReplayFailure> {
    // A body that was not JSON was stored as a string: replay its original bytes.
    let body = match &row.envelope {
        serde_json::Value::String(raw) => raw.clone().into_bytes(),
        other => serde_json::to_vec(other)?,
    };
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_message_id(row.event_id.as_str().into())
        // If it fails again, that is a new dead letter.
        .with_headers(crate::sent_headers(chrono::Utc::now()));
    Ok(publisher.publish("", &row.queue, &body, properties).await?)
}

/// Why a row's replay failed.
#[derive(Debug, thiserror::Error)]
enum ReplayFailure {
    #[error("claiming the row")]
    Database(#[from] diesel::result::Error),
    #[error("encoding the envelope")]
    Encode(#[from] serde_json::Error),
    #[error("publishing")]
    Publish(#[from] crate::PublishError),
}

/// Which row's replay failed.
#[derive(Debug, thiserror::Error)]
#[error("replaying dead letter {id} to {queue}")]
struct RowFailed {
    id: i64,
    queue: String,
    #[source]
    source: ReplayFailure,
}

/// Discards the selected rows (they stay, marked discarded, for the record).
pub async fn discard(
    pool: &PgPool,
    selection: &Selection,
    actor: &str,
    progress: impl FnMut(&Report),
) -> Result<Report, OperationError> {
    let report = for_each_batch(
        pool,
        selection,
        |rows| async move {
            let mut conn = pool.get().await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let done = dead_letters::discard(&mut conn, &ids, actor).await?;
            Ok((done, ids.len() - done))
        },
        progress,
    )
    .await?;
    audit(pool, "discard", actor, selection, &report).await?;
    Ok(report)
}

async fn audit(
    pool: &PgPool,
    action: &str,
    actor: &str,
    selection: &Selection,
    report: &Report,
) -> Result<(), OperationError> {
    let mut conn = pool.get().await.map_err(|e| fail(e, report))?;
    let selection = serde_json::to_value(selection).map_err(|e| fail(e, report))?;
    dead_letters::record_action(&mut conn, action, actor, &selection, report.done)
        .await
        .map_err(|e| fail(e, report))
}

/// Sends a connection's parked work back to its queues, once it is connected again. Returns how
/// many events went back.
pub async fn unpark(
    pool: &PgPool,
    publisher: &Publisher,
    connection_id: i64,
) -> Result<usize, OperationError> {
    let filter = Filter {
        state: Some(matterhook_domain::DeadLetterState::Dead),
        connection_id: Some(connection_id),
        text: Some(crate::retry::PARKED_REASON.into()),
        ..Filter::default()
    };
    let report = replay(
        pool,
        publisher,
        &Selection::Filter(filter),
        "reconnect",
        false,
        |_| {},
    )
    .await?;
    Ok(report.done)
}

/// Sends back the parked work of every connection that is connected again: what a reconnect's own
/// unpark missed (it failed, or work was parked while the reconnect was under way). The
/// scheduler runs it every pass. Returns how many events went back.
pub async fn unpark_reconnected(
    pool: &PgPool,
    publisher: &Publisher,
) -> Result<usize, OperationError> {
    let ids = {
        let mut conn = pool.get().await.map_err(|e| fail(e, &Report::default()))?;
        dead_letters::connected_with_reason(&mut conn, crate::retry::PARKED_REASON)
            .await
            .map_err(|e| fail(e, &Report::default()))?
    };
    let mut sent = 0;
    for id in ids {
        sent += unpark(pool, publisher, id).await?;
    }
    Ok(sent)
}
