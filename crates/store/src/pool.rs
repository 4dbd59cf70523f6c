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
    pooled_connection::{
        deadpool::Pool, AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
    },
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
    /// Generic plans for every prepared statement (`plan_cache_mode = force_generic_plan`): for a
    /// pool whose few statements are index probes run thousands of times a second, where
    /// PostgreSQL's default kept re-planning each call (custom plans look cheaper to it) at
    /// several times the cost of running it.
    pub generic_plans: bool,
}

impl PoolOptions {
    /// `max_size` connections with the default timeouts.
    pub fn new(max_size: usize) -> Self {
        Self {
            max_size,
            wait_timeout: WAIT_TIMEOUT,
            statement_timeout: STATEMENT_TIMEOUT,
            generic_plans: false,
        }
    }
}

/// How long PostgreSQL lets a connection sit idle inside a transaction before ending it.
const IDLE_IN_TRANSACTION_MS: u64 = 300_000;

/// A pool of at most `max_size` connections to `database_url`, with the default timeouts.
pub fn connect_pool(database_url: &str, max_size: usize) -> Result<PgPool, PoolError> {
    connect_pool_with(database_url, PoolOptions::new(max_size))
}

/// A pool as `options` say.
pub fn connect_pool_with(database_url: &str, options: PoolOptions) -> Result<PgPool, PoolError> {
    let statement_ms = options.statement_timeout.as_millis();
    let plans = if options.generic_plans {
        "; SET plan_cache_mode = force_generic_plan"
    } else {
        ""
    };
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    // A checkout is not a round trip: the default (`Verified`) sent `SELECT 1` before every
    // use, doubling a one-statement request's trips. `Fast` still drops a connection whose
    // socket has closed (a PostgreSQL restart) or whose transaction was left broken.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        Box::pin(async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            // A transaction abandoned mid-way (a worker gives up on messages in flight when its
            // broker connection dies) holds its locks until its connection is next checked out:
            // the server ends it after five idle minutes instead (longer than any wait for Clio
            // a handler may do inside its transaction).
            conn.batch_execute(&format!(
                "SET statement_timeout = {statement_ms}; \
                 SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_MS}{plans}"
            ))
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
