//! Failures of connection operations other than getting a token.

use matterhook_clio::{oauth::OAuthError, ClioError};

use crate::TokenError;

/// A failed connect, disconnect or subscription operation.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// No such connection (or not the caller's).
    #[error("no such connection")]
    NotFound,
    /// The store failed.
    #[error("database: {0}")]
    Database(String),
    /// Clio's OAuth endpoint failed or refused.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// A Clio API call failed.
    #[error(transparent)]
    Clio(#[from] ClioError),
    /// No usable token.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// Clio's answer lacked what we need.
    #[error("unexpected answer from Clio: {0}")]
    Unexpected(String),
}

impl From<diesel::result::Error> for ConnectionError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Database(e.to_string())
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ConnectionError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Database(e.to_string())
    }
}
