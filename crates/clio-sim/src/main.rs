//! `clio-sim`: the Clio simulator as a standalone server.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use clap::Parser;
use clio_sim::{seed, Sim, SimConfig, SimServer};

/// A Clio Manage simulator (OAuth, REST v4, rate limits, webhooks). Never expose it: its /_sim
/// control API is unauthenticated.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "CLIO_SIM_ADDR", default_value = matterhook_config::DEFAULT_CLIO_SIM_ADDR)]
    listen: SocketAddr,
    /// Seed the demo firm (Hartley & Finch LLP) at start.
    #[arg(long)]
    seed_demo: bool,
    /// OAuth client id of the registered app.
    #[arg(long, env = "CLIO_CLIENT_ID", default_value = matterhook_config::DEFAULT_CLIO_CLIENT_ID)]
    client_id: String,
    /// OAuth client secret of the registered app.
    #[arg(long, env = "CLIO_CLIENT_SECRET", default_value = matterhook_config::DEFAULT_CLIO_CLIENT_SECRET, hide_env_values = true)]
    client_secret: String,
    /// Calls per access token per rate window.
    #[arg(long, default_value_t = 50)]
    rate_limit: u32,
    /// `expires_in` of issued access tokens, in seconds.
    #[arg(long, default_value_t = 30 * 24 * 3600)]
    token_expires_in: u64,
    /// Factor applied to Clio's webhook retry schedule (2 minutes doubling).
    #[arg(long, default_value_t = 1.0)]
    retry_scale: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let cli = Cli::parse();
    anyhow::ensure!(
        cli.retry_scale.is_finite() && (0.0..=1000.0).contains(&cli.retry_scale),
        "--retry-scale must be between 0 and 1000"
    );
    let config = SimConfig {
        client_id: cli.client_id,
        client_secret: cli.client_secret,
        rate_limit: cli.rate_limit,
        token_expires_in: Duration::from_secs(cli.token_expires_in),
        retry_scale: cli.retry_scale,
        ..SimConfig::default()
    };
    let sim = Sim::new(config);
    if cli.seed_demo {
        let firm = seed::demo_firm(&sim).context("seeding the demo firm")?;
        tracing::info!(
            account_id = firm.account_id,
            attorney_id = firm.attorney_id,
            "seeded the demo firm Hartley & Finch LLP"
        );
    }
    let server = SimServer::serve(sim, cli.listen)
        .await
        .with_context(|| format!("listening on {}", cli.listen))?;
    tracing::info!(url = %server.base_url(), "Clio simulator ready");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("stopping");
    server.stop().await;
    Ok(())
}
