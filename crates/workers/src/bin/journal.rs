//! `matterhook-worker-journal`: records every Clio event in the journal.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let args = matterhook_workers::WorkerArgs::parse();
    matterhook_workers::run_worker(matterhook_workers::journal::Journal, args).await
}
