//! The CRM contact feed, per user: the projected contacts (filtered by tag and owner, cursor
//! paged), one contact, the change feed, the `contact.new_client` events; and the jobs a settings
//! change starts (`GET /api/jobs/{id}`).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use matterhook_store::{crm, jobs};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::Caller,
    connections::{connection_of, ErrorBody},
    error::ApiError,
    paging, Deps,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/crm/contacts", web::get().to(list))
        .route("/api/crm/contacts/{id}", web::get().to(show))
        .route("/api/crm/changes", web::get().to(changes))
        .route("/api/crm/events", web::get().to(events))
        .route("/api/jobs/{id}", web::get().to(job));
}

/// A contact as the CRM sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CrmContactBody {
    /// The Clio contact's id.
    id: i64,
    /// Names, emails (the primary first), phones (the primary first), addresses (the first is
    /// the primary), `client_status`, `tags`, `owner` (a Clio user id) and `facts`; null once the
    /// contact no longer appears.
    #[schema(value_type = Object)]
    contact: Option<Value>,
    /// added, changed or removed.
    change: String,
    /// Its position in the change feed.
    seq: i64,
    updated_at: DateTime<Utc>,
}

impl From<crm::Listed> for CrmContactBody {
    fn from(l: crm::Listed) -> Self {
        Self {
            id: l.contact_id,
            contact: l.projection,
            change: l.change,
            seq: l.seq,
            updated_at: l.updated_at,
        }
    }
}

/// `GET /api/crm/contacts` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// The connection (required when the caller has several).
    connection_id: Option<i64>,
    /// Only contacts with this tag (exactly, e.g. `Active Client`).
    tag: Option<String>,
    /// Only contacts owned by this Clio user.
    owner: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    limit: Option<i64>,
}

/// A page of contacts.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ContactPage {
    items: Vec<CrmContactBody>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// The connection's contacts as the CRM sees them, by Clio id.
#[utoipa::path(
    get,
    path = "/api/crm/contacts",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = ContactPage),
        (status = 400, description = "A bad cursor, limit or tag; connection_id missing with several connections", body = ErrorBody),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let connection = connection_of(&deps, &caller, q.connection_id).await?;
    let after = paging::after(q.cursor.as_deref())?;
    let limit = paging::limit(q.limit)?;
    let tag = q.tag.as_deref().map(str::trim);
    if tag.is_some_and(|t| t.is_empty() || t.chars().count() > 255) {
        return Err(ApiError::BadRequest(
            "tag must be 1 to 255 characters".into(),
        ));
    }
    let mut conn = deps.pool.get().await?;
    let rows = crm::list(&mut conn, connection, tag, q.owner, after, limit + 1).await?;
    let rows: Vec<CrmContactBody> = rows.into_iter().map(Into::into).collect();
    let (items, next_cursor) = paging::page(rows, limit, |r| r.id);
    Ok(HttpResponse::Ok().json(ContactPage { items, next_cursor }))
}

/// `connection_id` alone.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct OfConnection {
    /// The connection (required when the caller has several).
    connection_id: Option<i64>,
}

/// One contact as the CRM sees it (a removed one with `contact: null`).
#[utoipa::path(
    get,
    path = "/api/crm/contacts/{id}",
    params(("id" = i64, Path, description = "The Clio contact"), OfConnection),
    responses(
        (status = 200, description = "The contact", body = CrmContactBody),
        (status = 404, description = "Never projected for this connection", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
    q: web::Query<OfConnection>,
) -> Result<HttpResponse, ApiError> {
    let connection = connection_of(&deps, &caller, q.connection_id).await?;
    let mut conn = deps.pool.get().await?;
    let row = crm::one(&mut conn, connection, id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(CrmContactBody::from(row)))
}

/// A feed's parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedQuery {
    /// The connection (required when the caller has several).
    connection_id: Option<i64>,
    /// The position read up to (the previous answer's `next_after`); 0 from the start.
    after: Option<i64>,
    /// Entries at most, 1 to 500 (default 100).
    limit: Option<i64>,
}

