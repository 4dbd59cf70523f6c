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
    #[arg(long, default_value_t = 150)]
    seconds: u64,
    /// Firms sending load.
    #[arg(long, default_value_t = 4)]
    firms: usize,
    /// Steps of each firm's load per second (most are changes in Clio, some API calls).
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// How many times every fault is injected.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// How long, after the load, everything may take to settle before the run fails.
    #[arg(long, default_value_t = 240)]
    settle_seconds: u64,
    /// Where the figures go.
    #[arg(long, default_value = "target/chaos/chaos.json")]
    out: PathBuf,
}

/// How long the system may stay quiet with checks failing before the run gives up on them: longer
/// than the sync stage's sweep interval (60 s here) and a scheduler pass.
const QUIET_ENOUGH: Duration = Duration::from_secs(90);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Interrupted, the run is dropped: every process it started is killed with it.
    tokio::select! {
        result = run(cli) => result,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
    }
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
    for i in 0..cli.firms {
        firms.push(firms::connect(&sim, &pool, &stack.api_url, i).await?);
    }
    let firms: Vec<Arc<firms::Firm>> = firms.into_iter().map(Arc::new).collect();

    // The schedule: every fault `rounds` times, spread over the middle of the load.
    let faults: Vec<faults::Fault> = (0..cli.rounds).flat_map(|_| faults::all()).collect();
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
    let deadline = Instant::now() + Duration::from_secs(cli.settle_seconds);
    let settle_start = Instant::now();
    let mut said = Instant::now();
    let mut quiet_since: Option<Instant> = None;
    let (checks, quiet) = loop {
        let crashed = stack.crashed();
        anyhow::ensure!(crashed.is_empty(), "crashed: {crashed:?}");
        let quiet = quiet::now(&sim, &pool, &prefix).await?;
        let mut failing = Vec::new();
        quiet_since = quiet
            .is_quiet()
            .then(|| quiet_since.unwrap_or_else(Instant::now));
        // Quiet for longer than a sweep interval and the scheduler's pass: nothing more is coming.
        let given_up =
            Instant::now() > deadline || quiet_since.is_some_and(|t| t.elapsed() > QUIET_ENOUGH);
        if quiet.is_quiet() || given_up {
            let checks = verify::all(&sim, &pool, &firm_list, &cases).await?;
            if checks.iter().all(verify::Check::passed) || given_up {
                break (checks, quiet);
            }
            failing = checks
                .iter()
                .filter(|c| !c.passed())
                .map(|c| c.name)
                .collect();
        }
        if said.elapsed() > Duration::from_secs(15) {
            println!(
                "    {:.0} s: {quiet}; not yet: {failing:?}",
                settle_start.elapsed().as_secs_f64()
            );
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    };
    let settled_in = settle_start.elapsed();
    let dead = quiet::dead_letters(&pool).await?;
    stack.stop();

    let deliveries = sim.deliveries();
    let accepted = deliveries
        .iter()
        .filter(|d| {
            d.attempts
                .iter()
                .any(|a| a.status.is_some_and(|s| (200..300).contains(&s)))
        })
        .count();
    let refused_then_accepted = deliveries
        .iter()
        .filter(|d| {
            d.outcome == "delivered"
                && d.attempts
                    .iter()
                    .any(|a| !a.status.is_some_and(|s| (200..300).contains(&s)))
        })
        .count();
    println!();
    println!(
        "{:<50} {:>9} {:>6} {:>8}  verdict",
        "check", "expected", "lost", "doubled"
    );
    for c in &checks {
        println!(
            "{:<50} {:>9} {:>6} {:>8}  {}",
            c.name,
            c.expected,
            c.lost,
            c.doubled,
            if c.passed() { "ok" } else { "FAILED" }
        );
        for e in &c.examples {
            println!("    {e}");
        }
    }
    println!(
        "{:<50} {:>9} {:>6} {:>8}  {}",
        "dead letters, each with its reason",
        0,
        dead.len(),
        "",
        if dead.is_empty() { "ok" } else { "FAILED" }
    );
    for d in dead.iter().take(10) {
        println!("    {d}");
    }
    let lost: usize = checks.iter().map(|c| c.lost).sum::<usize>() + dead.len();
    let doubled: usize = checks.iter().map(|c| c.doubled).sum();
    println!();
    println!(
        "deliveries {} ({} answered 2xx; {} refused or unanswered first, then accepted on Clio's retry); \
         faults injected {}; settled in {:.0} s after the load ({}); lost {lost}; doubled {doubled}",
        deliveries.len(),
        accepted,
        refused_then_accepted,
        injected.len(),
        settled_in.as_secs_f64(),
        quiet
    );
    let figures = serde_json::json!({
        "seconds": cli.seconds,
        "firms": cli.firms,
        "steps_per_second_per_firm": cli.rate,
        "cases": cases.len(),
        "clio_changes": record.clio_changes.load(Ordering::Relaxed),
        "api_calls": record.api_calls.load(Ordering::Relaxed),
        "api_calls_tried_again": record.api_failures.load(Ordering::Relaxed),
        "deliveries": deliveries.len(),
        "events_accepted": accepted,
        "accepted_after_a_refusal": refused_then_accepted,
        "faults_injected": injected.len(),
        "faults": injected,
        "settled_seconds": settled_in.as_secs(),
        "checks": checks.iter().map(|c| serde_json::json!({
            "check": c.name, "expected": c.expected, "lost": c.lost, "doubled": c.doubled,
        })).collect::<Vec<_>>(),
        "dead_letters": dead.len(),
        "lost": lost,
        "doubled": doubled,
        "total_seconds": started.elapsed().as_secs(),
    });
    std::fs::write(&cli.out, serde_json::to_vec_pretty(&figures)?)?;
    println!("wrote {}", cli.out.display());

    quiet::delete_namespace(&prefix).await;
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
