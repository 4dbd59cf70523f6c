//! The API's one error type: logs the cause once, answers a clear JSON error.

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
    /// Our fault, or a dependency's.
    #[error("internal error")]
    Internal(String),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Rejected { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "request failed");
        }
        let code = match self {
            ApiError::Rejected { code, .. } => Some(*code),
            _ => None,
        };
        HttpResponse::build(self.status_code())
            .json(serde_json::json!({"error": self.to_string(), "code": code}))
    }
}

/// Anything internal.
pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}
