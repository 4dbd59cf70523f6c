//! How sync work fails, classified by what happens next.

use std::time::Duration;

use matterhook_clio::ClioError;
use matterhook_connections::{CallError, TokenError};

/// A failed batch or sweep.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store failed.
    #[error("database")]
    Database(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// The connection has no usable token (or no longer exists).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Clio failed or refused.
    #[error(transparent)]
    Clio(#[from] ClioError),
    /// Clio answered a record we cannot read.
    #[error("unreadable record from Clio")]
    Unreadable(#[source] serde_json::Error),
    /// Clio answered a record without a usable id: nothing to store half-understood.
    #[error("a record from Clio without an id")]
    NoId,
    /// Users and custom field definitions are swept whole, never re-read by id.
    #[error("{0} records are not re-read one by one")]
    NotPerRecord(matterhook_domain::Model),
    /// A batch's task panicked (its transaction rolled back).
    #[error("the batch panicked")]
    Panicked(#[from] tokio::task::JoinError),
}

impl From<CallError> for SyncError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Token(t) => Self::Token(t),
            CallError::Clio(c) => Self::Clio(c),
        }
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
    /// Whether Clio failed to answer (5xx, timeout): counted by the connection's circuit.
    pub fn is_clio_outage(&self) -> bool {
        matches!(self, SyncError::Clio(c) if c.is_outage())
    }

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
            SyncError::Token(_)
            | SyncError::Database(_)
            | SyncError::Pool(_)
            | SyncError::Panicked(_) => Verdict::Transient,
            // A 401 even after a refresh: Clio's side may still be settling.
            SyncError::Clio(ClioError::Unauthorized { .. }) => Verdict::Transient,
            SyncError::Clio(c) if c.is_transient() => Verdict::Transient,
            SyncError::Clio(_)
            | SyncError::Unreadable(_)
            | SyncError::NoId
            | SyncError::NotPerRecord(_) => Verdict::Permanent,
        }
    }
}
