//! Clio's two error shapes, and the error type handlers return.

use actix_web::{http::StatusCode, HttpResponse};
use serde_json::json;

/// An API error in Clio's `{"error":{"type","message"}}` envelope. Handlers return it with `?`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

/// What an API handler returns.
pub(crate) type Reply = Result<HttpResponse, ApiError>;

impl From<ApiError> for HttpResponse {
    fn from(e: ApiError) -> Self {
        actix_web::ResponseError::error_response(&e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.kind,
            self.message
        )
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .json(json!({"error": {"type": self.kind, "message": self.message}}))
    }
}

/// Any API error.
pub(crate) fn clio_error(
    status: StatusCode,
    kind: &'static str,
    message: impl Into<String>,
) -> ApiError {
    ApiError {
        status,
        kind,
        message: message.into(),
    }
}

/// OAuth's `{"error", "error_description"}`.
pub(crate) fn oauth_error(status: StatusCode, code: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": code, "error_description": description}))
}

/// A JSON request body, read after authentication (so a bad token is a 401 whatever the body).
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        clio_error(
            StatusCode::BAD_REQUEST,
            "ArgumentError",
            format!("malformed JSON body: {e}"),
        )
    })
}

/// 404 as Clio words it.
pub(crate) fn not_found() -> ApiError {
    clio_error(StatusCode::NOT_FOUND, "NotFoundError", "Not Found")
}

/// 422 `ArgumentError`, Clio's answer to a bad parameter.
pub(crate) fn argument_error(message: impl std::fmt::Display) -> ApiError {
    clio_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "ArgumentError",
        format!("An invalid argument was supplied: {message}"),
    )
}

/// 400 for a refused `fields=`.
pub(crate) fn bad_fields(err: crate::schema::FieldsError) -> ApiError {
    clio_error(
        StatusCode::BAD_REQUEST,
        "InvalidFieldsError",
        err.to_string(),
    )
}
