//! A root span per HTTP request, carrying the request's id.
//!
//! The id is the caller's `X-Request-Id` when it is a plausible one (1 to 64 letters, digits, `-`
//! or `_`), else a fresh UUID. Handlers read it with [`request_id`]; every log line inside the
//! request carries it through the span, so nobody passes it to log calls by hand.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    Error, HttpMessage, HttpRequest,
};
use tracing::Span;
use tracing_actix_web::{RootSpanBuilder, TracingLogger};

/// The request's id, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Whether a caller's id is one we keep (it ends up in logs and messages).
fn plausible(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The id of `req`: the one the root span was opened with.
pub fn request_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Builds the root span: method, route pattern (never the path: the receiver's carries a
/// subscription token), request id, and the status once known.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = request
            .headers()
            .get("X-Request-Id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| plausible(v))
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            route = request.match_pattern().as_deref().unwrap_or("unmatched"),
            request_id = %id,
            status = tracing::field::Empty,
        );
        request.extensions_mut().insert(RequestId(id));
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.response().status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
        let _entered = span.enter();
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), "answered with a server error");
        } else {
            tracing::debug!(status = status.as_u16(), "answered");
        }
    }
}

/// The middleware: `App::new().wrap(request::tracing())`.
pub fn tracing() -> TracingLogger<RequestSpan> {
    TracingLogger::<RequestSpan>::new()
}

#[cfg(test)]
mod tests {
    use super::plausible;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(plausible("abc-123_X"));
        assert!(!plausible(""));
        assert!(!plausible(&"a".repeat(65)));
        assert!(!plausible("a b"));
        assert!(!plausible("a\nb"));
    }
}
