//! `matterhook dlq`: what support staff do with dead-lettered events.

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use matterhook_bus::dead_letters::{self as ops, Report, Selection};
use matterhook_config::{AmqpArgs, DatabaseArgs};
use matterhook_domain::Model;
use matterhook_store::{dead_letters, PgPool};
use secrecy::ExposeSecret;

/// `matterhook dlq ...`
#[derive(Args)]
pub struct DlqArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List dead letters, oldest first, a page at a time.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// Show rows after this id (the previous page's last id).
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// Rows per page.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
    },
    /// Show one dead letter whole, envelope included.
    Show {
        /// Its id.
        id: i64,
    },
    /// Publish dead letters again, to the queue that failed only.
    Replay {
        #[command(flatten)]
        target: Target,
        /// Replay rows already replayed or discarded too.
        #[arg(long)]
        again: bool,
        #[command(flatten)]
        amqp: AmqpArgs,
    },
    /// Mark dead letters discarded (they stay, for the record).
    Discard {
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Args)]
struct Target {
    /// Row ids.
    ids: Vec<i64>,
    /// Act on every row matching the filter options instead of ids.
    #[arg(long, conflicts_with = "ids")]
    filter: bool,
    #[command(flatten)]
    filters: FilterArgs,
    /// Only count what would be affected.
    #[arg(long)]
    dry_run: bool,
    /// Who is acting, for the record.
    #[arg(long, env = "USER", default_value = "cli")]
    actor: String,
}

#[derive(Args, Clone)]
struct FilterArgs {
    /// dead, replayed, discarded or all.
    #[arg(long, default_value = "dead", value_parser = ["dead", "replayed", "discarded", "all"])]
    state: String,
    /// The queue that failed (for example matterhook.journal).
    #[arg(long)]
    queue: Option<String>,
    /// The model.
    #[arg(long, value_enum)]
    model: Option<Model>,
    /// The Clio event.
    #[arg(long)]
    event: Option<String>,
    /// The connection id.
    #[arg(long)]
    connection: Option<i64>,
    /// Text in the reason or error.
    #[arg(long)]
    reason: Option<String>,
    /// Last failure at or after (RFC 3339).
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    /// Last failure before (RFC 3339).
    #[arg(long)]
    until: Option<DateTime<Utc>>,
}

impl FilterArgs {
    fn filter(&self) -> dead_letters::Filter {
        dead_letters::Filter {
            state: dead_letters::state_param(Some(&self.state)).unwrap_or_default(),
            queue: self.queue.clone(),
            model: self.model,
            event: self.event.clone(),
            connection_id: self.connection,
            text: self.reason.clone(),
            since: self.since,
            until: self.until,
            up_to_id: None,
        }
    }
}

impl Target {
    fn selection(&self) -> anyhow::Result<Selection> {
        match (self.filter, self.ids.is_empty()) {
            (true, _) => Ok(Selection::Filter(self.filters.filter())),
            (false, false) => Ok(Selection::Ids(self.ids.clone())),
            (false, true) => bail!("name the rows: give ids, or --filter with filter options"),
        }
    }
}

/// Runs a `dlq` command.
pub async fn run(args: DlqArgs) -> anyhow::Result<()> {
    let pool = matterhook_store::connect_pool(args.db.database_url.expose_secret(), 2)
        .context("database pool")?;
    match args.command {
        DlqCommand::List {
            filter,
            after,
            limit,
        } => list(&pool, &filter.filter(), after, limit).await,
        DlqCommand::Show { id } => show(&pool, id).await,
        DlqCommand::Replay {
            target,
            again,
            amqp,
        } => {
            let selection = match target.selection()? {
                Selection::Filter(f) => Selection::Filter(f.for_replay(again)),
                ids => ids,
            };
            if dry_run(&pool, &selection, &target, "replay").await? {
                return Ok(());
            }
            let broker = matterhook_bus::connect(amqp.amqp_url.expose_secret(), "matterhook-cli")
                .await
                .context("connecting to RabbitMQ")?;
            let publisher = matterhook_bus::Publisher::new(&broker, 1).await?;
            let report = ops::replay(
                &pool,
                &publisher,
                &selection,
                &target.actor,
                again,
                progress,
            )
            .await?;
            finish("replayed", &report);
            Ok(())
        }
        DlqCommand::Discard { target } => {
            let selection = target.selection()?;
            if dry_run(&pool, &selection, &target, "discard").await? {
                return Ok(());
            }
            let report = ops::discard(&pool, &selection, &target.actor, progress).await?;
            finish("discarded", &report);
            Ok(())
        }
    }
}

/// Counts first; with `--dry-run`, stops there.
async fn dry_run(
    pool: &PgPool,
    selection: &Selection,
    target: &Target,
    verb: &str,
) -> anyhow::Result<bool> {
    let n = ops::count(pool, selection).await?;
    println!("{n} dead letter(s) selected to {verb}");
    Ok(target.dry_run)
}

fn progress(report: &Report) {
    eprintln!(
        "  … {} of {} done, {} skipped",
        report.done, report.matched, report.skipped
    );
}

fn finish(verb: &str, report: &Report) {
    println!(
        "{verb} {} of {} (skipped {} not in state dead; use --again to include them)",
        report.done, report.matched, report.skipped
    );
}

async fn list(
    pool: &PgPool,
    filter: &dead_letters::Filter,
    after: i64,
    limit: i64,
) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    let rows = dead_letters::list(&mut conn, filter, after, limit).await?;
    println!(
        "{:>8}  {:<9}  {:<28}  {:<24}  {:>4}  {:<20}  reason: error",
        "id", "state", "queue", "model.event", "try", "last failure"
    );
    for r in &rows {
        let what = format!(
            "{}.{}",
            r.model.map_or("?", Model::as_str),
            r.event.as_deref().unwrap_or("?")
        );
        let error: String = r.error.chars().take(80).collect();
        println!(
            "{:>8}  {:<9}  {:<28}  {:<24}  {:>4}  {:<20}  {}: {}",
            r.id,
            r.state,
            r.queue,
            what,
            r.attempts,
            r.last_failed_at.format("%Y-%m-%d %H:%M:%S"),
            r.reason,
            error
        );
    }
    match rows.last() {
        Some(last) if rows.len() as i64 == limit => println!("next page: --after {}", last.id),
        _ => println!("({} row(s), end of list)", rows.len()),
    }
    Ok(())
}

async fn show(pool: &PgPool, id: i64) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    let Some(row) = dead_letters::by_ids(&mut conn, &[id]).await?.pop() else {
        bail!("no dead letter {id}")
    };
    println!("{}", serde_json::to_string_pretty(&row)?);
    Ok(())
}
