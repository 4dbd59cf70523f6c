//! `matterhook-chaos` (`make chaos`; a short form in `make test`): the whole stack, every binary
//! a process of its own, against the Clio simulator, under steady load from several firms, while
//! every binary is killed with `kill -9` in turn, RabbitMQ and PostgreSQL are restarted, Clio
//! answers 500s and 429s and lets a firm's webhooks lapse. Then, once the system is quiet, a
//! table: every delivery Clio saw answered 2xx is in the journal, the mirror equals Clio, and every
//! effect exists exactly once. Any loss or duplicate fails the run (exit 1), naming the case.
//!
//! It runs on its own database and its own broker namespace, kills only its own processes, and
//! restarts the machine's RabbitMQ and PostgreSQL in place: run it when nothing else uses them
//! (`make test` runs it after the other tests).

mod faults;
mod firms;
mod load;
mod quiet;
mod report;
mod settle;
mod stack;
mod verify;

use std::{
    path::PathBuf,
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Parser;
use clio_sim::{SimConfig, SimServer};
use matterhook_test_support::TestDb;

/// Chaos under load, then a count of what was lost or doubled.
#[derive(Parser)]
struct Cli {
    /// Seconds of load (faults run within them).
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u64).range(30..))]
    seconds: u64,
    /// Firms sending load.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=50))]
    firms: u64,
    /// Steps of each firm's load per second (most are changes in Clio, some API calls).
    #[arg(long, default_value_t = 2.0, value_parser = positive)]
    rate: f64,
    /// How many times every fault is injected.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=20))]
    rounds: u64,
    /// How long, after the load, everything may take to settle before the run fails.
    #[arg(long, default_value_t = 240)]
    settle_seconds: u64,
    /// Where the figures go.
    #[arg(long, default_value = "target/chaos/chaos.json")]
    out: PathBuf,
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 100.0 => Ok(v),
        _ => Err(format!("{s}: a rate above 0 and at most 100")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Interrupted, the run is dropped: every process it started is killed with it.
    let result = tokio::select! {
        result = run(cli) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    // Whatever happened, the machine's broker is left running (a run stopped between
    // `stop_app` and `start_app` would leave it down).
    faults::broker_up();
    result
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let logs = cli
        .out
        .parent()
        .unwrap_or(&PathBuf::from("."))
        .to_path_buf();
    let started = Instant::now();

    let db = TestDb::new().await.context("a database for the run")?;
    let pool = matterhook_store::connect_pool(db.url(), 8)?;
    let prefix = format!(
        "mhtest-chaos-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    // Clio's retries, scaled so that they outlast any fault here: 2.4 s, 4.8 s, ... 38 s.
    let sim_config = SimConfig {
        retry_scale: 0.02,
        rate_limit: 300,
        ..SimConfig::default()
    };
    let sim_server = SimServer::start(sim_config, "127.0.0.1:0".parse()?).await?;
    let sim = sim_server.sim.clone();
    let clio_url = sim_server.base_url().to_string();
    let clio_url = clio_url.trim_end_matches('/');

    println!("==> starting every binary (logs in {})", logs.display());
    let mut stack = stack::Stack::start(db.url(), &prefix, clio_url, &logs).await?;
    println!("==> connecting {} firms through the OAuth flow", cli.firms);
    let mut firms = Vec::new();
    for i in 0..cli.firms as usize {
        firms.push(firms::connect(&sim, &pool, &stack.api_url, i).await?);
    }
    let firms: Vec<Arc<firms::Firm>> = firms.into_iter().map(Arc::new).collect();

    // The schedule: every fault `rounds` times, spread over the middle of the load.
    let faults: Vec<faults::Fault> = (0..cli.rounds as usize)
        .flat_map(|_| faults::all())
        .collect();
    let load = Duration::from_secs(cli.seconds);
    let window_start = load / 10;
    let spacing = (load * 7 / 10) / faults.len() as u32;
    println!(
        "==> load: {} firms × {} steps/s for {} s; faults every {:.1} s:",
        cli.firms,
        cli.rate,
        cli.seconds,
        spacing.as_secs_f64()
    );
    for (i, f) in faults.iter().enumerate() {
        println!(
            "    t+{:>5.1}s  {f}",
            (window_start + spacing * i as u32).as_secs_f64()
        );
    }

    let record = Arc::new(load::Record::default());
    let load_start = Instant::now();
    let until = load_start + load;
    let mut tasks = Vec::new();
    for firm in &firms {
        tasks.push(tokio::spawn(load::run(
            sim.clone(),
            firm.clone(),
            stack.api_url.clone(),
            cli.rate,
            until,
            record.clone(),
        )));
    }
    let mut injected = Vec::new();
    for (i, fault) in faults.iter().enumerate() {
        let at = load_start + window_start + spacing * i as u32;
        tokio::time::sleep_until(at.into()).await;
        let began = Instant::now();
        faults::inject(fault, &mut stack, &sim)
            .await
            .with_context(|| format!("injecting {fault}"))?;
        let crashed = stack.crashed();
        anyhow::ensure!(crashed.is_empty(), "crashed: {crashed:?}");
        println!(
            "    t+{:>5.1}s  {fault}: back in {:.1} s",
            (began - load_start).as_secs_f64(),
            began.elapsed().as_secs_f64()
        );
        injected.push(fault.to_string());
    }
    for t in tasks {
        t.await?;
    }
    let cases = record.cases.lock().clone();
    println!(
        "==> load done: {} cases, {} changes in Clio, {} API calls ({} failed and were tried again)",
        cases.len(),
        record.clio_changes.load(Ordering::Relaxed),
        record.api_calls.load(Ordering::Relaxed),
        record.api_failures.load(Ordering::Relaxed)
    );

    println!(
        "==> waiting for the system to settle (at most {} s)",
        cli.settle_seconds
    );
    let firm_list: Vec<firms::Firm> = firms.iter().map(|f| (**f).clone()).collect();
    let settled = settle::wait(
        &mut stack,
        &sim,
        &pool,
        &prefix,
        &firm_list,
        &cases,
        Duration::from_secs(cli.settle_seconds),
    )
    .await?;
    let dead = verify::dead_letters(&pool).await?;
    stack.stop();

    let report = report::Report {
        settled: &settled,
        dead: &dead,
        deliveries: &sim.deliveries(),
        injected: &injected,
    };
    report.print();
    let (lost, doubled) = (report.lost(), report.doubled());
    let figures = serde_json::json!({
        "seconds": cli.seconds,
        "firms": cli.firms,
        "steps_per_second_per_firm": cli.rate,
        "rounds": cli.rounds,
        "cases": cases.len(),
        "clio_changes": record.clio_changes.load(Ordering::Relaxed),
        "api_calls": record.api_calls.load(Ordering::Relaxed),
        "api_calls_tried_again": record.api_failures.load(Ordering::Relaxed),
        "report": report.figures(),
        "total_seconds": started.elapsed().as_secs(),
    });
    std::fs::write(&cli.out, serde_json::to_vec_pretty(&figures)?)?;
    println!("wrote {}", cli.out.display());

    stack::delete_namespace(&prefix).await;
    drop(pool);
    drop(sim_server);
    if lost > 0 || doubled > 0 {
        // Kept for the post-mortem (`make test` removes leftover test databases).
        println!("the run's database is kept: {}", db.url());
        std::mem::forget(db);
        anyhow::bail!("the chaos run lost {lost} and doubled {doubled}");
    }
    drop(db);
    Ok(())
}
