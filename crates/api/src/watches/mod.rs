//! Watches, per user: the matter browser over the mirror, importing matters as watches, listing
//! and editing them, accepting Clio's values over a conflict, syncing one now or all as a job,
//! and the login that syncs when the last sync is stale.

pub(crate) mod browse;
pub(crate) mod manage;
pub(crate) mod sync;

use actix_web::web;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/clio/matters", web::get().to(browse::browse))
        .route("/api/watches/import", web::post().to(manage::import))
        .route("/api/watches/sync", web::post().to(sync::sync_all))
        .route("/api/watches", web::get().to(manage::list))
        .route("/api/watches/{id}", web::get().to(manage::show))
        .route("/api/watches/{id}", web::patch().to(manage::patch))
        .route("/api/watches/{id}/accept", web::post().to(manage::accept))
        .route("/api/watches/{id}/sync", web::post().to(sync::sync_one))
        .route("/api/sessions", web::post().to(sync::login));
}

/// The Clio firm of one of the caller's connections.
async fn account_of(deps: &crate::Deps, connection: i64) -> Result<i64, crate::error::ApiError> {
    let mut conn = deps.pool.get().await?;
    matterhook_store::connections::get(&mut conn, connection)
        .await?
        .map(|c| c.clio_account_id)
        .ok_or(crate::error::ApiError::NotFound)
}
