//! Syncing every watch of a connection, as a job with progress (`GET /api/jobs/{id}`): Sync All,
//! the `auto_sync` schedule, and a login. Watches are re-read in pages of 200 matters, one
//! `ids[]` call each (plus one for the clients whose mirrored copy is stale), so 10,000 watches
//! take about 100 calls where one call per watch and client would take 20,000. No cap on how
//! many.

use std::{future::Future, time::Duration};

use chrono::{DateTime, Utc};
use matterhook_domain::{watches::WatchSettings, Model};
use matterhook_store::{connections, jobs, watches as store, PgPool};
use matterhook_sync::{SyncError, SyncStage, Verdict};

use crate::{settings_of, sync_one::apply};

/// Watches read per page: Clio's `ids[]` limit.
const PAGE: i64 = 200;
/// A claimed job's lease, renewed with each page.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// How many times a page waits out Clio's rate limit before the job gives up.
const MAX_THROTTLED: u32 = 10;

/// Why a job stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The store failed.
    #[error("database")]
    Database(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// Reading Clio failed.
    #[error("reading Clio")]
    Clio(#[from] SyncError),
}

/// What one job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobReport {
    /// Watches synced.
    pub watches: usize,
    /// Fields changed among them.
    pub changes: usize,
    /// Calls made to Clio.
    pub clio_calls: usize,
}

/// Queues a sync of every watch of `connection` for `user` (a queued one not yet started is
/// reused); the job.
pub async fn queue(pool: &PgPool, connection: i64, user: i64) -> Result<jobs::Job, JobError> {
    let mut conn = pool.get().await?;
    Ok(jobs::queue(&mut conn, store::SYNC_JOB, connection, user).await?)
}

/// Runs the oldest waiting job, if any.
pub async fn run_one(pool: &PgPool, stage: &SyncStage) -> Result<Option<JobReport>, JobError> {
    let mut conn = pool.get().await?;
    let Some(job) = jobs::claim(&mut conn, store::SYNC_JOB, Utc::now() + LEASE).await? else {
        return Ok(None);
    };
    let Some(connection) = connections::get(&mut conn, job.connection_id).await? else {
        jobs::finish(&mut conn, job.id, Some("the connection no longer exists")).await?;
        return Ok(None);
    };
    drop(conn);
    let outcome = sync_all(pool, stage, &job, &connection).await;
    let mut conn = pool.get().await?;
    match outcome {
        Ok(report) => {
            jobs::finish(&mut conn, job.id, None).await?;
            tracing::info!(
                job = job.id,
                connection_id = connection.id,
                ?report,
                "watches synced"
            );
            Ok(Some(report))
        }
        Err(e) => {
            let why = matterhook_telemetry::chain(&e);
            jobs::finish(&mut conn, job.id, Some(&why)).await?;
            Err(e)
        }
    }
}

async fn sync_all(
    pool: &PgPool,
    stage: &SyncStage,
    job: &jobs::Job,
    connection: &connections::Connection,
) -> Result<JobReport, JobError> {
    let mut conn = pool.get().await?;
    let total = i32::try_from(store::count_of_connection(&mut conn, connection.id).await?)
        .unwrap_or(i32::MAX);
    jobs::progress(&mut conn, job.id, 0, total, Utc::now() + LEASE).await?;
    let mut report = JobReport::default();
    let mut after = 0;
    loop {
        let page = store::page_of_connection(&mut conn, connection.id, after, PAGE).await?;
        let Some(&(last, _)) = page.last() else { break };
        after = last;
        let matters: Vec<i64> = page.iter().map(|(_, m)| *m).collect();
        let read_started = std::time::Instant::now();
        report.clio_calls += refresh(stage, connection.id, &matters).await?;
        let read = read_started.elapsed();
        let ids: Vec<i64> = page.iter().map(|(w, _)| *w).collect();
        let merge_started = std::time::Instant::now();
        let outcomes = apply(
            &mut conn,
            connection.id,
            connection.clio_account_id,
            &ids,
            Utc::now(),
        )
        .await?;
        tracing::debug!(
            job = job.id,
            read_ms = read.as_millis(),
            merge_ms = merge_started.elapsed().as_millis(),
            watches = outcomes.len(),
            "a page of watches synced"
        );
        report.watches += outcomes.len();
        report.changes += outcomes.iter().map(|o| o.changes.len()).sum::<usize>();
        let done = i32::try_from(report.watches).unwrap_or(i32::MAX);
        jobs::progress(&mut conn, job.id, done, total.max(done), Utc::now() + LEASE).await?;
    }
    Ok(report)
}

