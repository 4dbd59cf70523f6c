//! Review requests, for the review platform: the list to send from (cursor paging), the
//! platform's confirmation that it sent one, and the manual "Send Review".

use actix_web::{http::StatusCode, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use matterhook_domain::settings::Trigger;
use matterhook_review::requests::{self, Occasion};
use matterhook_store::{
    mirror,
    review_requests::{self as store, state, ReviewRequest},
    settings,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{auth::Caller, connections::ErrorBody, error::ApiError, paging, Deps};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/review-requests", web::get().to(list))
        .route("/api/review-requests", web::post().to(create))
        .route("/api/review-requests/{id}/sent", web::post().to(sent));
}

/// A review request, as the review platform reads it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestBody {
    id: i64,
    connection_id: i64,
    clio_account_id: i64,
    matter_id: i64,
    /// The matter's number.
    display_number: Option<String>,
    /// closed, pending, open or manual.
    trigger: String,
    /// When the matter entered the trigger status (or the button was pressed).
    triggered_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    /// scheduled, due, sent, restricted or cancelled.
    state: String,
    /// Why it is restricted or cancelled: opted_out, no_contact_point, custom_fields_forbidden,
    /// not_authorized, inactive, location_unmapped, cooldown, too_old, status_changed.
    reason: Option<String>,
    client_id: Option<i64>,
    /// A company client's name is its first name.
    first_name: Option<String>,
    last_name: Option<String>,
    /// Normalised.
    email: Option<String>,
    /// E.164.
    phone: Option<String>,
    location: Option<String>,
    business_id: Option<String>,
    responsible_attorney_id: Option<i64>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl From<ReviewRequest> for RequestBody {
    fn from(r: ReviewRequest) -> Self {
        Self {
            id: r.id,
            connection_id: r.connection_id,
            clio_account_id: r.clio_account_id,
            matter_id: r.matter_id,
            display_number: r.display_number,
            trigger: r.trigger,
            triggered_at: r.triggered_at,
            due_at: r.due_at,
            state: r.state,
            reason: r.reason,
            client_id: r.client_id,
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            phone: r.phone,
            location: r.location,
            business_id: r.business_id,
            responsible_attorney_id: r.responsible_attorney_id,
            created_at: r.created_at,
            sent_at: r.sent_at,
        }
    }
}

/// `GET /api/review-requests` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Only this state: scheduled, due, sent, restricted or cancelled.
    state: Option<String>,
    /// Only this location.
    location: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    limit: Option<i64>,
}

/// A page of review requests.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Page {
    items: Vec<RequestBody>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// The caller's review requests, oldest first.
