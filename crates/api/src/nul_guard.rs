//! Refuses a NUL character anywhere in a request's path, query string or JSON body, before any
//! handler.
//!
//! PostgreSQL's text cannot hold NUL, so a `%00` that reached a filter or a search would fail
//! in the database and answer 500; no field of this API accepts it, so the request is the
//! caller's mistake and gets a 400 that says so. Percent-encoding is the only way a NUL can be
//! in a URL (a raw one is refused by the HTTP parser), and the escape `\u0000` the only way in
//! JSON text (a raw control character is invalid JSON).

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web::Bytes,
};

use crate::error::ApiError;

/// Whether a raw (still percent-encoded) path or query holds an encoded NUL.
fn holds_nul(raw: &str) -> bool {
    raw.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

/// Whether JSON text holds the escape `\u0000` (an escaping backslash: one preceded by an even
/// number of backslashes).
fn json_holds_nul(body: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &b) in body.iter().enumerate() {
        if b == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && b == b'u' && body[i + 1..].starts_with(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// The middleware: 400 for an encoded NUL in the path, the query string or a JSON body.
pub(crate) async fn refuse_nul(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if holds_nul(req.uri().path()) || holds_nul(req.query_string()) {
        return Err(refused("the URL"));
    }
    let json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    if json {
        // The body is read here and handed back for the handler's own extractor (which
        // enforces the size limit).
        let body = req.extract::<Bytes>().await?;
        if json_holds_nul(&body) {
            return Err(refused("the JSON body"));
        }
        req.set_payload(actix_web::dev::Payload::from(body));
    }
    next.call(req).await
}

fn refused(place: &str) -> actix_web::Error {
    ApiError::BadRequest(format!(
        "{place} holds a NUL character, which no field accepts"
    ))
    .into()
}

#[cfg(test)]
mod tests {
    use super::holds_nul;

    #[test]
    fn only_an_encoded_nul_is_refused() {
        assert!(holds_nul("q=a%00b"));
        assert!(holds_nul("%00"));
        assert!(
            !holds_nul("q=a%2500b"),
            "an encoded percent sign followed by 00 is text"
        );
        assert!(!holds_nul("q=100%20off&limit=100"));
        assert!(!holds_nul(""));
    }

    #[test]
    fn only_an_escaped_nul_in_json_is_refused() {
        use super::json_holds_nul;
        assert!(json_holds_nul(br#"{"name": "a\u0000b"}"#));
        assert!(
            json_holds_nul(br#"{"name": "\\\u0000"}"#),
            "an escaped backslash, then NUL"
        );
        assert!(
            !json_holds_nul(br#"{"name": "\\u0000"}"#),
            "the text \\u0000, not a NUL"
        );
        assert!(!json_holds_nul(br#"{"name": "a\u00e9"}"#));
        assert!(!json_holds_nul(br#"{"n": 0000}"#));
    }
}
