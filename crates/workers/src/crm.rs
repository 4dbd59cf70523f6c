//! `matterhook-worker-crm`: the CRM contact feed (`matterhook_crm`). The consumer re-projects
//! the contacts a mirror change touches; beside it, the job runner recomputes a connection's
//! whole projection when its CRM settings change.

use std::time::Duration;

use matterhook_crm::{jobs, CrmProjector};
use matterhook_telemetry::Metrics;

use crate::{run_worker_alongside, stopped, WorkerArgs, CONSUMER_POOL};

/// How often the job runner looks for a job when it has none.
const JOB_TICK: Duration = Duration::from_secs(1);

/// Runs the CRM worker until SIGTERM or Ctrl-C.
pub async fn run_crm(args: WorkerArgs) -> anyhow::Result<()> {
    let metrics = Metrics::new();
    // The consumer's transactions and one job at a time share them.
    let pool = args.pool(CONSUMER_POOL + 1, &metrics)?;
    run_worker_alongside(
        CrmProjector,
        args,
        metrics,
        pool.clone(),
        move |stopping| async move {
            jobs::run_jobs(pool, JOB_TICK, stopped(stopping)).await;
            Ok(())
        },
    )
    .await
}
