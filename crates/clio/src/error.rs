//! How a call to Clio failed, classified by what the caller should do next.

use std::time::Duration;

/// A failed call to Clio.
#[derive(Debug, thiserror::Error)]
pub enum ClioError {
    /// 401: the access token is expired, revoked or invalid. Refresh it, or reconnect.
    #[error("Clio rejected the access token (401 {code})")]
    Unauthorized {
        /// The OAuth error code, usually `invalid_token`.
        code: String,
    },
    /// 403: the app lacks the permission, or the user's Clio role forbids it.
    #[error("Clio forbids this call (403): {message}")]
    Forbidden {
        /// Clio's message.
        message: String,
    },
    /// 404: the record does not exist (or no longer does).
    #[error("not found in Clio (404)")]
    NotFound,
    /// 412: the record changed since the etag sent in `If-Match`.
    #[error("the record changed in Clio since it was read (412)")]
    PreconditionFailed,
    /// 429, or our own pacing would have to wait longer than allowed: try again after `retry_after`.
    #[error("rate limited by Clio; retry in {retry_after:?}")]
    RateLimited {
        /// How long to wait before the next call with this token.
        retry_after: Duration,
    },
    /// 5xx: Clio failed; retrying later is reasonable.
    #[error("Clio answered {status}")]
    Server {
        /// The HTTP status.
        status: u16,
    },
    /// The request did not get an answer: connection refused, reset or timed out.
    #[error("could not reach Clio")]
    Network(#[source] reqwest::Error),
    /// Any other 4xx: Clio refused the request itself; retrying the same request will not help.
    #[error("Clio refused the request ({status} {kind}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Clio's error type, such as `ArgumentError`.
        kind: String,
        /// Clio's message.
        message: String,
    },
    /// Clio answered something we cannot read: a body that is not the documented shape, or a
    /// paging link that points away from Clio.
    #[error("unexpected answer from Clio: {what}")]
    Unexpected {
        /// What was wrong.
        what: String,
        /// The cause, when there is one (a JSON or URL parse error).
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ClioError {
    /// An unexpected answer, without a further cause.
    pub fn unexpected(what: impl Into<String>) -> Self {
        Self::Unexpected {
            what: what.into(),
            source: None,
        }
    }

    /// An unexpected answer, because of `source`.
    pub fn unexpected_because(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unexpected {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// Whether the same call may succeed later without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClioError::RateLimited { .. } | ClioError::Server { .. } | ClioError::Network(_)
        )
    }

    /// Whether Clio itself failed to answer (a 5xx, no answer at all), as in an outage: the
    /// same call for any record would likely fail too.
    pub fn is_outage(&self) -> bool {
        matches!(self, ClioError::Server { .. } | ClioError::Network(_))
    }

    /// The wait Clio asked for, when it asked for one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClioError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}
