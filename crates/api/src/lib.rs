//! matterhook's HTTP API. Every request carries `Authorization: Bearer <token>`; tokens are
//! issued by `matterhook users add` and stored only as SHA-256 hashes. The `/admin` endpoints
//! need an admin user.
//!
//! Dead letters (for support staff):
//! - `GET /admin/dead-letters` with the filters `state` (default dead; `all`), `queue`, `model`,
//!   `event`, `connection`, `reason`, `since`, `until`, and paging `after`, `limit` (≤ 500);
//! - `GET /admin/dead-letters/{id}`;
//! - `POST /admin/dead-letters/replay` and `POST /admin/dead-letters/discard` with
//!   `{"ids": [...]}` or `{"filter": {...}}`, and `dry_run` (count only), `again` (replay).

mod auth;
mod dead_letters;
mod error;

use std::net::TcpListener;

use actix_web::{web, App, HttpServer};
use matterhook_bus::Publisher;
use matterhook_store::PgPool;

/// What the API needs.
#[derive(Clone)]
pub struct Deps {
    /// The database.
    pub pool: PgPool,
    /// Confirmed publishing (replays).
    pub publisher: Publisher,
}

/// Builds the server on `listener`.
pub fn server(listener: TcpListener, deps: Deps) -> std::io::Result<actix_web::dev::Server> {
    let deps = web::Data::new(deps);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(deps.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(256 * 1024)
                    .error_handler(|e, _| error::ApiError::BadRequest(e.to_string()).into()),
            )
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| error::ApiError::BadRequest(e.to_string()).into()),
            )
            .route(
                "/healthz",
                web::get().to(|| async {
                    actix_web::HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
                }),
            )
            .service(web::scope("/admin/dead-letters").configure(dead_letters::configure))
    })
    .disable_signals()
    .listen(listener)?
    .run())
}
