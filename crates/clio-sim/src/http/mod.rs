//! The simulator's HTTP surface: `/oauth`, `/api/v4` and the `/_sim` control API.

mod control;
mod custom_actions;
mod errors;
mod gate;
mod oauth;
mod paging;
mod rest;
mod webhooks;
mod writes;

use actix_web::web;

pub(crate) use custom_actions::click as click_custom_action;

/// Registers every route.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(4 * 1024 * 1024)
            .error_handler(|err, _| {
                let response = errors::clio_error(
                    actix_web::http::StatusCode::BAD_REQUEST,
                    "ArgumentError",
                    err.to_string(),
                );
                actix_web::error::InternalError::from_response(err, response.into()).into()
            }),
    );
    oauth::configure(cfg);
    cfg.service(
        web::scope("/api/v4")
            .configure(webhooks::configure)
            .configure(custom_actions::configure)
            .configure(writes::configure)
            .configure(rest::configure),
    );
    cfg.service(web::scope("/_sim").configure(control::configure));
}