/// Re-reads one page's matters, waiting out Clio's rate limit; the calls made.
async fn refresh(stage: &SyncStage, connection: i64, matters: &[i64]) -> Result<usize, JobError> {
    let mut throttled = 0;
    loop {
        match stage.refresh(connection, Model::Matter, matters).await {
            Ok(r) => return Ok(r.clio_calls),
            Err(e) => match e.verdict() {
                Verdict::Throttled(wait) if throttled < MAX_THROTTLED => {
                    throttled += 1;
                    tracing::info!(
                        connection_id = connection,
                        ?wait,
                        "Clio's rate limit: the sync waits"
                    );
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(e.into()),
            },
        }
    }
}

/// Queues the automatic syncs that are due at `now` by each watching connection's settings
/// (`auto_sync`, `frequency`); how many.
pub async fn queue_due(pool: &PgPool, now: DateTime<Utc>) -> Result<usize, JobError> {
    let mut conn = pool.get().await?;
    let mut queued = 0;
    for (connection, user) in store::watching_connections(&mut conn).await? {
        let settings: WatchSettings = settings_of(&mut conn, connection).await?;
        let last = store::last_sync_all(&mut conn, connection).await?;
        if settings.auto_sync_due(last, now) {
            jobs::queue(&mut conn, store::SYNC_JOB, connection, user).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Marks the user's login at `now` and queues a sync of each of their connections' watches
/// whose settings sync on login and whose last sync is over an hour old; the jobs queued.
pub async fn login(
    pool: &PgPool,
    user: i64,
    now: DateTime<Utc>,
) -> Result<Vec<jobs::Job>, JobError> {
    let mut conn = pool.get().await?;
    store::mark_login(&mut conn, user, now).await?;
    let mut queued = Vec::new();
    // Only this user's connections: a login reads nobody else's watches.
    for connection in store::watching_connections_of(&mut conn, user).await? {
        let settings = settings_of(&mut conn, connection).await?;
        let last = store::last_sync_all(&mut conn, connection).await?;
        if settings.login_sync_due(last, now) {
            queued.push(jobs::queue(&mut conn, store::SYNC_JOB, connection, user).await?);
        }
    }
    Ok(queued)
}

/// Runs jobs until `shutdown`, looking every `tick` when there is none; every `schedule_every`,
/// queues the automatic syncs that are due.
pub async fn run_jobs(
    pool: PgPool,
    stage: SyncStage,
    tick: Duration,
    schedule_every: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut next_schedule = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_schedule {
            if let Err(e) = queue_due(&pool, Utc::now()).await {
                tracing::warn!(error = %matterhook_telemetry::Chain(&e), "scheduling watch syncs failed");
            }
            next_schedule = tokio::time::Instant::now() + schedule_every;
        }
        let idle = match run_one(&pool, &stage).await {
            Ok(Some(_)) => false,
            Ok(None) => true,
            Err(e) => {
                tracing::warn!(error = %matterhook_telemetry::Chain(&e), "watch sync job failed");
                true
            }
        };
        if idle {
            tokio::select! {
                () = tokio::time::sleep(tick) => {}
                () = &mut shutdown => return,
            }
        }
    }
}
