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
        common_answers(openapi);
        unique_operation_ids(openapi);
    }
}

/// The answers every operation of a kind gives, documented once rather than on each: 401 where a
/// bearer token is required, 403 on the admin operations, 400 where a query string or a JSON
/// body is read (a malformed one is refused before the handler runs).
fn common_answers(openapi: &mut utoipa::openapi::OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        for operation in operations(item) {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let reads_input =
                operation.request_body.is_some()
                    || operation.parameters.iter().flatten().any(|p| {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)
                    });
            let answers = &mut operation.responses.responses;
            let mut add = |status: &str, description: &str| {
                answers
                    .entry(status.to_owned())
                    .or_insert_with(|| error_response(description).into());
            };
            if secured {
                add("401", "Missing or invalid bearer token");
            }
            if secured && path.starts_with("/admin/") {
                add("403", "The token is not an admin's");
            }
            if reads_input {
                add("400", "A malformed query string or body");
            }
        }
    }
}

/// OpenAPI wants each operation's id unique; handlers in different modules share names (`list`,
/// `show`, ...). A shared one is prefixed with its path's resource (`referrals_list`).
fn unique_operation_ids(openapi: &mut utoipa::openapi::OpenApi) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for item in openapi.paths.paths.values_mut() {
        for operation in operations(item) {
            if let Some(id) = &operation.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for (path, item) in openapi.paths.paths.iter_mut() {
        let resource = path
            .split('/')
            .filter(|s| !s.is_empty() && !s.starts_with('{') && *s != "api" && *s != "admin")
            .collect::<Vec<_>>()
            .join("_")
            .replace('-', "_");
        for operation in operations(item) {
            if let Some(id) = operation.operation_id.as_mut() {
                if seen.get(id.as_str()).is_some_and(|n| *n > 1) {
                    // `/api/action-queue/{id}/dismiss`'s `dismiss`: `action_queue_dismiss`.
                    let base = resource
                        .strip_suffix(id.as_str())
                        .map_or(resource.as_str(), |r| r.trim_end_matches('_'));
                    *id = format!("{base}_{id}");
                }
            }
        }
    }
}

fn operations(
    item: &mut utoipa::openapi::path::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use utoipa::OpenApi;

    use super::{operations, ApiDoc};

    #[test]
    fn every_operation_has_its_own_id_and_documents_the_answers_it_can_give() {
        let mut doc = ApiDoc::openapi();
        let mut ids = HashSet::new();
        for (path, item) in doc.paths.paths.iter_mut() {
            for operation in operations(item) {
                let id = operation.operation_id.clone().expect("an id");
                assert!(ids.insert(id.clone()), "{id} twice");
                let answers = &operation.responses.responses;
                if operation.security.is_some() {
                    assert!(answers.contains_key("401"), "{path}: 401");
                }
                if path.starts_with("/admin/") {
                    assert!(answers.contains_key("403"), "{path}: 403");
                }
                if operation.request_body.is_some() {
                    assert!(answers.contains_key("400"), "{path}: 400");
                }
            }
        }
        assert!(ids.contains("action_queue_dismiss"), "{ids:?}");
        assert!(ids.contains("referrals_list"), "{ids:?}");
    }
}
