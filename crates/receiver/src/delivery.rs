//! `POST /webhooks/clio/{token}`: handshakes and deliveries.

use std::time::Instant;

use actix_web::{
    http::{header::HeaderValue, StatusCode},
    web, HttpRequest, HttpResponse,
};
use matterhook_bus::PublishError;
use matterhook_clio::verify_signature;
use matterhook_store::subscriptions as store;
use matterhook_telemetry::{request, Chain, ReceiverOutcome as Outcome};
use secrecy::{ExposeSecret, SecretString};

use crate::{parse, subscriptions::Subscription, AppState};

/// How long Clio should wait before retrying when we could not take a delivery.
const RETRY_AFTER_SECS: &str = "5";

fn answer(
    state: &AppState,
    status: StatusCode,
    outcome: Outcome,
    request_id: &str,
    message: &str,
) -> HttpResponse {
    state.metrics.receiver_request(outcome);
    let mut response = HttpResponse::build(status).json(serde_json::json!({ "error": message }));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        response
            .headers_mut()
            .insert("x-request-id".parse().expect("valid header name"), v);
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    response
}

/// 503 with `Retry-After`: we could not make the event durable now, so Clio retries it later.
fn unavailable(state: &AppState, request_id: &str) -> HttpResponse {
    answer(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        Outcome::Unavailable,
        request_id,
        "try again later",
    )
}

/// Any other method than POST on a webhook URL.
pub(crate) async fn not_allowed(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let request_id = request::request_id(&req);
    let mut refused = answer(
        &state,
        StatusCode::METHOD_NOT_ALLOWED,
        Outcome::Refused,
        &request_id,
        "a webhook URL takes POST only",
    );
    refused.headers_mut().insert(
        actix_web::http::header::ALLOW,
        HeaderValue::from_static("POST"),
    );
    refused
}

pub(crate) async fn receive(
    req: HttpRequest,
    token: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let request_id = request::request_id(&req);
    let refuse = |status: StatusCode, message: &str| {
        tracing::info!(
            status = status.as_u16(),
            reason = message,
            "refused a webhook request"
        );
        answer(&state, status, Outcome::Refused, &request_id, message)
    };
    // Our tokens are 32 random bytes in URL-safe base64: anything else is unknown without a lookup,
    // so junk tokens cost neither a query nor a cache entry.
    if token.len() != 43
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return refuse(StatusCode::NOT_FOUND, "unknown webhook");
    }
    let subscription = match state.subscriptions.get(&token).await {
        Ok(Some(s)) => s,
        Ok(None) => return refuse(StatusCode::NOT_FOUND, "unknown webhook"),
        Err(e) => {
            tracing::error!(error = %Chain(&*e), "cannot look up the subscription");
            return unavailable(&state, &request_id);
        }
    };
    if subscription.status == store::DELETED {
        return refuse(StatusCode::GONE, "this webhook was deleted");
    }
    if let Some(secret) = req.headers().get("X-Hook-Secret") {
        return handshake(&state, &token, &subscription, secret, &request_id).await;
    }
    let Some(secret) = subscription
        .secret
        .as_ref()
        .filter(|_| subscription.status == store::ACTIVE)
    else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "this webhook has not completed its handshake",
        );
    };
    let signature = req
        .headers()
        .get("X-Hook-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !verify_signature(secret.expose_secret().as_bytes(), &body, signature) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "missing or invalid X-Hook-Signature",
        );
    }
    // PostgreSQL stores no NUL: workers would fail on one forever (see `without_nul`).
    let clean = matterhook_clio::without_nul(&body);
    let delivery = match parse::parse(&clean) {
        Ok(d) => d,
        // The reason with its cause ("not a Clio webhook body: expected value at line 1").
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &Chain(&e).to_string()),
    };
    let Some(webhook_id) = subscription.clio_webhook_id else {
        // The handshake came before Clio's create call returned: the id is stored within moments.
        // 503 makes Clio retry later instead of dropping a real event.
        tracing::info!(
            subscription = subscription.id,
            "delivery before the webhook id was known"
        );
        // Not worth caching: the next attempt reads the row again.
        state.subscriptions.forget(&token).await;
        return unavailable(&state, &request_id);
    };
    if webhook_id != delivery.webhook_id {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "meta.webhook_id is not this subscription's webhook",
        );
    }
    if !subscription.events.contains(&delivery.event) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "meta.event is not one this subscription receives",
        );
    }
    let event_id = parse::event_id(subscription.id, &body);
    let origin = parse::Origin {
        event_id: &event_id,
        subscription_id: subscription.id,
        connection_id: subscription.connection_id,
        model: subscription.model,
        received_at: chrono::Utc::now(),
        request_id: &request_id,
    };
    publish(&state, &delivery, &origin).await
}