/// Changes since a position.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChangePage {
    /// Each contact's latest change after `after`, in feed order (a contact changed twice appears
    /// once, at its later position).
    items: Vec<CrmContactBody>,
    /// Pass as `after` next time.
    next_after: i64,
}

/// The connection's contacts added, changed and removed since `after`: a CRM keeps in step by
/// reading from where it stopped.
#[utoipa::path(
    get,
    path = "/api/crm/changes",
    params(FeedQuery),
    responses(
        (status = 200, description = "Changes", body = ChangePage),
        (status = 400, description = "A bad position or limit", body = ErrorBody),
        (status = 404, description = "No connection of the caller's (or not one of them)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn changes(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let connection = connection_of(&deps, &caller, q.connection_id).await?;
    let (after, limit) = feed_params(q.after, q.limit)?;
    let mut conn = deps.pool.get().await?;
    let rows = crm::changes(&mut conn, connection, after, limit).await?;
    let next_after = rows.last().map_or(after, |r| r.seq);
    Ok(HttpResponse::Ok().json(ChangePage {
        items: rows.into_iter().map(Into::into).collect(),
        next_after,
    }))
}

fn feed_params(after: Option<i64>, limit: Option<i64>) -> Result<(i64, i64), ApiError> {
    let after = after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::BadRequest("after must be 0 or more".into()));
    }
    Ok((after, paging::limit(limit)?))
}

/// A CRM event.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventBody {
    /// Its position.
    id: i64,
    /// contact.new_client.
    kind: String,
    /// The Clio contact.
    contact_id: i64,
    at: DateTime<Utc>,
}

/// Events since a position.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventPage {
    items: Vec<EventBody>,
    /// Pass as `after` next time.
    next_after: i64,
}

/// The connection's `contact.new_client` events since `after` (once per contact, ever; never for
/// contacts that were clients when the projection was first computed).
#[utoipa::path(
    get,
    path = "/api/crm/events",
    params(FeedQuery),
    responses(
        (status = 200, description = "Events", body = EventPage),
        (status = 400, description = "A bad position or limit", body = ErrorBody),
        (status = 404, description = "No connection of the caller's (or not one of them)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn events(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let connection = connection_of(&deps, &caller, q.connection_id).await?;
    let (after, limit) = feed_params(q.after, q.limit)?;
    let mut conn = deps.pool.get().await?;
    let rows = crm::events(&mut conn, connection, after, limit).await?;
    let next_after = rows.last().map_or(after, |r| r.id);
    Ok(HttpResponse::Ok().json(EventPage {
        items: rows
            .into_iter()
            .map(|e| EventBody {
                id: e.id,
                kind: e.kind,
                contact_id: e.contact_id,
                at: e.at,
            })
            .collect(),
        next_after,
    }))
}

/// A job and its progress.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobBody {
    id: i64,
    /// crm_projection or watches_sync.
    kind: String,
    connection_id: i64,
    /// queued, running, done or failed.
    state: String,
    /// Items to do, once known.
    total: Option<i32>,
    /// Items done.
    done: i32,
    /// Why it failed.
    error: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<jobs::Job> for JobBody {
    fn from(j: jobs::Job) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            connection_id: j.connection_id,
            state: j.state,
            total: j.total,
            done: j.done,
            error: j.error,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        }
    }
}

/// One of the caller's jobs, with its progress.
#[utoipa::path(
    get,
    path = "/api/jobs/{id}",
    params(("id" = i64, Path, description = "The job")),
    responses(
        (status = 200, description = "The job", body = JobBody),
        (status = 404, description = "Not one of the caller's jobs", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn job(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let j = jobs::of_user(&mut conn, caller.id, id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(JobBody::from(j)))
}
