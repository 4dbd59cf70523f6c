//! matterhook's HTTP API, described by the OpenAPI document at `/openapi.json`. Requests carry
//! `Authorization: Bearer <token>`; tokens are issued by `matterhook users add` and stored only as
//! SHA-256 hashes. The `/admin` endpoints need an admin user. A NUL character anywhere in a
//! request's URL or JSON body is refused with a 400 before any handler (see `nul_guard`).
//!
//! Connections (each user connects their own Clio account):
//! - `GET /connect/clio?region=us|eu|ca|au` redirects to Clio's consent page;
//! - `GET /oauth/clio/callback` (Clio's redirect) stores the connection and subscribes;
//! - `GET /api/connections`, `POST /api/connections/{id}/disconnect`.
//!
//! Notifications: `GET /api/notifications?unread=true`, `POST /api/notifications/{id}/read`.
//!
//! Referrals (per user; see [`referrals`]): `POST|GET /api/referrals`, `GET /api/referrals/{id}`,
//! `GET /api/referrals/{id}/link-candidates?q=`, `POST /api/referrals/{id}/status`,
//! `POST|DELETE /api/referrals/{id}/link`,
//! `POST /api/referral-suggestions/{id}/confirm|dismiss`, `GET /api/action-queue` and
//! `POST /api/action-queue/{id}/approve|dismiss`.
//!
//! Review requests: `GET /api/review-requests`, `POST /api/review-requests` (manual),
//! `POST /api/review-requests/{id}/sent`; settings at `/api/connections/{id}/settings`. The
//! "Send Review" button inside Clio lands on `GET /clio/actions/send-review` (see
//! [`send_review_page`]).
//!
//! Caller lookup (see [`caller`]): `GET /api/caller-lookup?phone=` with a lookup key or a
//! user's token, `GET /api/staff`, and `POST|GET /api/connections/{id}/lookup-keys`,
//! `DELETE /api/connections/{id}/lookup-keys/{key_id}`.
//!
//! The support console (server-rendered pages for support staff, signed in with an admin's
//! token): `/console` (see [`console`]).
//!
//! Dead letters (for support staff):
//! - `GET /admin/dead-letters` with the filters `state` (default dead; `all`), `queue`, `model`,
//!   `event`, `connection`, `reason`, `since`, `until`, and paging `after`, `limit` (≤ 500);
//! - `GET /admin/dead-letters/{id}`;
//! - `POST /admin/dead-letters/replay` and `POST /admin/dead-letters/discard` with
//!   `{"ids": [...]}` or `{"filter": {...}}`, and `dry_run` (count only), `again` (replay).

mod actions;
mod activities;
mod auth;
mod caller;
mod connect_page;
mod connections;
mod console;
mod crm;
mod dead_letters;
mod error;
mod notifications;
mod nul_guard;
mod openapi;
mod paging;
mod referrals;
mod review_requests;
mod send_review_page;
mod settings;
mod suggestions;
mod watches;

pub use connect_page::AppLink;

use std::net::TcpListener;

use actix_web::{web, App, HttpServer};
use matterhook_bus::Publisher;
use matterhook_connections::Connections;
use matterhook_store::PgPool;
use matterhook_telemetry::{health, request, Metrics, Readiness, Telemetry};
use utoipa::OpenApi;

/// What the API needs.
#[derive(Clone)]
pub struct Deps {
    /// The database.
    pub pool: PgPool,
    /// Confirmed publishing (replays).
    pub publisher: Publisher,
    /// Connections to Clio.
    pub connections: Connections,
    /// The process's metrics, served at `/metrics`.
    pub metrics: Metrics,
    /// Where the connect flow ends.
    pub app: AppLink,
    /// Caller lookup's own pool: its sessions use generic plans
    /// ([`matterhook_store::PoolOptions::generic_plans`]), and a burst of rings cannot take the
    /// connections the rest of the API needs.
    pub lookup_pool: PgPool,
    /// The worker queues, for the support console's queue depths.
    pub queues: matterhook_bus::inspect::Queues,
}

/// Builds the server on `listener`.
pub fn server(listener: TcpListener, deps: Deps) -> std::io::Result<actix_web::dev::Server> {
    // Only the database: the broker serves the admin replays alone, and an outage of it should
    // not take the whole user-facing API out of rotation.
    let health = health::routes(Telemetry::new(
        deps.metrics.clone(),
        Readiness::new().database(deps.pool.clone()),
    ));
    let lookups = web::Data::new(matterhook_caller::CallerLookup::new(
        deps.lookup_pool.clone(),
        deps.connections.clone(),
    ));
    let door = web::Data::new(caller::KeyDoor::new(deps.pool.clone()));
    // A watch synced from its button re-reads its matter through the sync stage, as the sync
    // worker would, and writes the mirror the same way.
    let stage = web::Data::new(matterhook_sync::SyncStage::new(
        deps.pool.clone(),
        deps.connections.clone(),
        matterhook_sync::SyncConfig {
            metrics: deps.metrics.clone(),
            ..matterhook_sync::SyncConfig::default()
        },
    ));
    let deps = web::Data::new(deps);
    let document = web::Data::new(openapi::ApiDoc::openapi());
    Ok(HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(nul_guard::refuse_nul))
            .wrap(request::tracing())
            .app_data(deps.clone())
            .app_data(lookups.clone())
            .app_data(door.clone())
            .app_data(stage.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(256 * 1024)
                    .error_handler(|e, _| error::ApiError::BadRequest(e.to_string()).into()),
            )
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| error::ApiError::BadRequest(e.to_string()).into()),
            )
            // An id that is not one (`/api/referrals/abc`) names nothing: the documented 404,
            // as JSON, rather than actix's plain-text one.
            .app_data(
                web::PathConfig::default().error_handler(|_, _| error::ApiError::NotFound.into()),
            )
            .configure(health.clone())
            .app_data(document.clone())
            .route(
                "/openapi.json",
                web::get().to(|doc: web::Data<utoipa::openapi::OpenApi>| async move {
                    actix_web::HttpResponse::Ok().json(doc.get_ref())
                }),
            )
            .configure(connections::configure)
            .configure(notifications::configure)
            .configure(referrals::configure)
            .configure(suggestions::configure)
            .configure(actions::configure)
            .configure(settings::configure)
            .configure(review_requests::configure)
            .configure(activities::configure)
            .configure(crm::configure)
            .configure(caller::configure)
            .configure(watches::configure)
            .configure(send_review_page::configure)
            .service(web::scope("/admin/dead-letters").configure(dead_letters::configure))
            .service(web::scope("/console").configure(console::configure))
    })
    .disable_signals()
    .listen(listener)?
    .run())
}
