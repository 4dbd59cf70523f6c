//! The API's one error type: logs the cause once, answers a clear JSON error.
//!
//! The error policy, written once for every edge:
//! - Libraries return `thiserror` errors that keep their causes (`#[source]`); nothing between
//!   the cause and the edge turns an error into a string.
//! - At the HTTP edges (this API, the receiver) a refusal is the caller's fault and answers 4xx
//!   with a message naming what to fix; anything else is ours and answers 500 here (503 with
//!   `Retry-After` at the receiver, so Clio retries), logging the whole cause chain once
//!   ([`matterhook_telemetry::Chain`]) inside the request's span, which carries its request id.
//! - In the consumer runtime a handler's [`HandlerError`](matterhook_bus::HandlerError) decides:
//!   transient (database, network, Clio 5xx/429) retries with backoff, permanent (bad data, a
//!   rule refusing) dead-letters at once, parked waits for a reconnect; the chain is written into
//!   the dead letter.
//! - Binaries' `main` return `anyhow::Result`, whose report prints the chain.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};

/// What went wrong, as the caller should see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No or an unknown bearer token.
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// A valid token without the right.
    #[error("this needs an admin user")]
    Forbidden,
    /// No such thing.
    #[error("not found")]
    NotFound,
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// Refused with a specific status and a stable code.
    #[error("{message}")]
    Rejected {
        /// The status.
        status: StatusCode,
        /// A stable machine-readable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// Past a budget: try again after `retry_after_secs`.
    #[error("too many requests: try again in {retry_after_secs} s")]
    TooManyRequests {
        /// Seconds until the budget allows another.
        retry_after_secs: u64,
    },
    /// Our fault, or a dependency's.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<matterhook_connections::ConnectionError> for ApiError {
    fn from(e: matterhook_connections::ConnectionError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<matterhook_bus::dead_letters::OperationError> for ApiError {
    fn from(e: matterhook_bus::dead_letters::OperationError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Rejected { status, .. } => *status,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = %matterhook_telemetry::Chain(&**cause), "request failed");
        }
        let code = match self {
            ApiError::Rejected { code, .. } => Some(*code),
            _ => None,
        };
        let mut response = HttpResponse::build(self.status_code());
        if let ApiError::TooManyRequests { retry_after_secs } = self {
            response.insert_header((
                actix_web::http::header::RETRY_AFTER,
                retry_after_secs.max(&1).to_string(),
            ));
        }
        response.json(serde_json::json!({"error": self.to_string(), "code": code}))
    }
}

/// Anything internal.
pub(crate) fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ApiError {
    ApiError::Internal(e.into())
}
