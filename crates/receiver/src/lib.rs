//! The webhook receiver.
//!
//! `POST /webhooks/clio/{token}`: the token names one of our subscriptions, so neither the
//! handshake nor a delivery needs anything from the body to find it.
//! - A handshake (`X-Hook-Secret`) is accepted only while the subscription awaits one: the secret
//!   is stored encrypted and echoed back. Otherwise 403, and nothing changes.
//! - A delivery must be at most 1 MiB (413), signed with the subscription's secret (401), a
//!   well-formed Clio body (400), for the subscription's Clio webhook and one of its events (422).
//!   It is published as an [`Envelope`](matterhook_bus::Envelope) and answered 200 only once the
//!   broker confirmed it; otherwise 503 with `Retry-After`, so Clio retries.
//! - A deleted subscription answers 410 (Clio then disables the webhook); an unknown token, 404.
//!
//! `GET /healthz` (the process is up), `GET /readyz` (broker and database reachable, schema
//! current), `GET /metrics` (Prometheus; [`matterhook_telemetry`]). Every request runs in a root
//! span carrying its request id, which the envelope carries on to the workers.

mod delivery;
pub mod parse;
mod subscriptions;

use std::{net::TcpListener, time::Duration};

use actix_web::{dev::Service, web, App, HttpServer};
use matterhook_bus::Publisher;
use matterhook_crypto::Cipher;
use matterhook_store::PgPool;
use matterhook_telemetry::{health, request, Metrics, Readiness, ReceiverOutcome, Telemetry};

pub use subscriptions::SubscriptionCache;

/// Largest body Clio may send us.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a looked-up subscription (and its secret) is trusted before it is read again: a
/// deleted or rotated secret takes effect within this.
pub const SUBSCRIPTION_TTL: Duration = Duration::from_secs(5);

/// What the receiver needs from the outside world.
#[derive(Clone)]
pub struct Deps {
    /// The database.
    pub pool: PgPool,
    /// Confirmed publishing (its connection's state is the receiver's broker readiness).
    pub publisher: Publisher,
    /// Opens subscription secrets.
    pub cipher: Cipher,
    /// The AMQP namespace.
    pub names: matterhook_bus::topology::Names,
    /// Where requests are counted (the process's registry, served at `/metrics`).
    pub metrics: Metrics,
}

pub(crate) struct AppState {
    /// Computed once: the exchange every event goes to.
    pub events_exchange: String,
    pub deps: Deps,
    pub subscriptions: SubscriptionCache,
    pub metrics: Metrics,
}

/// Builds the server on `listener`. Await the returned server to run it; its handle stops it
/// gracefully (requests in flight finish).
pub fn server(
    listener: TcpListener,
    deps: Deps,
    workers: usize,
) -> std::io::Result<actix_web::dev::Server> {
    let publisher = deps.publisher.clone();
    let telemetry = Telemetry::new(
        deps.metrics.clone(),
        Readiness::new()
            .broker(move || publisher.connected())
            .database(deps.pool.clone()),
    );
    let health = health::routes(telemetry);
    let state = web::Data::new(AppState {
        events_exchange: deps.names.events_exchange(),
        subscriptions: SubscriptionCache::new(
            deps.pool.clone(),
            deps.cipher.clone(),
            SUBSCRIPTION_TTL,
        ),
        metrics: deps.metrics.clone(),
        deps,
    });
    let server = HttpServer::new(move || {
        let counted = state.clone();
        App::new()
            // Bodies over the limit are refused by actix before any handler: count them here.
            .wrap_fn(move |req, service| {
                let state = counted.clone();
                let answer = service.call(req);
                async move {
                    let response = answer.await?;
                    if response.status() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                        state.metrics.receiver_request(ReceiverOutcome::Refused);
                    }
                    Ok(response)
                }
            })
            // Outermost: the root span covers the body limit's refusals too.
            .wrap(request::tracing())
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            // A webhook URL takes POST only: 405 with `Allow: POST` for anything else.
            .service(
                web::resource("/webhooks/clio/{token}")
                    .route(web::post().to(delivery::receive))
                    .default_service(web::to(delivery::not_allowed)),
            )
            .configure(health.clone())
    })
    .workers(workers.max(1))
    .disable_signals()
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}
