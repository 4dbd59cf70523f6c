//! Clio's two error shapes.

use actix_web::{http::StatusCode, HttpResponse};
use serde_json::json;

/// The API's `{"error":{"type","message"}}`.
pub(crate) fn clio_error(status: StatusCode, kind: &str, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": {"type": kind, "message": message.into()}}))
}

/// OAuth's `{"error", "error_description"}`.
pub(crate) fn oauth_error(status: StatusCode, code: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": code, "error_description": description}))
}

/// 404 as Clio words it.
pub(crate) fn not_found() -> HttpResponse {
    clio_error(StatusCode::NOT_FOUND, "NotFoundError", "Not Found")
}

/// 422 `ArgumentError`, Clio's answer to a bad parameter.
pub(crate) fn argument_error(message: impl std::fmt::Display) -> HttpResponse {
    clio_error(StatusCode::UNPROCESSABLE_ENTITY, "ArgumentError", format!("An invalid argument was supplied: {message}"))
}

/// 400 for a refused `fields=`.
pub(crate) fn bad_fields(err: crate::schema::FieldsError) -> HttpResponse {
    clio_error(StatusCode::BAD_REQUEST, "InvalidFieldsError", err.to_string())
}
