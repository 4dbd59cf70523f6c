//! `matterhook-bench`: the ingest figures (`make bench`).
//!
//! (a) The broker's own limit: persistent publishes with confirms straight to a quorum queue, at
//! concurrency C. (b) The receiver (the release binary, as its own process): signed deliveries over
//! HTTP at the same C, then at a fixed 2,000/s. Latencies are per request; at a fixed rate they
//! are measured from each request's scheduled time, so a stall counts for every request it delays.

mod broker;
mod load;
mod receiver;
mod yardstick;

use std::{path::PathBuf, time::Duration};

use clap::Parser;
use hdrhistogram::Histogram;

/// Benchmarks the ingest path.
#[derive(Parser)]
struct Cli {
    /// Concurrent requests (and publishes).
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// Seconds each closed-loop phase runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The fixed rate of the latency phase, per second.
    #[arg(long, default_value_t = 2000)]
    rate: u64,
    /// The receiver binary (release build).
    #[arg(long, default_value = "target/release/matterhook-receiver")]
    receiver_bin: PathBuf,
    /// Where to write the figures.
    #[arg(long, default_value = "target/bench/ingest.json")]
    out: PathBuf,
    /// The yardstick's sources (a minimal receiver of the same design, run beside ours); skipped
    /// when missing.
    #[arg(long, default_value = "../shared/bench/ingest-limit")]
    yardstick: PathBuf,
    /// PostgreSQL server for the bench database.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/matterhook_bench"
    )]
    database_url: String,
    /// RabbitMQ.
    #[arg(
        long,
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    amqp_url: String,
}

/// Throughput and latency of one phase.
pub struct Phase {
    /// Completed operations per second.
    pub per_s: f64,
    /// Latencies in microseconds.
    pub latency: Histogram<u64>,
    /// Operations that failed.
    pub errors: u64,
}

impl Phase {
    fn ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let c = cli.concurrency;
    let run = Duration::from_secs(cli.seconds);
    println!(
        "ingest benchmark: concurrency {c}, {}s per phase, on {} cores",
        cli.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let raw = broker::measure(&cli.amqp_url, c, run, broker::Route::Default).await?;
    // Let the broker finish deleting the phase's queue before the next phase.
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!("(a) broker, persistent + confirm to a quorum queue: {:>8.0}/s  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  errors {}", raw.per_s, raw.ms(0.5), raw.ms(0.99), raw.ms(0.999), raw.errors);
    // The receiver's own route: through a direct exchange.
    let direct = broker::measure(&cli.amqp_url, c, run, broker::Route::Direct).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!("(a') broker, the same through a direct exchange:    {:>8.0}/s  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  errors {}", direct.per_s, direct.ms(0.5), direct.ms(0.99), direct.ms(0.999), direct.errors);

    let setup = receiver::Setup::start(&cli.receiver_bin, &cli.database_url, &cli.amqp_url).await?;
    // The yardstick beside it, under the same load: alternating phases, so that drift in the
    // machine's speed weighs on both alike.
    let yardstick = if cli.yardstick.join("Cargo.toml").exists() {
        let build = cli
            .out
            .parent()
            .map_or_else(|| PathBuf::from("target/bench"), PathBuf::from)
            .join("yardstick");
        Some(
            yardstick::Yardstick::start(
                &cli.yardstick,
                &build,
                &cli.amqp_url,
                &setup.target.bodies,
            )
            .await?,
        )
    } else {
        println!("(no yardstick at {}: skipped)", cli.yardstick.display());
        None
    };
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut full = None;
    for round in 0..2 {
        setup.settle().await?;
        let phase = load::closed_loop(&setup.target, c, run).await;
        println!("(b) receiver, signed deliveries over HTTP:          {:>8.0}/s  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  errors {}", phase.per_s, phase.ms(0.5), phase.ms(0.99), phase.ms(0.999), phase.errors);
        ours.push(phase.per_s);
        if round == 0 {
            full = Some(phase);
        }
        if let Some(y) = &yardstick {
            y.settle().await?;
            let phase = load::closed_loop(&y.target, c, run).await;
            println!("(y) yardstick (ingest-limit), same load:             {:>8.0}/s  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  errors {}", phase.per_s, phase.ms(0.5), phase.ms(0.99), phase.ms(0.999), phase.errors);
            theirs.push(phase.per_s);
        }
    }
    let full = full.expect("a first round");
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let vs_yardstick = (!theirs.is_empty()).then(|| mean(&ours) / mean(&theirs));
    if let Some(v) = vs_yardstick {
        println!(
            "receiver/yardstick ratio {v:.2} (means of {} alternating rounds)",
            ours.len()
        );
    }
    if let Some(y) = &yardstick {
        // Emptied now; deleted after the fixed-rate phase, whose latencies the broker's work
        // of deleting a queue would otherwise weigh on.
        y.settle().await?;
    }
    setup.settle().await?;
    let fixed = load::open_loop(&setup.target, cli.rate, run).await;
    if let Some(y) = yardstick {
        y.stop().await;
    }
    println!("(c) receiver at a fixed {}/s:                       {:>8.0}/s  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  errors {}", cli.rate, fixed.per_s, fixed.ms(0.5), fixed.ms(0.99), fixed.ms(0.999), fixed.errors);
    let rss = setup.peak_rss_mib()?;
    setup.stop().await;
    let ratio = full.per_s / raw.per_s;
    println!(
        "receiver/broker ratio {:.2}; receiver peak RSS {rss:.1} MiB",
        ratio
    );

    let figures = serde_json::json!({
        "concurrency": c,
        "broker_per_s": round(raw.per_s),
        "broker_p99_ms": round(raw.ms(0.99)),
        "broker_direct_per_s": round(direct.per_s),
        "broker_direct_p99_ms": round(direct.ms(0.99)),
        "receiver_per_s": round(full.per_s),
        "ratio": round(ratio),
        "ratio_direct": round(full.per_s / direct.per_s),
        "p50_ms": round(full.ms(0.5)),
        "p99_ms": round(full.ms(0.99)),
        "p999_ms": round(full.ms(0.999)),
        "p99_ms_at_2000": round(fixed.ms(0.99)),
        "rate_achieved_per_s": round(fixed.per_s),
        "errors": full.errors + fixed.errors + raw.errors + direct.errors,
        "rss_mib": round(rss),
        "receiver_per_s_rounds": ours.iter().map(|v| round(*v)).collect::<Vec<_>>(),
        "yardstick_per_s_rounds": theirs.iter().map(|v| round(*v)).collect::<Vec<_>>(),
        "vs_yardstick": vs_yardstick.map(round),
    });
    if let Some(dir) = cli.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&cli.out, serde_json::to_string_pretty(&figures)?)?;
    println!("wrote {}", cli.out.display());
    Ok(())
}
