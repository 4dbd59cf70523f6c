//! `matterhook-worker-writeback`: activities written to Clio as contact Notes or
//! Communications, each exactly once, paced to each connection's token
//! (`matterhook_writeback`).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    matterhook_workers::writeback::run_writeback(
        matterhook_workers::writeback::WritebackArgs::parse(),
    )
    .await
}
