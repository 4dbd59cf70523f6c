//! The action queue: drafts the system prepared (thank-you notes to referring partners), which
//! the user approves or dismisses. matterhook never sends them itself.

use actix_web::{http::StatusCode, web, HttpResponse};
use chrono::{DateTime, Utc};
use matterhook_store::referrals::{self as store, ActionItem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{auth::Caller, connections::ErrorBody, error::ApiError, Deps};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/action-queue", web::get().to(action_queue))
        .route("/api/action-queue/{id}/approve", web::post().to(approve))
        .route("/api/action-queue/{id}/dismiss", web::post().to(dismiss));
}

/// A draft in the action queue.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActionBody {
    id: i64,
    referral_id: i64,
    /// thank_you_draft.
    kind: String,
    clio_account_id: i64,
    bill_id: i64,
    to_name: String,
    to_email: Option<String>,
    subject: String,
    body: String,
    /// pending, approved or dismissed. Nothing is ever sent by matterhook itself.
    state: String,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
}

impl From<ActionItem> for ActionBody {
    fn from(a: ActionItem) -> Self {
        Self {
            id: a.id,
            referral_id: a.referral_id,
            kind: a.kind,
            clio_account_id: a.clio_account_id,
            bill_id: a.bill_id,
            to_name: a.to_name,
            to_email: a.to_email,
            subject: a.subject,
            body: a.body,
            state: a.state,
            created_at: a.created_at,
            decided_at: a.decided_at,
        }
    }
}

/// `GET /api/action-queue` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct QueueQuery {
    /// Include approved and dismissed items.
    #[serde(default)]
    all: bool,
}

/// The caller's action queue: drafts waiting for approval (all items with `all=true`).
#[utoipa::path(get, path = "/api/action-queue", params(QueueQuery),
    responses(
        (status = 200, description = "Newest first", body = [ActionBody]),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn action_queue(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let rows = store::action_queue(&mut conn, caller.id, q.all).await?;
    let body: Vec<ActionBody> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

async fn decide(
    caller: &Caller,
    deps: &Deps,
    id: i64,
    state: &'static str,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    if store::decide_action(&mut conn, caller.id, id, state).await? {
        return Ok(HttpResponse::Ok().json(serde_json::json!({"id": id, "state": state})));
    }
    let exists = store::action_queue(&mut conn, caller.id, true)
        .await?
        .iter()
        .any(|a| a.id == id);
    if exists {
        Err(ApiError::Rejected {
            status: StatusCode::CONFLICT,
            code: "already_decided",
            message: "this item was already approved or dismissed".into(),
        })
    } else {
        Err(ApiError::NotFound)
    }
}

/// Approves a draft (matterhook does not send it: the user's own mail does).
#[utoipa::path(post, path = "/api/action-queue/{id}/approve",
    params(("id" = i64, Path, description = "The item")),
    responses(
        (status = 200, description = "Approved"),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's items", body = ErrorBody),
        (status = 409, description = "Already approved or dismissed (`already_decided`)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn approve(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    decide(&caller, &deps, id.into_inner(), "approved").await
}

/// Dismisses a draft.
#[utoipa::path(post, path = "/api/action-queue/{id}/dismiss",
    params(("id" = i64, Path, description = "The item")),
    responses(
        (status = 200, description = "Dismissed"),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's items", body = ErrorBody),
        (status = 409, description = "Already approved or dismissed (`already_decided`)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn dismiss(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    decide(&caller, &deps, id.into_inner(), "dismissed").await
}
