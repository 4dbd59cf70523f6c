//! Recomputing a connection's whole projection, as a job with progress: queued when its CRM
//! settings change, run by `matterhook-worker-crm` beside its consumer. The first job of a
//! connection is its baseline: clients of the past are recorded without a `contact.new_client`.
//! It waits for the connection's first sync, so the mirror holds the firm before it projects.

use std::{future::Future, time::Duration};

use chrono::Utc;
use diesel_async::AsyncConnection;
use matterhook_domain::{
    crm::{client_before, project},
    settings::ConnectionSettings,
};
use matterhook_store::{connections, crm, jobs, PgPool};
use serde_json::Value;

use crate::{facts, project::write_over};

/// Contacts read per page (and per progress report).
const PAGE: i64 = 500;
/// A claimed job's lease, renewed with each page.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// How long a job waits before looking again at a connection not yet synced.
const NOT_SYNCED_YET: chrono::Duration = chrono::Duration::seconds(5);

/// Why a job stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The store failed.
    #[error("database")]
    Database(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// A projection failed.
    #[error("projection")]
    Project(#[from] crate::project::ProjectError),
}

/// What one job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobReport {
    /// Contacts projected.
    pub contacts: usize,
    /// Of those, new clients announced.
    pub new_clients: usize,
}

/// Runs the oldest waiting job, if any: `None` when there was none (or its connection has not
/// finished its first sync yet).
pub async fn run_one(pool: &PgPool) -> Result<Option<JobReport>, JobError> {
    let mut conn = pool.get().await?;
    let Some(job) = jobs::claim(&mut conn, jobs::CRM_PROJECTION, Utc::now() + LEASE).await? else {
        return Ok(None);
    };
    let Some(connection) = connections::get(&mut conn, job.connection_id).await? else {
        jobs::finish(&mut conn, job.id, Some("the connection no longer exists")).await?;
        return Ok(None);
    };
    if connection.last_synced_at.is_none() {
        // Not yet: the lease runs out and the job is taken up again.
        jobs::progress(&mut conn, job.id, 0, 0, Utc::now() + NOT_SYNCED_YET).await?;
        return Ok(None);
    }
    match project_all(pool, &job, &connection).await {
        Ok(report) => {
            jobs::finish(&mut conn, job.id, None).await?;
            tracing::info!(
                job = job.id,
                connection_id = job.connection_id,
                ?report,
                "CRM projection recomputed"
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

async fn project_all(
    pool: &PgPool,
    job: &jobs::Job,
    connection: &connections::Connection,
) -> Result<JobReport, JobError> {
    let mut conn = pool.get().await?;
    let document = matterhook_store::settings::get(&mut conn, connection.id)
        .await?
        .unwrap_or(Value::Null);
    let settings = if document.is_null() {
        ConnectionSettings::default()
    } else {
        ConnectionSettings::parse(&document).unwrap_or_default()
    };
    let account = connection.clio_account_id;
    let baseline = crm::projected_at(&mut conn, connection.id).await?.is_none();
    let total = i32::try_from(crm::contact_count(&mut conn, account).await?).unwrap_or(i32::MAX);
    // Read once for the whole job: whether anyone is related to a matter at all, and the
    // contact custom fields that name picklist values.
    let related = crm::has_relationships(&mut conn, account).await?;
    let fields = matterhook_store::mirror::custom_fields_of(&mut conn, account, "Contact").await?;
    let mut report = JobReport::default();
    let mut after = 0;
    loop {
        let page = crm::contacts_page(&mut conn, account, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.clio_id;
        conn.transaction::<_, JobError, _>(async |conn| {
            // The projection grows from nothing during a first job: a plan cached while it was
            // small would scan it for every lookup. Plan each statement for what it finds.
            diesel_async::RunQueryDsl::execute(
                diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan"),
                conn,
            )
            .await?;
            let ids: Vec<i64> = page.iter().map(|r| r.clio_id).collect();
            let mut held = crm::projections(conn, connection.id, &ids).await?;
            let live: Vec<_> = page
                .iter()
                .filter(|r| settings.crm.enabled && r.deleted_at.is_none())
                .cloned()
                .collect();
            let facts = facts::of_page(conn, account, &live, related, &fields).await?;
            let mut projected: std::collections::HashMap<i64, _> = facts
                .iter()
                .map(|f| (f.id, project(f, &settings.crm)))
                .collect();
            // Who became a client after the feed was turned on is news even in the baseline
            // (found by `make chaos`: clients of the first seconds had no event).
            let news: std::collections::HashSet<i64> = facts
                .iter()
                .filter(|f| baseline && !client_before(f, job.created_at))
                .map(|f| f.id)
                .collect();
            for id in ids {
                let now = projected.remove(&id).flatten();
                let outcome = write_over(
                    conn,
                    connection.id,
                    account,
                    id,
                    held.remove(&id),
                    now,
                    baseline && !news.contains(&id),
                )
                .await?;
                report.new_clients += usize::from(outcome.new_client);
            }
            Ok(())
        })
        .await?;
        report.contacts += page.len();
        let done = i32::try_from(report.contacts).unwrap_or(i32::MAX);
        jobs::progress(&mut conn, job.id, done, total.max(done), Utc::now() + LEASE).await?;
    }
    if baseline {
        crm::mark_projected(&mut conn, connection.id).await?;
    }
    Ok(report)
}

/// Runs jobs until `shutdown`, looking every `tick` when there is none.
pub async fn run_jobs(pool: PgPool, tick: Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let ran = run_one(&pool).await;
        let idle = match ran {
            Ok(Some(_)) => false,
            Ok(None) => true,
            Err(e) => {
                tracing::warn!(error = %matterhook_telemetry::Chain(&e), "CRM job failed");
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
