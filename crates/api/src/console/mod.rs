//! The support console at `/console`: server-rendered pages for support staff, behind the same
//! admin users as `/admin` (an admin's API token signs in; see [`session`]).
//!
//! - `/console/dead-letters`: the list, newest first, with filters (state, queue, reason or
//!   error text, connection, time range) and keyset paging; replay or discard the selected;
//!   replay or discard everything a filter matches after a dry-run count and a confirmation.
//! - `/console/dead-letters/{id}`: one in full (payload, headers, error chain, attempts, the
//!   actions taken on it); replay, replay again, discard.
//! - `/console/connections`: each connection's state, webhooks and their expiry, last sync,
//!   parked work and dead letters.
//! - `/console/queues`: each worker queue's depth, consumers and oldest message's age, and the
//!   sync stage's backlog in PostgreSQL.

mod actions;
mod dead_letters;
mod error;
mod filters;
mod form;
mod layout;
mod overview;
mod session;

use actix_web::{http::header, web, HttpResponse};

/// Where signing in happens.
pub(crate) const LOGIN_PATH: &str = "/console/login";
/// The console's first page.
pub(crate) const HOME_PATH: &str = "/console/dead-letters";

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "",
        web::get().to(|| async {
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, HOME_PATH))
                .finish()
        }),
    )
    .route("/login", web::get().to(session::login_form))
    .route("/login", web::post().to(session::login))
    .route("/logout", web::post().to(session::logout))
    .route("/dead-letters", web::get().to(dead_letters::list))
    .route("/dead-letters/bulk", web::get().to(actions::bulk_preview))
    .route("/dead-letters/bulk", web::post().to(actions::bulk))
    .route("/dead-letters/selected", web::post().to(actions::selected))
    .route("/dead-letters/{id}", web::get().to(dead_letters::show))
    .route("/dead-letters/{id}/{action}", web::post().to(actions::one))
    .route("/connections", web::get().to(overview::connections_page))
    .route("/queues", web::get().to(overview::queues_page));
}
