//! The outbox relay: publishes domain events with publisher confirms, then retires them.
//!
//! An event leaves the outbox only after the broker confirmed it, in the transaction that locked
//! it, so a relay that dies between commit and publish (or between publish and retiring) leaves
//! the event for the next relay: at least once, never lost. Each event's id is derived from the
//! change it reports, so consumers drop the duplicate a republish can make. Retired events are
//! kept for [`outbox::PUBLISHED_RETENTION_HOURS`] ([`republish_since`] sends them again after a
//! loss of the broker's data) and purged by the relay after that.

use std::{future::Future, time::Duration};

use chrono::Utc;
use diesel_async::AsyncConnection;
use futures::StreamExt;
use lapin::BasicProperties;
use matterhook_bus::{
    topology::{Names, WorkerQueue},
    PublishError, Publisher,
};
use matterhook_store::{outbox, PgPool};

/// What one pass published.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayReport {
    /// Confirmed by the broker.
    pub published: usize,
    /// No queue is bound for them: no worker consumes that event, so they are dropped.
    pub unrouted: usize,
}

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The store failed.
    #[error("database")]
    Database(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// The broker did not confirm.
    #[error("publishing")]
    Broker(#[from] PublishError),
    /// Connecting to the broker failed.
    #[error("connecting to the broker")]
    Connect(#[from] matterhook_bus::BusError),
}

/// Events taken per pass.
const PASS: i64 = 200;

/// At most this many publishes await their confirms at once.
const IN_FLIGHT: usize = 64;

/// Publishes `rows`, up to [`IN_FLIGHT`] awaiting their confirms at once; the outcomes in
/// order. One broker fsync covers many events, where waiting for each confirm in turn capped the
/// relay at one event per fsync.
async fn publish_all(
    publisher: &Publisher,
    exchange: &str,
    rows: &[outbox::OutboxRow],
) -> Vec<Result<(), PublishError>> {
    // Owned data only: a borrow held across these futures trips the compiler's `Send` check
    // inside the transaction's closure.
    let publisher = publisher.clone();
    let exchange = exchange.to_owned();
    let prepared: Vec<(String, Vec<u8>, BasicProperties)> = rows
        .iter()
        .map(|row| {
            let (body, properties) = prepare(row);
            (row.routing_key.clone(), body, properties)
        })
        .collect();
    futures::stream::iter(prepared)
        .map(move |(key, body, properties)| {
            let (publisher, exchange) = (publisher.clone(), exchange.clone());
            async move { publisher.publish(&exchange, &key, &body, properties).await }
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await
}

/// An outbox row's body and properties.
fn prepare(row: &outbox::OutboxRow) -> (Vec<u8>, BasicProperties) {
    let body = serde_json::to_vec(&row.message).unwrap_or_default();
    let text = |k: &str| {
        row.message
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_message_id(text("event_id").into())
        .with_correlation_id(text("request_id").into())
        .with_headers(matterhook_bus::sent_headers(Utc::now()));
    (body, properties)
}

/// Publishes up to [`PASS`] waiting events, oldest first, and deletes those confirmed. Stops at the
/// first publish that fails, keeping what was confirmed before it.
pub async fn relay_once(
    pool: &PgPool,
    publisher: &Publisher,
    names: &Names,
) -> Result<RelayReport, RelayError> {
    let exchange = names.events_exchange();
    let mut conn = pool.get().await?;
    conn.transaction::<_, RelayError, _>(async |conn| {
        let rows = outbox::take(conn, PASS).await?;
        let mut report = RelayReport::default();
        let mut done = Vec::with_capacity(rows.len());
        let mut failure = None;
        let outcomes = publish_all(publisher, &exchange, &rows).await;
        for (row, outcome) in rows.iter().zip(outcomes) {
            match outcome {
                Ok(()) => report.published += 1,
                Err(PublishError::Unroutable(key)) => {
                    tracing::debug!(routing_key = %key, "no consumer for this domain event");
                    report.unrouted += 1;
                }
                // Later events may have been confirmed too; they are published again next pass,
                // and consumers skip the duplicates by event id.
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            done.push(row.id);
        }
        outbox::retire(conn, &done).await?;
        match failure {
            // Commit what was confirmed; the rest waits for the next pass.
            Some(e) if done.is_empty() => Err(e.into()),
            Some(e) => {
                tracing::warn!(error = %matterhook_telemetry::Chain(&e), "publish failed mid-pass; the rest waits");
                Ok(report)
            }
            None => Ok(report),
        }
    })
    .await
}

/// What a republish did (or, on a dry run, would do).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RepublishReport {
    /// Published events kept since the time given.
    pub matched: usize,
    /// Confirmed by the broker.
    pub published: usize,
    /// No queue bound for them now.
    pub unrouted: usize,
}

/// Publishes again every domain event the relay published from `since` on, in their order: the
/// recovery after RabbitMQ lost its data (messages waiting in queues). Consumers skip the events
/// they had already applied, by event id. With `dry_run`, only counts.
pub async fn republish_since(
    pool: &PgPool,
    publisher: &Publisher,
    names: &Names,
    since: chrono::DateTime<Utc>,
    dry_run: bool,
) -> Result<RepublishReport, RelayError> {
    let mut report = RepublishReport::default();
    if dry_run {
        let mut conn = pool.get().await?;
        report.matched =
            usize::try_from(outbox::count_published_since(&mut conn, since).await?).unwrap_or(0);
        return Ok(report);
    }
    let exchange = names.events_exchange();
    let mut after = 0;
    loop {
        let rows = {
            let mut conn = pool.get().await?;
            outbox::published_since(&mut conn, since, after, PASS).await?
        };
        let Some(last) = rows.last() else { break };
        after = last.id;
        report.matched += rows.len();
        for outcome in publish_all(publisher, &exchange, &rows).await {
            match outcome {
                Ok(()) => report.published += 1,
                Err(PublishError::Unroutable(_)) => report.unrouted += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(report)
}

/// How often the relay purges published events past their retention.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Deletes published events older than [`outbox::PUBLISHED_RETENTION_HOURS`].
pub async fn purge_published(pool: &PgPool) -> Result<usize, RelayError> {
    let mut conn = pool.get().await?;
    let before = Utc::now() - chrono::Duration::hours(outbox::PUBLISHED_RETENTION_HOURS);
    Ok(outbox::purge_published(&mut conn, before).await?)
}

/// Relays until `shutdown` resolves, reconnecting to the broker after a failure. The queues of
/// `downstream` (the workers that consume domain events) are declared first in each session, so
/// that events published before a consumer first starts wait for it instead of being dropped.
pub async fn run_relay(
    pool: PgPool,
    amqp_url: String,
    names: Names,
    downstream: Vec<WorkerQueue>,
    shutdown: impl Future<Output = ()>,
) {
    run_relay_with(pool, amqp_url, names, downstream, None, shutdown).await;
}

/// [`run_relay`], woken by `wake` when the outbox is written (it then looks on its own only
/// after the fallback); without it, it looks every 100 ms.
pub async fn run_relay_with(
    pool: PgPool,
    amqp_url: String,
    names: Names,
    downstream: Vec<WorkerQueue>,
    wake: Option<crate::Wake>,
    shutdown: impl Future<Output = ()>,
) {
    let idle = wake
        .as_ref()
        .map_or(Duration::from_millis(100), |w| w.fallback);
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(200);
    let mut purged_at: Option<std::time::Instant> = None;
    loop {
        let session = async {
            let connection =
                matterhook_bus::connect_supervised(&amqp_url, "matterhook-sync-relay").await?;
            let publisher = Publisher::new(&connection, 1).await?;
            let channel = connection
                .create_channel()
                .await
                .map_err(matterhook_bus::BusError::from)?;
            matterhook_bus::topology::declare_common(&channel, &names).await?;
            for queue in &downstream {
                queue.declare(&channel, &names).await?;
            }
            Ok::<_, RelayError>((connection, publisher))
        };
        let (_connection, publisher) = tokio::select! {
            s = session => match s {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %matterhook_telemetry::Chain(&e), "relay cannot reach the broker; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = &mut shutdown => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        backoff = Duration::from_millis(200);
        loop {
            if purged_at.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                purged_at = Some(std::time::Instant::now());
                match purge_published(&pool).await {
                    Ok(n) if n > 0 => {
                        tracing::info!(purged = n, "published events past retention purged")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %matterhook_telemetry::Chain(&e), "purging published events failed")
                    }
                }
            }
            let wait = match relay_once(&pool, &publisher, &names).await {
                Ok(r) if r.published + r.unrouted > 0 => {
                    tracing::debug!(published = r.published, unrouted = r.unrouted, "relayed");
                    Duration::ZERO
                }
                Ok(_) => idle,
                Err(RelayError::Broker(e)) => {
                    tracing::warn!(error = %matterhook_telemetry::Chain(&e), "relay lost the broker; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %matterhook_telemetry::Chain(&e), "relay pass failed; retrying");
                    Duration::from_secs(1)
                }
            };
            let announced = async {
                match &wake {
                    Some(w) if !wait.is_zero() => {
                        w.wakeups.notified(matterhook_store::wakeups::OUTBOX).await;
                    }
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                () = announced => {}
                () = tokio::time::sleep(wait) => {}
                () = &mut shutdown => return,
            }
        }
    }
}