async fn handshake(
    state: &AppState,
    token: &str,
    subscription: &Subscription,
    secret: &HeaderValue,
    request_id: &str,
) -> HttpResponse {
    let refused = || {
        tracing::info!(
            subscription = subscription.id,
            "refused a handshake: none expected"
        );
        answer(
            state,
            StatusCode::FORBIDDEN,
            Outcome::Refused,
            request_id,
            "no handshake is expected for this webhook",
        )
    };
    let Some(secret) = secret
        .to_str()
        .ok()
        .filter(|s| !s.is_empty() && s.len() <= 512)
    else {
        return refused();
    };
    if subscription.status != store::AWAITING_HANDSHAKE {
        return refused();
    }
    let sealed = state.deps.cipher.seal(
        &SecretString::from(secret.to_owned()),
        &store::secret_context(subscription.id),
    );
    let stored: Result<bool, Box<dyn std::error::Error + Send + Sync>> = async {
        let mut conn = state.deps.pool.get().await?;
        Ok(store::complete_handshake(&mut conn, subscription.id, &sealed).await?)
    }
    .await;
    match stored {
        Ok(true) => {
            state.subscriptions.forget(token).await;
            tracing::info!(subscription = subscription.id, "handshake completed");
            state.metrics.receiver_request(Outcome::Handshake);
            HttpResponse::Ok()
                .insert_header(("X-Hook-Secret", secret))
                .insert_header(("X-Request-Id", request_id))
                .finish()
        }
        // Another handshake won the race.
        Ok(false) => refused(),
        Err(e) => {
            tracing::error!(error = %Chain(&*e), "cannot store the handshake secret");
            unavailable(state, request_id)
        }
    }
}

async fn publish(
    state: &AppState,
    delivery: &parse::Delivery<'_>,
    envelope: &parse::Origin<'_>,
) -> HttpResponse {
    let payload = match delivery.envelope(envelope) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %matterhook_telemetry::Chain(&e), "cannot encode an envelope");
            return unavailable(state, envelope.request_id);
        }
    };
    let properties = lapin::BasicProperties::default()
        .with_content_type("application/json".into())
        .with_message_id(envelope.event_id.into())
        .with_correlation_id(envelope.request_id.into())
        .with_headers(matterhook_bus::sent_headers(envelope.received_at));
    let routing_key = matterhook_bus::routing_key(envelope.model, &delivery.event);
    let started = Instant::now();
    let result = state
        .deps
        .publisher
        .publish(&state.events_exchange, &routing_key, &payload, properties)
        .await;
    state
        .metrics
        .receiver_publish(started.elapsed().as_secs_f64());
    match result {
        Ok(()) => {
            tracing::debug!(event_id = %envelope.event_id, "accepted");
            state.metrics.receiver_request(Outcome::Accepted);
            HttpResponse::Ok()
                .insert_header(("X-Request-Id", envelope.request_id))
                .finish()
        }
        Err(e) => {
            if matches!(e, PublishError::Unroutable(_)) {
                tracing::warn!(error = %Chain(&e), "no queue bound for the event");
            } else {
                tracing::error!(error = %Chain(&e), "broker did not take the event");
            }
            unavailable(state, envelope.request_id)
        }
    }
}
