//! A connection's settings, for its own user: `GET`, `PUT` (the whole document), `PATCH` (a JSON
//! merge patch), and the history of every change.

use actix_web::{http::StatusCode, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use matterhook_domain::settings::{ConnectionSettings, SettingsError};
use matterhook_store::{connections as connection_store, jobs, settings as store};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::{auth::Caller, connections::ErrorBody, error::ApiError, Deps};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/connections/{id}/settings", web::get().to(show))
        .route("/api/connections/{id}/settings", web::put().to(replace))
        .route("/api/connections/{id}/settings", web::patch().to(patch))
        .route(
            "/api/connections/{id}/settings/history",
            web::get().to(history),
        );
}

fn refused(e: SettingsError) -> ApiError {
    ApiError::Rejected {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_settings",
        message: e.to_string(),
    }
}

/// The caller's own connection, or 404.
async fn owned(deps: &Deps, caller: &Caller, id: i64) -> Result<(), ApiError> {
    let mut conn = deps.pool.get().await?;
    connection_store::get(&mut conn, id)
        .await?
        .filter(|c| c.user_id == caller.id)
        .map(drop)
        .ok_or(ApiError::NotFound)
}

/// The effective document: what is stored, every absent key at its default.
pub(crate) fn effective(stored: Option<Value>) -> Result<ConnectionSettings, ApiError> {
    let stored = stored.unwrap_or_else(|| Value::Object(Default::default()));
    ConnectionSettings::parse(&stored).map_err(|e| {
        crate::error::internal(std::io::Error::other(format!(
            "stored settings no longer read: {e}"
        )))
    })
}

/// A connection's settings, every key present (defaults where never set).
#[utoipa::path(
    get,
    path = "/api/connections/{id}/settings",
    params(("id" = i64, Path, description = "The connection")),
    responses(
        (status = 200, description = "The settings document"),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    owned(&deps, &caller, id).await?;
    let mut conn = deps.pool.get().await?;
    let current = effective(store::get(&mut conn, id).await?)?;
    Ok(HttpResponse::Ok().json(current.to_value()))
}

/// Applies `change` to the current document, validates the result and stores it with its
/// history entry, in one transaction. Nothing changes when it is refused.
async fn update(
    deps: &Deps,
    caller: &Caller,
    id: i64,
    change: impl Fn(Value) -> Value + Send + Sync,
) -> Result<Saved, ApiError> {
    owned(deps, caller, id).await?;
    let mut conn = deps.pool.get().await?;
    let user = caller.id;
    conn.transaction::<_, ApiError, _>(async |conn| {
        // The connection's row, not the settings row: a first save has no settings row to lock.
        connection_store::lock(conn, id).await?;
        let stored = store::get(conn, id).await?;
        // A stored document that no longer reads is shown as it is, and can be replaced.
        let before = match effective(stored.clone()) {
            Ok(current) => current.to_value(),
            Err(_) => stored.unwrap_or(Value::Null),
        };
        let parsed = ConnectionSettings::parse(&change(before.clone())).map_err(refused)?;
        let after = parsed.to_value();
        let mut job = None;
        if after != before {
            if after.get("crm") != before.get("crm") {
                check_crm_fields(conn, id, &parsed.crm).await?;
                // The projection follows the settings: recomputed as a job with progress.
                job = Some(jobs::queue(conn, jobs::CRM_PROJECTION, id, user).await?.id);
            }
            store::save(conn, id, user, &before, &after).await?;
        }
        Ok(Saved {
            document: after,
            job,
        })
    })
    .await
}

/// A saved document, and the job it started, if it started one.
struct Saved {
    document: Value,
    job: Option<i64>,
}

impl Saved {
    /// The answer: the document, with the job's URL in `Matterhook-Job` when there is one.
    fn answer(self) -> HttpResponse {
        let mut answer = HttpResponse::Ok();
        if let Some(job) = self.job {
            answer.insert_header((JOB_HEADER, format!("/api/jobs/{job}")));
        }
        answer.json(self.document)
    }
}

/// The header naming the job a settings change started.
const JOB_HEADER: &str = "Matterhook-Job";