#[utoipa::path(
    get,
    path = "/api/review-requests",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = Page),
        (status = 400, description = "An unknown state, a bad cursor or limit", body = ErrorBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    if let Some(s) = q.state.as_deref() {
        if !state::ALL.contains(&s) {
            return Err(ApiError::BadRequest(format!(
                "state must be one of {}",
                state::ALL.join(", ")
            )));
        }
    }
    let after = paging::after(q.cursor.as_deref())?;
    let limit = paging::limit(q.limit)?;
    let location = q
        .location
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let mut conn = deps.pool.get().await?;
    let filter = store::Filter {
        state: q.state.as_deref(),
        location,
        after,
    };
    let rows = store::list(&mut conn, caller.id, &filter, limit + 1).await?;
    let rows: Vec<RequestBody> = rows.into_iter().map(Into::into).collect();
    let (items, next_cursor) = paging::page(rows, limit, |r| r.id);
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// The platform sent a due request.
#[utoipa::path(
    post,
    path = "/api/review-requests/{id}/sent",
    params(("id" = i64, Path, description = "The request")),
    responses(
        (status = 200, description = "Recorded as sent", body = RequestBody),
        (status = 404, description = "Not one of the caller's requests", body = ErrorBody),
        (status = 409, description = "Already sent, or not due", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn sent(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut conn = deps.pool.get().await?;
    let user = caller.id;
    let sent = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let request = store::of_user_for_update(conn, user, id)
                .await?
                .ok_or(ApiError::NotFound)?;
            match request.state.as_str() {
                state::DUE => Ok(store::mark_sent(conn, id, Utc::now()).await?),
                state::SENT => Err(ApiError::Rejected {
                    status: StatusCode::CONFLICT,
                    code: "already_sent",
                    message: "this review request was already confirmed as sent".into(),
                }),
                other => Err(ApiError::Rejected {
                    status: StatusCode::CONFLICT,
                    code: "not_due",
                    message: format!("this review request is {other}, not due"),
                }),
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(RequestBody::from(sent)))
}

/// `POST /api/review-requests`: "Send Review" on a matter.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManualRequest {
    /// The matter's Clio id.
    matter_id: i64,
    /// Ask even within the cooldown.
    #[serde(default)]
    force: bool,
}

/// Makes a review request for a matter by hand ("Send Review"), when the connection's manual
/// trigger is on. The cooldown applies unless `force`; the maximum age does not.
#[utoipa::path(
    post,
    path = "/api/review-requests",
    request_body = ManualRequest,
    responses(
        (status = 201, description = "Made: scheduled, or restricted with its reason", body = RequestBody),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such matter in a firm whose connection has the manual trigger on", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    caller: Caller,
    deps: web::Data<Deps>,
    body: web::Json<ManualRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let scope = settings::Scope {
        user: Some(caller.id),
        ..settings::Scope::default()
    };
    match request_manually(&deps, scope, body.matter_id, body.force).await? {
        Manual::Made { request, .. } => {
            Ok(HttpResponse::Created().json(RequestBody::from(*request)))
        }
        Manual::TriggerOff | Manual::MatterUnknown => Err(ApiError::Rejected {
            status: StatusCode::NOT_FOUND,
            code: "no_manual_trigger",
            message: "no connection of yours with review requests and the manual trigger on \
                      holds this matter"
                .into(),
        }),
    }
}

/// What a manual "Send Review" came to.
pub(crate) enum Manual {
    /// A request was made: scheduled, or restricted with its reason.
    Made {
        /// The request.
        request: Box<ReviewRequest>,
        /// The connection's time zone (its setting, else its Clio user's).
        zone: chrono_tz::Tz,
    },
    /// No connection in scope has review requests with the manual trigger on.
    TriggerOff,
    /// The manual trigger is on, but no such matter is mirrored (not synced yet, or deleted).
    MatterUnknown,
}

/// Makes a manual review request for `matter_id` through the first connection in `scope` whose
/// manual trigger is on and whose firm holds the matter. Used by the API and by the button inside
/// Clio.
pub(crate) async fn request_manually(
    deps: &Deps,
    scope: settings::Scope,
    matter_id: i64,
    force: bool,
) -> Result<Manual, ApiError> {
    let mut conn = deps.pool.get().await?;
    let now = Utc::now();
    let mut manual_on = false;
    for rc in settings::review_connections(&mut conn, scope).await? {
        let review = requests::settings_of(&rc).map_err(crate::error::internal)?;
        if !review.triggers.contains(&Trigger::Manual) {
            continue;
        }
        manual_on = true;
        if mirror::matter(&mut conn, rc.clio_account_id, matter_id)
            .await?
            .is_none()
        {
            continue;
        }
        let occasion = Occasion {
            matter_id,
            trigger: Trigger::Manual,
            triggered_at: now,
            now,
            force,
        };
        // One manual request of a connection at a time: two clicks at once must not both pass
        // the cooldown.
        let made = conn
            .transaction::<_, ApiError, _>(async |conn| {
                matterhook_store::connections::lock(conn, rc.connection_id).await?;
                requests::create(conn, &rc, &review, &occasion)
                    .await
                    .map_err(crate::error::internal)
            })
            .await?;
        // None: deleted meanwhile.
        let zone = matterhook_review::schedule::zone_of(&review, &rc);
        return Ok(made.map_or(Manual::MatterUnknown, |request| Manual::Made {
            request: Box::new(request),
            zone,
        }));
    }
    Ok(if manual_on {
        Manual::MatterUnknown
    } else {
        Manual::TriggerOff
    })
}
