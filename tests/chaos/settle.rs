//! After the load: waiting until the system is quiet and every check passes, or until the
//! patience runs out.

use std::time::{Duration, Instant};

use clio_sim::Sim;
use matterhook_store::PgPool;

use crate::{
    firms::Firm,
    load::Case,
    quiet::{self, Quiet},
    stack::Stack,
    verify::{self, Check},
};

/// How long the system may stay quiet with checks failing before the run gives up on them: longer
/// than the sync stage's sweep interval (60 s here) and a scheduler pass.
const QUIET_ENOUGH: Duration = Duration::from_secs(90);

/// How often progress is printed while waiting.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);

/// Where the run ended up.
pub struct Settled {
    /// The checks, last run.
    pub checks: Vec<Check>,
    /// What was in flight then.
    pub quiet: Quiet,
    /// How long after the load it took.
    pub took: Duration,
}

/// Waits (polling every 3 s) until the system is quiet and every check passes; gives up after
/// `patience`, or after [`QUIET_ENOUGH`] of quiet with checks still failing. A process that died
/// on its own fails the run.
pub async fn wait(
    stack: &mut Stack,
    sim: &Sim,
    pool: &PgPool,
    prefix: &str,
    firms: &[Firm],
    cases: &[Case],
    patience: Duration,
) -> anyhow::Result<Settled> {
    let started = Instant::now();
    let deadline = started + patience;
    let mut said = Instant::now();
    let mut quiet_since: Option<Instant> = None;
    loop {
        let crashed = stack.crashed();
        anyhow::ensure!(crashed.is_empty(), "crashed: {crashed:?}");
        let quiet = quiet::now(sim, pool, prefix).await?;
        quiet_since = quiet
            .is_quiet()
            .then(|| quiet_since.unwrap_or_else(Instant::now));
        let given_up =
            Instant::now() > deadline || quiet_since.is_some_and(|t| t.elapsed() > QUIET_ENOUGH);
        let mut failing = Vec::new();
        if quiet.is_quiet() || given_up {
            let checks = verify::all(sim, pool, firms, cases).await?;
            if checks.iter().all(Check::passed) || given_up {
                return Ok(Settled {
                    checks,
                    quiet,
                    took: started.elapsed(),
                });
            }
            failing = checks
                .iter()
                .filter(|c| !c.passed())
                .map(|c| c.name)
                .collect();
        }
        if said.elapsed() > PROGRESS_EVERY {
            println!(
                "    {:.0} s: {quiet}; not yet: {failing:?}",
                started.elapsed().as_secs_f64()
            );
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}