/// Refuses CRM custom field tags and key-fact dates naming a contact custom field of the firm of
/// the wrong type (by name, ignoring case). A name the mirror does not hold tags nothing until
/// such a field exists.
async fn check_crm_fields(
    conn: &mut matterhook_store::AsyncPgConnection,
    connection: i64,
    crm: &matterhook_domain::crm::CrmSettings,
) -> Result<(), ApiError> {
    let Some(row) = connection_store::get(conn, connection).await? else {
        return Err(ApiError::NotFound);
    };
    let fields =
        matterhook_store::mirror::custom_fields_of(conn, row.clio_account_id, "Contact").await?;
    let type_of = |name: &str| {
        let key = matterhook_domain::settings::location_key(name);
        fields
            .iter()
            .find(|f| {
                f.name
                    .as_deref()
                    .is_some_and(|n| matterhook_domain::settings::location_key(n) == key)
            })
            .and_then(|f| f.field_type.clone())
    };
    for (i, name) in crm.custom_field_tags.iter().enumerate() {
        if let Some(t) = type_of(name) {
            if let Some(why) = matterhook_domain::crm::untaggable(name.trim(), &t) {
                return Err(refused(SettingsError::at(
                    format!("crm.custom_field_tags[{i}]"),
                    why,
                )));
            }
        }
    }
    for (i, name) in crm.key_facts.custom_date_fields.iter().enumerate() {
        if let Some(t) = type_of(name).filter(|t| t != "date") {
            return Err(refused(SettingsError::at(
                format!("crm.key_facts.custom_date_fields[{i}]"),
                format!("{:?} is a {t} field, not a date field", name.trim()),
            )));
        }
    }
    Ok(())
}

/// Replaces the whole document (absent keys take their defaults).
#[utoipa::path(
    put,
    path = "/api/connections/{id}/settings",
    params(("id" = i64, Path, description = "The connection")),
    request_body(content = Object, description = "The whole settings document"),
    responses(
        (status = 200, description = "The settings as stored; a CRM change names the job recomputing the projection in the `Matterhook-Job` header"),
        (status = 400, description = "An unknown key, a wrong type or an out-of-range value; the message names the field; nothing changed", body = ErrorBody),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn replace(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let id = id.into_inner();
    let saved = update(&deps, &caller, id, |_| body.clone()).await?;
    align_buttons(&deps, id).await;
    Ok(saved.answer())
}

/// Changes part of the document (a JSON merge patch: keys set, `null` resets one to its default).
#[utoipa::path(
    patch,
    path = "/api/connections/{id}/settings",
    params(("id" = i64, Path, description = "The connection")),
    request_body(content = Object, description = "A JSON merge patch (RFC 7386)"),
    responses(
        (status = 200, description = "The settings as stored; a CRM change names the job recomputing the projection in the `Matterhook-Job` header"),
        (status = 400, description = "The patched document is refused; the message names the field; nothing changed", body = ErrorBody),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn patch(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.into_inner();
    if !patch.is_object() {
        return Err(ApiError::BadRequest(
            "a merge patch is a JSON object".into(),
        ));
    }
    let id = id.into_inner();
    let saved = update(&deps, &caller, id, |doc| {
        let mut doc = doc;
        json_patch::merge(&mut doc, &patch);
        doc
    })
    .await?;
    align_buttons(&deps, id).await;
    Ok(saved.answer())
}

/// Registers or removes the connection's buttons inside Clio ("Send Review") as the saved
/// settings want. The settings are saved whatever Clio says: a failure here is logged, and the
/// scheduled pass aligns them again.
async fn align_buttons(deps: &Deps, id: i64) {
    if let Err(e) = deps.connections.align_custom_actions(id, false).await {
        tracing::warn!(connection = id, error = %matterhook_telemetry::Chain(&e), "could not align the custom actions in Clio; the scheduled pass will");
    }
}

/// One change to a connection's settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChangeBody {
    id: i64,
    changed_at: DateTime<Utc>,
    /// The user who made it.
    changed_by: i64,
    #[schema(value_type = Object)]
    before: Value,
    #[schema(value_type = Object)]
    after: Value,
}

/// Every change to a connection's settings, newest first (the last 200).
#[utoipa::path(
    get,
    path = "/api/connections/{id}/settings/history",
    params(("id" = i64, Path, description = "The connection")),
    responses(
        (status = 200, description = "Changes, newest first", body = [ChangeBody]),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn history(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    owned(&deps, &caller, id).await?;
    let mut conn = deps.pool.get().await?;
    let changes: Vec<ChangeBody> = store::history(&mut conn, id, 200)
        .await?
        .into_iter()
        .map(|c| ChangeBody {
            id: c.id,
            changed_at: c.changed_at,
            changed_by: c.changed_by,
            before: c.before,
            after: c.after,
        })
        .collect();
    Ok(HttpResponse::Ok().json(changes))
}
