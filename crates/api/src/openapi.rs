//! The OpenAPI document served at `/openapi.json`.

use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use crate::{
    actions, activities, caller, connections, crm, dead_letters, notifications, referrals,
    review_requests, settings, suggestions, watches,
};

/// matterhook's API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "matterhook API",
        description = "Connect Clio Manage accounts; track referrals linked to Clio matters; \
                       turn closed matters into review requests; \
                       post activities for writeback to Clio; \
                       read each connection's contacts as a CRM sees them, with a change feed; \
                       look a caller up by phone number, with a lookup key; \
                       import Clio matters as watches that stay in step with Clio; \
                       inspect and replay dead-lettered events. \
                       Requests carry `Authorization: Bearer <token>` from `matterhook users add`."
    ),
    paths(
        connections::connect,
        connections::callback,
        connections::list,
        connections::disconnect,
        notifications::list,
        notifications::read,
        referrals::create,
        referrals::list,
        referrals::show,
        referrals::link_candidates,
        referrals::set_status,
        referrals::link,
        referrals::unlink,
        suggestions::confirm,
        suggestions::dismiss,
        actions::action_queue,
        actions::approve,
        actions::dismiss,
        settings::show,
        settings::replace,
        settings::patch,
        settings::history,
        review_requests::list,
        review_requests::create,
        review_requests::sent,
        activities::create,
        activities::batch::batch,
        activities::show,
        activities::list,
        crm::list,
        crm::show,
        crm::changes,
        crm::events,
        crm::job,
        caller::lookup::lookup,
        caller::lookup::staff,
        caller::keys::create,
        caller::keys::list,
        caller::keys::revoke,
        watches::browse::browse,
        watches::manage::import,
        watches::manage::list,
        watches::manage::show,
        watches::manage::patch,
        watches::manage::accept,
        watches::sync::sync_one,
        watches::sync::sync_all,
        watches::sync::login,
        dead_letters::list,
        dead_letters::show,
        dead_letters::replay,
        dead_letters::discard,
    ),
    modifiers(&BearerAuth)
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
