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
    #[error("database")]
    Database(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
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
    #[error("configuration")]
    Config(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Something we hold or were given is not usable: what, and why when known.
    #[error("{what}")]
    Unexpected {
        /// What was wrong.
        what: String,
        /// The cause, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ConnectionError {
    /// Something unusable, without a further cause.
    pub fn unexpected(what: impl Into<String>) -> Self {
        Self::Unexpected {
            what: what.into(),
            source: None,
        }
    }
}
