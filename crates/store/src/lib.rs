//! matterhook's PostgreSQL store.
//!
//! - [`schema`]: the Diesel schema of every table (`diesel.toml`), held to `migrations/` by a
//!   test that compares every table, column, type, nullability and primary key with the migrated
//!   database (`tests/store.rs`).
//! - [`migrations`]: the embedded migrations, `matterhook migrate`'s work, and the check every
//!   service binary makes at start: it refuses an outdated schema.
//! - [`pool`]: the async connection pool, with a wait timeout and a statement timeout.
//! - [`advisory`]: every advisory lock key, in one place.
//! - [`users`]: matterhook's own users and their API tokens.
//!
//! Query functions take `&mut AsyncPgConnection` rather than the pool, so callers decide where a
//! transaction begins and ends.

pub mod activities;
pub mod activity_writes;
pub mod advisory;
pub mod caller;
pub mod connections;
pub mod console_sessions;
pub mod crm;
pub mod custom_actions;
pub mod dead_letters;
pub mod jobs;
pub mod journal;
pub mod lookup_keys;
pub mod migrations;
pub mod mirror;
pub mod notifications;
pub mod oauth_states;
pub mod outbox;
pub mod pool;
pub mod processed;
pub mod queue_progress;
pub mod referrals;
pub mod review_requests;
pub mod schema;
pub mod settings;
pub mod subscriptions;
pub mod suggestions;
pub mod sweeps;
pub mod sync_circuit;
pub mod sync_cursors;
pub mod sync_queue;
pub mod users;
pub mod wakeups;
pub mod watches;

pub use diesel_async::AsyncPgConnection;
pub use migrations::{ensure_schema_current, run_migrations, MigrationError};
pub use pool::{connect_pool, connect_pool_with, PgPool, PoolError, PoolOptions};
