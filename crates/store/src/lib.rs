//! matterhook's PostgreSQL store.
//!
//! - [`schema`]: the Diesel schema of every table (kept in step with `migrations/` by the
//!   round-trip tests in `tests/store.rs`).
//! - [`migrations`]: the embedded migrations, `matterhook migrate`'s work, and the check every
//!   service binary makes at start: it refuses an outdated schema.
//! - [`pool`]: the async connection pool.
//!
//! Query functions take `&mut AsyncPgConnection` rather than the pool, so callers decide where a
//! transaction begins and ends.

pub mod advisory;
pub mod connections;
pub mod dead_letters;
pub mod journal;
pub mod migrations;
pub mod mirror;
pub mod notifications;
pub mod oauth_states;
pub mod outbox;
pub mod pool;
pub mod processed;
pub mod referrals;
pub mod schema;
pub mod subscriptions;
pub mod suggestions;
pub mod sweeps;
pub mod sync_cursors;
pub mod sync_queue;
pub mod users;

pub use diesel_async::AsyncPgConnection;
pub use migrations::{ensure_schema_current, run_migrations, MigrationError};
pub use pool::{connect_pool, connect_pool_with, PgPool, PoolError, PoolOptions};
