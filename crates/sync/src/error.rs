//! How sync work fails, classified by what happens next.

use std::time::Duration;

use matterhook_clio::ClioError;
use matterhook_connections::{CallError, TokenError};

/// A failed batch or sweep.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool: {0}")]
    Pool(String),
    /// The connection has no usable token (or no longer exists).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Clio failed or refused.
    #[error(transparent)]
    Clio(#[from] ClioError),
    /// Clio answered something we will not store.
    #[error("unexpected answer from Clio: {0}")]
    Unexpected(String),
}

impl From<CallError> for SyncError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Token(t) => Self::Token(t),
            CallError::Clio(c) => Self::Clio(c),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for SyncError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Pool(e.to_string())
    }
}

/// What a failure means for the work that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Clio's rate limit for this connection's token: hold only this connection's work.
    Throttled(Duration),
    /// The connection needs its user (reauthorization, disconnected): leave the work parked
    /// until a reconnect.
    Parked,
    /// May pass: retry with backoff, dead-letter after the last attempt.
    Transient,
    /// Will not pass as it is: dead-letter now.
    Permanent,
}

impl SyncError {
    /// What should happen to the work.
    pub fn verdict(&self) -> Verdict {
        match self {
            SyncError::Clio(ClioError::RateLimited { retry_after }) => {
                Verdict::Throttled(*retry_after)
            }
            // A token that does not open with the configured key waits for an operator (the right
            // `MATTERHOOK_ENCRYPTION_KEY`) or a reconnect, like one Clio refused.
            SyncError::Token(
                TokenError::NeedsReauth(_)
                | TokenError::Disconnected(_)
                | TokenError::NotFound(_)
                | TokenError::Sealed(_),
            ) => Verdict::Parked,
            SyncError::Token(_) | SyncError::Database(_) | SyncError::Pool(_) => Verdict::Transient,
            // A 401 even after a refresh: Clio's side may still be settling.
            SyncError::Clio(ClioError::Unauthorized { .. }) => Verdict::Transient,
            SyncError::Clio(c) if c.is_transient() => Verdict::Transient,
            SyncError::Clio(_) | SyncError::Unexpected(_) => Verdict::Permanent,
        }
    }
}
