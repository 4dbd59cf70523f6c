//! `matterhook-worker-journal`: records every Clio event in the journal.

/// What `--help` says.
const ABOUT: &str = "Records every Clio event the receiver accepted in the event journal, so \
                     support can answer \"did we get it?\".";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let args = matterhook_workers::WorkerArgs::parse_as("matterhook-worker-journal", ABOUT);
    matterhook_workers::run_worker(matterhook_workers::journal::Journal, args).await
}
