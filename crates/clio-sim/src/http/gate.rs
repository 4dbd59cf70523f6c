//! What every `/api/v4` call goes through before its handler: the bearer token, the call count,
//! injected faults, the per-token rate window (whose `X-RateLimit-*` headers go on every answer),
//! and the user's permissions.

use std::time::Duration;

use actix_web::{
    http::{header, Method, StatusCode},
    HttpRequest, HttpResponse,
};

use super::errors::{clio_error, oauth_error, Reply};
use crate::{faults::ApiFaultKind, state::Window, Sim};

/// Who is calling.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub user_id: i64,
    pub account_id: i64,
}

const INVALID_TOKEN: &str =
    "The access token provided is expired, revoked, malformed or invalid for other reasons.";

struct RateHeaders {
    limit: u32,
    remaining: u32,
    reset: i64,
}

enum Admission {
    Go(Caller),
    Answer(HttpResponse),
    Hang,
    /// Apply the write, then hang: the answer is lost.
    GoThenHang(Caller),
}

/// Runs `handler` for an authorised call to `resource`, with rate headers on whatever comes back.
pub(crate) async fn guarded(
    sim: &Sim,
    req: &HttpRequest,
    resource: &str,
    handler: impl FnOnce(&Caller) -> Reply,
) -> HttpResponse {
    if let Some(version) = req.headers().get("X-API-VERSION") {
        // Clio answers 410 for a version it does not serve; absent, it picks its default.
        let known = version
            .to_str()
            .is_ok_and(|v| v.starts_with("4.0.") && v[4..].parse::<u32>().is_ok());
        if !known {
            return clio_error(
                StatusCode::GONE,
                "ApiVersionError",
                "Unsupported X-API-VERSION",
            )
            .into();
        }
    }
    let Some(token) = bearer(req) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", INVALID_TOKEN);
    };
    let versioned = req.headers().contains_key("X-API-VERSION");
    let write = !matches!(*req.method(), Method::GET | Method::HEAD);
    let (admission, rate) = admit(sim, &token, resource, versioned, write);
    let hang = || async {
        tokio::time::sleep(sim.config().timeout_fault_delay).await;
        HttpResponse::GatewayTimeout().finish()
    };
    let mut response = match admission {
        Admission::Go(caller) => handler(&caller).unwrap_or_else(Into::into),
        Admission::Answer(r) => r,
        Admission::Hang => hang().await,
        Admission::GoThenHang(caller) => {
            // Applied: whatever it answered is lost on the way back.
            drop(handler(&caller));
            hang().await
        }
    };
    if let Some(rate) = rate {
        let h = response.headers_mut();
        for (name, value) in [
            ("x-ratelimit-limit", rate.limit.to_string()),
            ("x-ratelimit-remaining", rate.remaining.to_string()),
            ("x-ratelimit-reset", rate.reset.to_string()),
        ] {
            if let Ok(v) = header::HeaderValue::from_str(&value) {
                h.insert(header::HeaderName::from_static(name), v);
            }
        }
    }
    response
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn admit(
    sim: &Sim,
    token: &str,
    resource: &str,
    versioned: bool,
    write: bool,
) -> (Admission, Option<RateHeaders>) {
    let config = sim.config();
    let mut state = sim.shared().state.lock();
    let now = state.now();
    let user_id = match state.access_tokens.get(token) {
        Some(t) if t.expires_at > now => state
            .grants
            .get(&t.grant)
            .filter(|g| !g.revoked)
            .map(|g| g.user_id),
        _ => None,
    };
    let Some((user_id, account_id)) = user_id.and_then(|u| state.user_account(u).map(|a| (u, a)))
    else {
        return (
            Admission::Answer(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                INVALID_TOKEN,
            )),
            None,
        );
    };
    let stats = state.calls.entry(token.to_owned()).or_default();
    stats.total += 1;
    stats.versioned += u64::from(versioned);

    let window_length =
        chrono::Duration::from_std(config.rate_window).unwrap_or(chrono::Duration::seconds(60));
    let window = state.windows.entry(token.to_owned()).or_insert(Window {
        ends_at: now + window_length,
        used: 0,
    });
    if window.ends_at <= now {
        *window = Window {
            ends_at: now + window_length,
            used: 0,
        };
    }
    window.used += 1;
    let over = window.used > config.rate_limit;
    let until_reset = (window.ends_at - now).to_std().unwrap_or_default();
    let rate = RateHeaders {
        limit: config.rate_limit,
        remaining: config.rate_limit.saturating_sub(window.used),
        // Whole seconds, rounded up, so a client that waits for it is never early.
        reset: window.ends_at.timestamp() + i64::from(window.ends_at.timestamp_subsec_nanos() > 0),
    };

    if let Some(fault) = state.faults.take_api(token, write) {
        let admission = match fault.kind {
            ApiFaultKind::RateLimit => {
                state
                    .calls
                    .entry(token.to_owned())
                    .or_default()
                    .rate_limited += 1;
                Admission::Answer(too_many(Duration::from_secs(fault.retry_after_secs)))
            }
            ApiFaultKind::ServerError => Admission::Answer(
                clio_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    "Something went wrong (injected fault)",
                )
                .into(),
            ),
            ApiFaultKind::Timeout => Admission::Hang,
            // A write the user may not make is refused, as without the fault.
            ApiFaultKind::DropAnswer if state.is_denied(user_id, resource) => {
                Admission::Answer(forbidden(resource))
            }
            ApiFaultKind::DropAnswer => Admission::GoThenHang(Caller {
                user_id,
                account_id,
            }),
        };
        return (admission, Some(rate));
    }
    if over {
        state
            .calls
            .entry(token.to_owned())
            .or_default()
            .rate_limited += 1;
        let wait =
            Duration::from_secs(until_reset.as_secs() + u64::from(until_reset.subsec_nanos() > 0));
        return (Admission::Answer(too_many(wait)), Some(rate));
    }
    if state.is_denied(user_id, resource) {
        return (Admission::Answer(forbidden(resource)), Some(rate));
    }
    (
        Admission::Go(Caller {
            user_id,
            account_id,
        }),
        Some(rate),
    )
}

/// 403: the user's role forbids `resource`.
fn forbidden(resource: &str) -> HttpResponse {
    clio_error(
        StatusCode::FORBIDDEN,
        "ForbiddenError",
        format!("You do not have permission to access {resource}"),
    )
    .into()
}

fn too_many(wait: Duration) -> HttpResponse {
    let mut response: HttpResponse = clio_error(
        StatusCode::TOO_MANY_REQUESTS,
        "RateLimited",
        "Rate limit exceeded. Retry later.",
    )
    .into();
    if let Ok(v) = header::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}
