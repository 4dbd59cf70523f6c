//! `POST /api/activities/batch`: up to 1,000 activities at once, each with its own
//! `idempotency_key`, each checked and stored as a single post would be.

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use matterhook_telemetry::request::request_id;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{accept, valid_key, ActivityBody, MAX_KEY_LEN};
use crate::{auth::Caller, connections::ErrorBody, error::ApiError, Deps};

/// The most activities one batch takes.
const MAX_BATCH: usize = 1_000;
/// The largest batch body: a thousand activities of 16 KiB each.
pub(super) const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// `POST /api/activities/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchBody {
    /// 1 to 1,000 activities, each as `POST /api/activities` takes it plus its own
    /// `idempotency_key`.
    #[schema(value_type = Vec<Object>)]
    activities: Vec<Value>,
}

/// One activity's outcome in a batch.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchOutcome {
    /// Its position in the request.
    index: usize,
    /// The status it would have had alone: 202 accepted, or the refusal's.
    status: u16,
    /// The activity, when accepted.
    activity: Option<ActivityBody>,
    /// Why it was refused.
    error: Option<String>,
    /// The refusal's stable code, when it has one.
    code: Option<&'static str>,
}

/// What a batch came to, in the request's order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchAnswer {
    accepted: usize,
    refused: usize,
    results: Vec<BatchOutcome>,
}

/// Posts up to 1,000 activities at once, each with its own `idempotency_key`, each checked and
/// stored on its own: one refused activity refuses no other.
#[utoipa::path(
    post,
    path = "/api/activities/batch",
    request_body = BatchBody,
    responses(
        (status = 200, description = "Each activity's outcome", body = BatchAnswer),
        (status = 400, description = "Not a batch, empty, or over 1,000", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn batch(
    caller: Caller,
    deps: web::Data<Deps>,
    req: HttpRequest,
    body: web::Json<BatchBody>,
) -> Result<HttpResponse, ApiError> {
    let request_id = request_id(&req);
    let items = body.into_inner().activities;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::BadRequest(format!(
            "activities: must hold 1 to {MAX_BATCH}"
        )));
    }
    let mut results = Vec::with_capacity(items.len());
    for (index, mut item) in items.into_iter().enumerate() {
        let key = item
            .as_object_mut()
            .and_then(|o| o.remove("idempotency_key"))
            .and_then(|k| k.as_str().map(str::to_owned))
            .filter(|k| valid_key(k));
        let outcome = match key {
            None => Err(ApiError::Rejected {
                status: StatusCode::BAD_REQUEST,
                code: "idempotency_key_required",
                message: format!(
                    "idempotency_key: 1 to {MAX_KEY_LEN} visible ASCII characters are required"
                ),
            }),
            Some(key) => accept(&deps, &caller, key, item, &request_id).await,
        };
        results.push(match outcome {
            Ok(row) => BatchOutcome {
                index,
                status: StatusCode::ACCEPTED.as_u16(),
                activity: Some(row.into()),
                error: None,
                code: None,
            },
            // Ours, not the activity's: the whole batch fails, as a single post would.
            Err(e @ ApiError::Internal(_)) => return Err(e),
            Err(e) => BatchOutcome {
                index,
                status: actix_web::ResponseError::status_code(&e).as_u16(),
                code: match &e {
                    ApiError::Rejected { code, .. } => Some(*code),
                    _ => None,
                },
                error: Some(e.to_string()),
                activity: None,
            },
        });
    }
    let accepted = results.iter().filter(|r| r.activity.is_some()).count();
    Ok(HttpResponse::Ok().json(BatchAnswer {
        accepted,
        refused: results.len() - accepted,
        results,
    }))
}
