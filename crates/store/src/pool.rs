//! The async connection pool every service uses.

use diesel_async::{
    pooled_connection::{deadpool::Pool, AsyncDieselConnectionManager},
    AsyncPgConnection,
};

/// A pool of PostgreSQL connections.
pub type PgPool = Pool<AsyncPgConnection>;

/// Why the pool could not be built.
pub type PoolError = diesel_async::pooled_connection::deadpool::BuildError;

/// A pool of at most `max_size` connections to `database_url`. Connections open lazily.
pub fn connect_pool(database_url: &str, max_size: usize) -> Result<PgPool, PoolError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(database_url);
    Pool::builder(manager).max_size(max_size).build()
}
