//! The faults, on a schedule printed before the run: `kill -9` of every binary in turn, a
//! RabbitMQ restart, a PostgreSQL restart, Clio answering 500s and then 429s, and a webhook lapse
//! long enough to need a sweep. Only the run's own processes are killed; the broker and the
//! database are the machine's own, restarted in place.

use std::{process::Command, time::Duration};

use clio_sim::{ApiFaultKind, ApiOutage, Sim};

use crate::stack::{Stack, WORKERS};

/// One fault.
#[derive(Debug, Clone)]
pub enum Fault {
    /// `kill -9` of a binary, started again after the pause.
    Kill(&'static str),
    /// `rabbitmqctl stop_app`, a pause, `start_app`.
    RestartRabbitMq,
    /// `pg_ctlcluster ... restart` (fast: open connections are cut).
    RestartPostgres,
    /// Every Clio API call answers this for a while.
    Clio(ApiFaultKind, Duration),
    /// Clio suspends every webhook of the first firm; the scheduler must notice, replace them and
    /// sweep the gap.
    WebhookLapse,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kill(name) => write!(f, "kill -9 {name}"),
            Self::RestartRabbitMq => write!(f, "restart RabbitMQ"),
            Self::RestartPostgres => write!(f, "restart PostgreSQL"),
            Self::Clio(kind, d) => write!(f, "Clio answers {kind:?} for {} s", d.as_secs()),
            Self::WebhookLapse => write!(f, "Clio suspends the first firm's webhooks"),
        }
    }
}

/// How long a killed binary stays down, and how long RabbitMQ does.
pub const DOWN: Duration = Duration::from_secs(2);

/// Every fault once, in the order they run.
pub fn all() -> Vec<Fault> {
    let mut faults = vec![Fault::Kill("matterhook-receiver")];
    faults.extend(WORKERS.iter().map(|w| Fault::Kill(w)));
    faults.extend([
        Fault::Kill("matterhook-api"),
        Fault::Kill("matterhook-scheduler"),
        Fault::RestartRabbitMq,
        Fault::Clio(ApiFaultKind::ServerError, Duration::from_secs(20)),
        Fault::RestartPostgres,
        Fault::Clio(ApiFaultKind::RateLimit, Duration::from_secs(10)),
        Fault::WebhookLapse,
    ]);
    faults
}

/// Injects `fault`; returns once what it broke is back (the stack ready again).
pub async fn inject(fault: &Fault, stack: &mut Stack, sim: &Sim) -> anyhow::Result<()> {
    match fault {
        Fault::Kill(name) => stack.kill_and_restart(name, DOWN).await?,
        Fault::RestartRabbitMq => {
            run("rabbitmqctl", &["-q", "stop_app"]).await?;
            tokio::time::sleep(DOWN).await;
            run("rabbitmqctl", &["-q", "start_app"]).await?;
            run("rabbitmqctl", &["-q", "await_startup"]).await?;
            stack.all_ready().await?;
        }
        Fault::RestartPostgres => {
            let (version, cluster) = postgres_cluster()?;
            run(
                "pg_ctlcluster",
                &[
                    "--skip-systemctl-redirect",
                    &version,
                    &cluster,
                    "restart",
                    "-m",
                    "fast",
                ],
            )
            .await?;
            stack.all_ready().await?;
        }
        Fault::Clio(kind, duration) => sim.inject_outage(ApiOutage {
            kind: *kind,
            for_ms: duration.as_millis() as u64,
            token: None,
            retry_after_secs: 2,
        }),
        Fault::WebhookLapse => {
            let first = sim
                .webhooks()
                .iter()
                .filter(|h| h.status == "enabled")
                .map(|h| h.account_id)
                .min();
            for hook in sim.webhooks() {
                if Some(hook.account_id) == first && hook.status == "enabled" {
                    sim.suspend_webhook(hook.id);
                }
            }
        }
    }
    Ok(())
}

async fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = tokio::process::Command::new(program)
        .args(args)
        .status()
        .await?;
    anyhow::ensure!(status.success(), "{program} {args:?}: {status}");
    Ok(())
}

/// The machine's PostgreSQL cluster listening on 5432 (Debian's `pg_lsclusters`).
fn postgres_cluster() -> anyhow::Result<(String, String)> {
    let out = Command::new("pg_lsclusters").arg("-h").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[2] == "5432")
        .map(|f| (f[0].to_owned(), f[1].to_owned()))
        .ok_or_else(|| anyhow::anyhow!("no PostgreSQL cluster on 5432 in pg_lsclusters"))
}

/// Starts the machine's RabbitMQ application if it is stopped (idempotent; errors ignored: this
/// is the last thing a run does).
pub fn broker_up() {
    let _ = Command::new("rabbitmqctl")
        .args(["-q", "start_app"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}
