//! Test helpers.
//!
//! [`TestDb`] gives each test its own PostgreSQL database, copied from a template that is migrated
//! once per set of migrations (copying a template is much faster than migrating), and dropped when
//! the test ends. Tests therefore run in parallel, across processes, without seeing each other.
//! `TEST_DATABASE_URL` (default: the local server) names the server; its database part is ignored.

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::{sql_types::Text, QueryableByName, RunQueryDsl};
use diesel_async::{async_connection_wrapper::AsyncConnectionWrapper, AsyncPgConnection};

/// The broker tests use: `AMQP_URL`, as every binary reads it, or the local default.
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| matterhook_config::DEFAULT_AMQP_URL.to_owned())
}

/// The server tests use unless `TEST_DATABASE_URL` says otherwise.
pub const DEFAULT_SERVER_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

/// Prefix of every database this crate creates, so `make test` can sweep leftovers.
pub const TEST_DB_PREFIX: &str = "matterhook_test_";

type SyncConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// A migrated database of one's own, dropped on drop.
#[derive(Debug)]
pub struct TestDb {
    url: String,
    name: String,
    server_url: String,
}

fn server_url() -> String {
    let raw = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_owned());
    with_database(&raw, "postgres")
}

fn with_database(url: &str, name: &str) -> String {
    match url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => url.to_owned(),
    }
}

fn admin(server_url: &str) -> anyhow::Result<SyncConn> {
    use diesel::Connection;
    Ok(SyncConn::establish(server_url)?)
}

/// A template per migration set: a changed set (a name, or an edited `up.sql` while it is being
/// written) gets a new template, never a stale one.
fn template_name() -> String {
    use diesel::migration::MigrationSource;
    let names: Vec<String> =
        MigrationSource::<diesel::pg::Pg>::migrations(&matterhook_store::migrations::MIGRATIONS)
            .map(|ms| ms.iter().map(|m| m.name().to_string()).collect())
            .unwrap_or_default();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for name in &names {
        let up = std::fs::read(dir.join(name).join("up.sql")).unwrap_or_default();
        for byte in name.bytes().chain(up) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
    }
    format!("{TEST_DB_PREFIX}template_{hash:016x}")
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

fn database_exists(conn: &mut SyncConn, name: &str) -> anyhow::Result<bool> {
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(name)
            .get_result(conn)?;
    Ok(found.exists)
}

/// Creates and migrates the template once; an advisory lock makes parallel test processes wait
/// for the first one instead of racing it.
fn ensure_template(server_url: &str, template: &str) -> anyhow::Result<()> {
    let mut conn = admin(server_url)?;
    if database_exists(&mut conn, template)? {
        return Ok(());
    }
    diesel::sql_query("SELECT pg_advisory_lock(746116104)").execute(&mut conn)?;
    let result = (|| -> anyhow::Result<()> {
        if database_exists(&mut conn, template)? {
            return Ok(());
        }
        let building = format!("{template}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{building}\"")).execute(&mut conn)?;
        diesel::sql_query(format!("CREATE DATABASE \"{building}\"")).execute(&mut conn)?;
        {
            use diesel_migrations::MigrationHarness;
            let mut target = admin(&with_database(server_url, &building))?;
            target
                .run_pending_migrations(matterhook_store::migrations::MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("migrating the test template: {e}"))?;
        }
        // Renamed only once complete, so nobody copies a half-migrated template.
        diesel::sql_query(format!(
            "ALTER DATABASE \"{building}\" RENAME TO \"{template}\""
        ))
        .execute(&mut conn)?;
        Ok(())
    })();
    diesel::sql_query("SELECT pg_advisory_unlock(746116104)").execute(&mut conn)?;
    result
}

impl TestDb {
    /// A fresh, migrated database.
    pub async fn new() -> anyhow::Result<Self> {
        tokio::task::spawn_blocking(Self::create_blocking).await?
    }

    /// A fresh, empty database with no migrations applied (for testing migrations themselves).
    pub async fn empty() -> anyhow::Result<Self> {
        tokio::task::spawn_blocking(|| Self::create_from(None)).await?
    }

    fn create_blocking() -> anyhow::Result<Self> {
        let server = server_url();
        let template = template_name();
        ensure_template(&server, &template)?;
        Self::create_from(Some(&template))
    }

    fn create_from(template: Option<&str>) -> anyhow::Result<Self> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let server_url = server_url();
        let name = format!(
            "{TEST_DB_PREFIX}{}_{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .get(..8)
                .unwrap_or_default()
        );
        let mut conn = admin(&server_url)?;
        let sql = match template {
            Some(t) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{t}\""),
            None => format!("CREATE DATABASE \"{name}\""),
        };
        diesel::sql_query(sql).execute(&mut conn)?;
        Ok(Self {
            url: with_database(&server_url, &name),
            name,
            server_url,
        })
    }

    /// The `DATABASE_URL` of this database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Drops the database a URL names (for tests that create one by other means).
pub async fn drop_database(database_url: &str) -> anyhow::Result<()> {
    let name = database_url
        .rsplit_once('/')
        .map(|(_, n)| n.to_owned())
        .unwrap_or_default();
    anyhow::ensure!(
        name.starts_with(TEST_DB_PREFIX),
        "refusing to drop {name}: not a test database"
    );
    let server = server_url();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = admin(&server)?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)?;
        Ok(())
    })
    .await?
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (server, name) = (self.server_url.clone(), self.name.clone());
        // Drop may run inside an async runtime, where blocking is not allowed: use a thread.
        let _ = std::thread::spawn(move || -> anyhow::Result<()> {
            let mut conn = admin(&server)?;
            diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)?;
            Ok(())
        })
        .join();
    }
}

/// A dead letter of a `model`.`event` event that failed on `queue`, for tests that seed the store.
pub fn dead_letter(
    queue: &str,
    model: &str,
    event: &str,
    connection_id: i64,
    reason: &str,
    error: &str,
) -> matterhook_store::dead_letters::NewDeadLetter {
    let now = chrono::Utc::now();
    matterhook_store::dead_letters::NewDeadLetter {
        dead_letter_id: uuid::Uuid::new_v4().to_string(),
        queue: queue.into(),
        routing_key: format!("clio.{model}.{event}"),
        event_id: uuid::Uuid::new_v4().simple().to_string(),
        envelope: serde_json::json!({"version": 1, "event": event}),
        model: Some(matterhook_domain::Model::parse(model).expect("a model name")),
        event: Some(event.into()),
        connection_id: Some(connection_id),
        reason: reason.into(),
        error: error.into(),
        attempts: 6,
        first_failed_at: now,
        last_failed_at: now,
        headers: serde_json::json!({}),
    }
}
