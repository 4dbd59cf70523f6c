//! `matterhook-worker-crm`: the CRM contact feed (`matterhook_crm`). The consumer re-projects
//! the contacts a mirror change touches; beside it, the job runner recomputes a connection's
//! whole projection when its CRM settings change.

use std::time::Duration;

use anyhow::Context;
use matterhook_crm::{jobs, CrmProjector};
use matterhook_telemetry::Metrics;
use secrecy::ExposeSecret;

use crate::{run_worker_alongside, stopped, WorkerArgs};

/// How often the job runner looks for a job when it has none.
const JOB_TICK: Duration = Duration::from_secs(1);

/// Runs the CRM worker until SIGTERM or Ctrl-C.
pub async fn run_crm(args: WorkerArgs) -> anyhow::Result<()> {
    let pool = matterhook_store::connect_pool(args.db.database_url.expose_secret(), 2)
        .context("database pool")?;
    run_worker_alongside(
        CrmProjector,
        args,
        Metrics::new(),
        move |stopping| async move {
            jobs::run_jobs(pool, JOB_TICK, stopped(stopping)).await;
            Ok(())
        },
    )
    .await
}
