//! A user's notifications: `GET /api/notifications` and `POST /api/notifications/{id}/read`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use matterhook_store::notifications::{self as store, Notification};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{auth::Caller, connections::ErrorBody, error::ApiError, Deps};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/notifications", web::get().to(list))
        .route("/api/notifications/{id}/read", web::post().to(read));
}

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotificationBody {
    /// Row id.
    id: i64,
    /// The connection concerned.
    connection_id: Option<i64>,
    /// What happened (`needs_reauth`, `referral_linked`, `referral_suggestion`, ...).
    kind: String,
    /// For the user to read.
    message: String,
    /// Created.
    created_at: DateTime<Utc>,
    /// When it was read, or resolved (for `needs_reauth`: when the user connected again; for
    /// `referral_suggestion`: when the suggestion was decided).
    read_at: Option<DateTime<Utc>>,
    /// The referral it is about (`referral_linked`, `referral_suggestion`).
    referral_id: Option<i64>,
    /// For `referral_suggestion`: `POST /api/referral-suggestions/{suggestion_id}/confirm`
    /// links the referral to the matter in one click (`.../dismiss` says no).
    suggestion_id: Option<i64>,
    /// The review request it is about (`review_request_due`).
    review_request_id: Option<i64>,
}

impl From<Notification> for NotificationBody {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            connection_id: n.connection_id,
            kind: n.kind,
            message: n.message,
            created_at: n.created_at,
            read_at: n.read_at,
            referral_id: n.referral_id,
            suggestion_id: n.suggestion_id,
            review_request_id: n.review_request_id,
        }
    }
}

/// `GET /api/notifications` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Only those not yet read.
    #[serde(default)]
    unread: bool,
}

/// The caller's notifications, newest first (at most 100).
#[utoipa::path(get, path = "/api/notifications", params(ListQuery),
    responses(
        (status = 200, description = "Newest first", body = [NotificationBody]),
        (status = 400, description = "Unknown or malformed parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn list(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let rows = store::for_user(&mut conn, caller.id, q.unread, 100).await?;
    let body: Vec<NotificationBody> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Marks one of the caller's notifications read (again is harmless: the first time is kept).
#[utoipa::path(post, path = "/api/notifications/{id}/read",
    params(("id" = i64, Path, description = "The notification")),
    responses(
        (status = 200, description = "Read", body = NotificationBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's notifications", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn read(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let n = store::mark_read(&mut conn, caller.id, id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(NotificationBody::from(n)))
}
