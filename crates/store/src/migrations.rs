//! Embedded migrations and the start-up schema check.
//!
//! Diesel's migration harness is synchronous; diesel-async's `AsyncConnectionWrapper` lets it run
//! over the same pure-Rust PostgreSQL driver the services use (no libpq), on a blocking thread.

use diesel::Connection;
use diesel_async::{async_connection_wrapper::AsyncConnectionWrapper, AsyncPgConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// Every migration in `migrations/`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

type SyncConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// Why migrating or checking failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The database could not be reached (or does not exist).
    #[error("cannot connect to the database")]
    Connect(#[from] diesel::ConnectionError),
    /// The schema lags behind this binary.
    #[error(
        "the database schema is out of date ({} pending migration(s): {}); run `matterhook migrate`",
        pending.len(),
        pending.join(", ")
    )]
    Outdated {
        /// Versions not yet applied.
        pending: Vec<String>,
    },
    /// A migration, or the harness reading which are pending, failed.
    #[error("migration failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A query around the migrations failed.
    #[error("querying the database failed")]
    Query(#[from] diesel::result::Error),
    /// `DATABASE_URL` does not parse.
    #[error("DATABASE_URL is not a URL")]
    Url(#[from] url::ParseError),
    /// `DATABASE_URL` names a database we will not create.
    #[error("unsupported database name {0:?} in DATABASE_URL")]
    DatabaseName(String),
    /// The blocking task running the harness panicked.
    #[error("the migration task panicked")]
    Panicked(#[from] tokio::task::JoinError),
}

async fn with_sync_connection<T: Send + 'static>(
    database_url: &str,
    work: impl FnOnce(&mut SyncConn) -> Result<T, MigrationError> + Send + 'static,
) -> Result<T, MigrationError> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = SyncConn::establish(&url)?;
        work(&mut conn)
    })
    .await?
}

/// Applies every pending migration; returns the versions applied (empty when up to date).
pub async fn run_migrations(database_url: &str) -> Result<Vec<String>, MigrationError> {
    with_sync_connection(database_url, |conn| {
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(MigrationError::Failed)?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .await
}

/// Fails with [`MigrationError::Outdated`], whose message says to run `matterhook migrate`, when
/// any migration is pending.
pub async fn ensure_schema_current(database_url: &str) -> Result<(), MigrationError> {
    let pending = with_sync_connection(database_url, |conn| {
        let pending = conn
            .pending_migrations(MIGRATIONS)
            .map_err(MigrationError::Failed)?;
        Ok(pending
            .iter()
            .map(|m| m.name().to_string())
            .collect::<Vec<_>>())
    })
    .await?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(MigrationError::Outdated { pending })
    }
}

/// Creates the database named in `database_url` when it does not exist yet, connecting to the
/// server's `postgres` database to do so. Returns whether it was created.
pub async fn create_database_if_missing(database_url: &str) -> Result<bool, MigrationError> {
    let mut url = url::Url::parse(database_url)?;
    let name = url.path().trim_start_matches('/').to_owned();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(MigrationError::DatabaseName(name));
    }
    url.set_path("/postgres");
    with_sync_connection(url.as_str(), move |conn| {
        use diesel::{sql_types::Text, QueryableByName, RunQueryDsl};
        #[derive(QueryableByName)]
        struct Exists {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            exists: bool,
        }
        let found: Exists = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists",
        )
        .bind::<Text, _>(&name)
        .get_result(conn)?;
        if found.exists {
            return Ok(false);
        }
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(conn)?;
        Ok(true)
    })
    .await
}

/// The newest embedded migration's version, as `__diesel_schema_migrations` records it.
fn latest_version() -> Option<&'static str> {
    static LATEST: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    LATEST
        .get_or_init(|| {
            diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
                .ok()?
                .iter()
                .map(|m| m.name().version().to_string())
                .max()
        })
        .as_deref()
}

/// Whether the newest migration this binary knows is applied: one cheap query, for readiness
/// probes (the full check at start is [`ensure_schema_current`]).
pub async fn is_current(conn: &mut AsyncPgConnection) -> diesel::QueryResult<bool> {
    use diesel::{sql_types::Text, QueryableByName};
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        applied: bool,
    }
    let Some(latest) = latest_version() else {
        return Ok(true);
    };
    let found: Applied = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM __diesel_schema_migrations WHERE version = $1) AS applied",
    )
    .bind::<Text, _>(latest)
    .get_result(conn)
    .await?;
    Ok(found.applied)
}
