//! Caller lookup for phone receptionists: `GET /api/caller-lookup`, `GET /api/staff`, and the
//! lookup keys that let a receptionist look callers up without a user's full token.

mod key_auth;
pub(crate) mod keys;
pub(crate) mod lookup;

use actix_web::web;
pub(crate) use key_auth::KeyDoor;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/caller-lookup", web::get().to(lookup::lookup))
        .route("/api/staff", web::get().to(lookup::staff))
        .route(
            "/api/connections/{id}/lookup-keys",
            web::post().to(keys::create),
        )
        .route(
            "/api/connections/{id}/lookup-keys",
            web::get().to(keys::list),
        )
        .route(
            "/api/connections/{id}/lookup-keys/{key_id}",
            web::delete().to(keys::revoke),
        );
}
