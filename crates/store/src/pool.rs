//! The async connection pool every service uses.
//!
//! Two limits keep one stuck dependency from stalling a whole service: a caller waits at most
//! [`PoolOptions::wait_timeout`] for a connection (then gets an error it can retry or answer 503
//! to, instead of queueing forever), and every statement is cancelled by PostgreSQL after
//! [`PoolOptions::statement_timeout`] (a runaway query or a lock held by a crashed peer cannot
//! hold a connection, and the transaction around it, indefinitely).

use std::time::Duration;

use deadpool::Runtime;
use diesel::ConnectionError;
use diesel_async::{
    pooled_connection::{deadpool::Pool, AsyncDieselConnectionManager, ManagerConfig},
    AsyncConnection, AsyncPgConnection, SimpleAsyncConnection,
};

/// A pool of PostgreSQL connections.
pub type PgPool = Pool<AsyncPgConnection>;

/// Why the pool could not be built.
pub type PoolError = diesel_async::pooled_connection::deadpool::BuildError;

/// How long a caller waits for a free connection by default.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one statement may run by default.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How a pool behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Connections at most (they open lazily).
    pub max_size: usize,
    /// The longest a caller waits for a connection (and for a new one to open).
    pub wait_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every connection.
    pub statement_timeout: Duration,
}

impl PoolOptions {
    /// `max_size` connections with the default timeouts.
    pub fn new(max_size: usize) -> Self {
        Self {
            max_size,
            wait_timeout: WAIT_TIMEOUT,
            statement_timeout: STATEMENT_TIMEOUT,
        }
    }
}

/// A pool of at most `max_size` connections to `database_url`, with the default timeouts.
pub fn connect_pool(database_url: &str, max_size: usize) -> Result<PgPool, PoolError> {
    connect_pool_with(database_url, PoolOptions::new(max_size))
}

/// A pool as `options` say.
pub fn connect_pool_with(database_url: &str, options: PoolOptions) -> Result<PgPool, PoolError> {
    let statement_ms = options.statement_timeout.as_millis();
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        Box::pin(async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            conn.batch_execute(&format!("SET statement_timeout = {statement_ms}"))
                .await
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(options.max_size)
        .wait_timeout(Some(options.wait_timeout))
        .create_timeout(Some(options.wait_timeout))
        .runtime(Runtime::Tokio1)
        .build()
}
