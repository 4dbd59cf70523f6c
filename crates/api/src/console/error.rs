//! The console's errors, as pages: a person reads them, not a program.

use actix_web::{http::header, http::StatusCode, HttpResponse, ResponseError};
use maud::html;

use super::layout;

/// What went wrong, as the person at the console sees it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConsoleError {
    /// No session (or it ended): sign in. A page asked for is a redirect to the login; an
    /// action is refused and changes nothing.
    #[error("sign in to use the support console")]
    SignIn {
        /// Whether the request was a page (redirect) rather than an action (refuse).
        page: bool,
    },
    /// Signed in, but the form did not carry this session's token, or came from another site.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The request is malformed: a filter that does not parse, a missing field.
    #[error("{0}")]
    BadRequest(String),
    /// No such thing.
    #[error("not found")]
    NotFound,
    /// Already done: the request would repeat it.
    #[error("{0}")]
    Conflict(&'static str),
    /// Ours.
    #[error("something went wrong on our side; it has been logged")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ConsoleError {
    /// Anything of ours.
    pub(crate) fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(e.into())
    }
}

impl From<diesel::result::Error> for ConsoleError {
    fn from(e: diesel::result::Error) -> Self {
        Self::internal(e)
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ConsoleError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::internal(e)
    }
}

impl From<matterhook_bus::dead_letters::OperationError> for ConsoleError {
    fn from(e: matterhook_bus::dead_letters::OperationError) -> Self {
        Self::internal(e)
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn { page: true } => StatusCode::SEE_OTHER,
            Self::SignIn { page: false } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(error = %matterhook_telemetry::Chain(&**cause), "console request failed");
        }
        if let Self::SignIn { page: true } = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, super::LOGIN_PATH))
                .finish();
        }
        let status = self.status_code();
        let body = layout::bare(
            status.canonical_reason().unwrap_or("Error"),
            html! {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p.error { (self.to_string()) }
                p { a href=(super::HOME_PATH) { "Back to the console" } }
            },
        );
        let mut page = HttpResponse::build(status);
        layout::page_headers(&mut page);
        page.body(body.into_string())
    }
}
