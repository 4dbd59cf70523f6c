//! Syncing watches with Clio: one now, all as a job, and on login.

use actix_web::{http::StatusCode, web, HttpResponse};
use chrono::Utc;
use matterhook_store::connections;
use matterhook_sync::{SyncError, SyncStage, Verdict};
use matterhook_watches::{jobs, SyncAnswer, SyncOneError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    auth::Caller,
    connections::{connection_of, ErrorBody},
    crm::JobBody,
    error::ApiError,
    Deps,
};

/// A failed read of Clio, as the caller should see it.
fn clio_failed(e: SyncError) -> ApiError {
    match e.verdict() {
        Verdict::Throttled(wait) => ApiError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        },
        Verdict::Parked => ApiError::Rejected {
            status: StatusCode::CONFLICT,
            code: "needs_reauth",
            message: "the connection needs to be authorized again before it can read Clio".into(),
        },
        Verdict::Transient | Verdict::Permanent => {
            tracing::warn!(error = %matterhook_telemetry::Chain(&e), "a watch sync could not read Clio");
            ApiError::Rejected {
                status: StatusCode::BAD_GATEWAY,
                code: "clio_unavailable",
                message: "Clio did not answer as expected; try again shortly".into(),
            }
        }
    }
}

impl From<SyncOneError> for ApiError {
    fn from(e: SyncOneError) -> Self {
        match e {
            SyncOneError::Clio(c) => clio_failed(c),
            SyncOneError::Database(d) => d.into(),
            SyncOneError::Pool(p) => p.into(),
        }
    }
}

impl From<jobs::JobError> for ApiError {
    fn from(e: jobs::JobError) -> Self {
        match e {
            jobs::JobError::Clio(c) => clio_failed(c),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

/// Syncs one watch now: its matter (and its client, when changed) read from Clio, merged by
/// the connection's conflict policy; answers with the watch and what changed.
#[utoipa::path(
    post,
    path = "/api/watches/{id}/sync",
    params(("id" = i64, Path, description = "The watch")),
    responses(
        (status = 200, description = "The watch after the sync, with what changed", body = SyncAnswer),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's watches", body = ErrorBody),
        (status = 409, description = "The connection needs to be authorized again", body = ErrorBody),
        (status = 429, description = "Clio's rate limit for this connection: try again after Retry-After", body = ErrorBody),
        (status = 502, description = "Clio failed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn sync_one(
    caller: Caller,
    deps: web::Data<Deps>,
    stage: web::Data<SyncStage>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let answer =
        matterhook_watches::sync_one(&deps.pool, &stage, caller.id, id.into_inner(), Utc::now())
            .await?
            .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `POST /api/watches/sync`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyncAllBody {
    /// The connection (required when the caller has several).
    connection_id: Option<i64>,
}

/// Sync All: starts a job that syncs every watch of the connection with Clio (200 matters per
/// read, no cap); its progress is at `GET /api/jobs/{id}` (the `Location`). A job already
/// waiting is reused.
#[utoipa::path(
    post,
    path = "/api/watches/sync",
    request_body(content = Option<SyncAllBody>),
    responses(
        (status = 202, description = "The job", body = JobBody),
        (status = 400, description = "connection_id missing with several connections", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn sync_all(
    caller: Caller,
    deps: web::Data<Deps>,
    body: Option<web::Json<SyncAllBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let connection = connection_of(&deps, &caller, body.connection_id).await?;
    let job = jobs::queue(&deps.pool, connection, caller.id).await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/api/jobs/{}", job.id)))
        .json(JobBody::from(job)))
}

/// What a login started.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionAnswer {
    /// The watch syncs it started: one per connection whose settings sync on login and whose
    /// last sync is over an hour old.
    syncs: Vec<JobBody>,
}

/// Marks a login to the product: watches sync when the connection's `watches.sync_on_login` is
/// on and the last sync is over an hour old.
#[utoipa::path(
    post,
    path = "/api/sessions",
    responses(
        (status = 201, description = "The login, with the syncs it started", body = SessionAnswer),
        (status = 401, description = "No valid token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn login(caller: Caller, deps: web::Data<Deps>) -> Result<HttpResponse, ApiError> {
    let started = jobs::login(&deps.pool, caller.id, Utc::now()).await?;
    let mut syncs = Vec::new();
    let mut conn = deps.pool.get().await?;
    for job in started {
        // Only connections that can read Clio: a disconnected one would fail at once.
        let live = connections::get(&mut conn, job.connection_id)
            .await?
            .is_some_and(|c| c.status != matterhook_domain::ConnectionStatus::Disconnected);
        if live {
            syncs.push(JobBody::from(job));
        }
    }
    Ok(HttpResponse::Created().json(SessionAnswer { syncs }))
}
