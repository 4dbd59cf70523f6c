//! When the system is quiet: Clio has nothing left to deliver or retry, the broker holds nothing
//! for the run (ready or unacknowledged, retry queues included), and PostgreSQL holds no work
//! waiting (records to re-read, domain events to publish, activities to write, sweeps asked for
//! or running, jobs).

use clio_sim::Sim;
use diesel::{sql_types::BigInt, QueryableByName};
use diesel_async::RunQueryDsl;
use matterhook_store::PgPool;

/// What is still in flight.
#[derive(Debug, Default)]
pub struct Quiet {
    /// Deliveries Clio is still attempting or will retry.
    pub deliveries: usize,
    /// Messages in the run's queues.
    pub messages: u64,
    /// Rows of work waiting in PostgreSQL.
    pub waiting: i64,
}

impl Quiet {
    /// Nothing in flight.
    pub fn is_quiet(&self) -> bool {
        self.deliveries == 0 && self.messages == 0 && self.waiting == 0
    }
}

impl std::fmt::Display for Quiet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_quiet() {
            write!(f, "quiet")
        } else {
            write!(
                f,
                "still in flight: {} deliveries, {} messages, {} rows of work",
                self.deliveries, self.messages, self.waiting
            )
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// What is in flight now.
pub async fn now(sim: &Sim, pool: &PgPool, prefix: &str) -> anyhow::Result<Quiet> {
    let deliveries = sim
        .deliveries()
        .iter()
        .filter(|d| d.outcome == "pending")
        .count();
    let mut conn = pool.get().await?;
    let waiting: Count = diesel::sql_query(
        "SELECT (SELECT count(*) FROM sync_queue) + (SELECT count(*) FROM outbox) \
         + (SELECT count(*) FROM activities WHERE state = 'queued') \
         + (SELECT count(*) FROM sweep_requests WHERE done_at IS NULL) \
         + (SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')) \
         + (SELECT count(*) FROM sync_cursors WHERE lease_until > now()) AS n",
    )
    .get_result(&mut conn)
    .await?;
    Ok(Quiet {
        deliveries,
        messages: messages(prefix).await?,
        waiting: waiting.n,
    })
}

/// Messages (ready and unacknowledged) in every queue of the namespace.
async fn messages(prefix: &str) -> anyhow::Result<u64> {
    let out = tokio::process::Command::new("rabbitmqctl")
        .args(["-q", "list_queues", "name", "messages"])
        .output()
        .await?;
    anyhow::ensure!(out.status.success(), "rabbitmqctl list_queues failed");
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(name, _)| name.starts_with(prefix))
        .filter_map(|(_, n)| n.trim().parse::<u64>().ok())
        .sum())
}
