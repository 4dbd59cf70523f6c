//! Possible referral matches (a notification's `suggestion_id`): confirm in one click, or dismiss.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use matterhook_referrals::service;
use matterhook_store::suggestions::Suggestion;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    auth::Caller,
    connections::ErrorBody,
    error::ApiError,
    referrals::{self, ReferralBody},
    Deps,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/referral-suggestions/{id}/confirm",
        web::post().to(confirm),
    )
    .route(
        "/api/referral-suggestions/{id}/dismiss",
        web::post().to(dismiss),
    );
}

/// A possible match, as decided.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SuggestionBody {
    id: i64,
    referral_id: i64,
    clio_account_id: i64,
    /// The Clio matter id.
    matter_id: i64,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    /// `confirmed`, `dismissed` or `superseded` (the referral was linked otherwise); absent while
    /// undecided.
    outcome: Option<String>,
}

impl From<Suggestion> for SuggestionBody {
    fn from(s: Suggestion) -> Self {
        Self {
            id: s.id,
            referral_id: s.referral_id,
            clio_account_id: s.clio_account_id,
            matter_id: s.matter_id,
            created_at: s.created_at,
            decided_at: s.decided_at,
            outcome: s.outcome,
        }
    }
}

/// Confirms a possible match: links the referral to the matter, marks the notification read and
/// supersedes the referral's other suggestions. A dismissed suggestion may still be confirmed.
#[utoipa::path(post, path = "/api/referral-suggestions/{id}/confirm",
    params(("id" = i64, Path, description = "The suggestion")),
    responses(
        (status = 200, description = "Linked", body = ReferralBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's suggestions, or the matter is gone", body = ErrorBody),
        (status = 409, description = "The referral is linked to another matter", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn confirm(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let r = service::confirm_suggestion(&mut conn, caller.id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(referrals::described(&mut conn, r).await?))
}

/// Dismisses a possible match: the matter is not the referral's. It is not offered again, its
/// notification is marked read, and the referral stays open to other matches.
#[utoipa::path(post, path = "/api/referral-suggestions/{id}/dismiss",
    params(("id" = i64, Path, description = "The suggestion")),
    responses(
        (status = 200, description = "Dismissed", body = SuggestionBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's suggestions", body = ErrorBody),
        (status = 409, description = "Already confirmed, dismissed or superseded (`already_decided`)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn dismiss(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let s = service::dismiss_suggestion(&mut conn, caller.id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(SuggestionBody::from(s)))
}
