//! Replaying and discarding dead letters: what support staff do, through the CLI or the admin API.
//!
//! A replay publishes the recorded envelope straight to the queue that failed (through the default
//! exchange), never to the events exchange, so it does not fan out to every worker again. It
//! starts over at attempt 1. Each row is replayed once unless `again` is set; a replayed event
//! that had already been applied has no second effect (the consumer's idempotency mark).

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

/// A failure part-way: `report` says what was done before it.
#[derive(Debug, thiserror::Error)]
#[error("{message} (after {} of {} rows)", report.done, report.matched)]
pub struct OperationError {
    /// What failed.
    pub message: String,
    /// Progress so far.
    pub report: Report,
}

fn fail(message: impl ToString, report: &Report) -> OperationError {
    OperationError {
        message: message.to_string(),
        report: report.clone(),
    }
}

/// Runs `apply` over the selected rows in batches, calling `progress` after each batch.
async fn for_each_batch<F, Fut>(
    pool: &PgPool,
    selection: &Selection,
    mut apply: F,
    mut progress: impl FnMut(&Report),
) -> Result<Report, OperationError>
where
    F: FnMut(Vec<DeadLetter>) -> Fut,
    Fut: std::future::Future<Output = Result<(usize, usize), String>>,
{
    let mut report = Report::default();
    let mut conn = pool.get().await.map_err(|e| fail(e, &report))?;
    match selection {
        Selection::Ids(ids) => {
            for chunk in ids.chunks(BATCH as usize) {
                let rows = dead_letters::by_ids(&mut conn, chunk)
                    .await
                    .map_err(|e| fail(e, &report))?;
                report.matched += rows.len();
                let (done, skipped) = apply(rows).await.map_err(|e| fail(e, &report))?;
                report.done += done;
                report.skipped += skipped;
                progress(&report);
            }
        }
        Selection::Filter(filter) => {
            report.matched = usize::try_from(
                dead_letters::count(&mut conn, filter)
                    .await
                    .map_err(|e| fail(e, &report))?,
            )
            .unwrap_or(0);
            let mut after = 0;
            loop {
                let rows = dead_letters::list(&mut conn, filter, after, BATCH)
                    .await
                    .map_err(|e| fail(e, &report))?;
                let Some(last) = rows.last() else { break };
                after = last.id;
                let (done, skipped) = apply(rows).await.map_err(|e| fail(e, &report))?;
                report.done += done;
                report.skipped += skipped;
                progress(&report);
            }
        }
    }
    Ok(report)
}

/// How many rows a selection matches (a dry run).
pub async fn count(pool: &PgPool, selection: &Selection) -> Result<usize, OperationError> {
    let report = Report::default();
    let mut conn = pool.get().await.map_err(|e| fail(e, &report))?;
    match selection {
        Selection::Ids(ids) => Ok(dead_letters::by_ids(&mut conn, ids)
            .await
            .map_err(|e| fail(e, &report))?
            .len()),
        Selection::Filter(f) => Ok(usize::try_from(
            dead_letters::count(&mut conn, f)
                .await
                .map_err(|e| fail(e, &report))?,
        )
        .unwrap_or(0)),
    }
}

/// Replays the selected rows. Each publish is confirmed before its row is marked replayed.
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
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            let (mut done, mut skipped) = (Vec::new(), 0);
            for row in rows {
                if row.state != "dead" && !again {
                    skipped += 1;
                    continue;
                }
                let body = serde_json::to_vec(&row.envelope).map_err(|e| e.to_string())?;
                let properties = BasicProperties::default()
                    .with_content_type("application/json".into())
                    .with_message_id(row.event_id.as_str().into());
                publisher
                    .publish("", &row.queue, &body, properties)
                    .await
                    .map_err(|e| format!("replaying dead letter {}: {e}", row.id))?;
                done.push(row.id);
            }
            dead_letters::set_state(&mut conn, &done, "replayed", actor)
                .await
                .map_err(|e| e.to_string())?;
            Ok((done.len(), skipped))
        },
        progress,
    )
    .await?;
    audit(pool, "replay", actor, selection, &report).await?;
    Ok(report)
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
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            let (ids, skipped): (Vec<_>, Vec<_>) =
                rows.into_iter().partition(|r| r.state == "dead");
            let ids: Vec<i64> = ids.iter().map(|r| r.id).collect();
            dead_letters::set_state(&mut conn, &ids, "discarded", actor)
                .await
                .map_err(|e| e.to_string())?;
            Ok((ids.len(), skipped.len()))
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
