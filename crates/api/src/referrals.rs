//! Referrals, per user: create, list, show (with link, status and timeline), link candidates,
//! link and unlink. Suggestions are in [`crate::suggestions`], the action queue in
//! [`crate::actions`].

use actix_web::{http::StatusCode, web, HttpResponse};
use chrono::{DateTime, Utc};
use matterhook_referrals::{
    candidates::{self, Candidates, MatterBrief},
    service::{self, CommissionInput, ReferralError, ReferralInput},
};
use matterhook_store::{
    mirror::{self, MatterRow},
    referrals::{self as store, Referral, TimelineEntry},
    AsyncPgConnection,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::Caller,
    connections::ErrorBody,
    error::{internal, ApiError},
    Deps,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/referrals", web::post().to(create))
        .route("/api/referrals", web::get().to(list))
        .route("/api/referrals/{id}", web::get().to(show))
        .route(
            "/api/referrals/{id}/link-candidates",
            web::get().to(link_candidates),
        )
        .route("/api/referrals/{id}/status", web::post().to(set_status))
        .route("/api/referrals/{id}/link", web::post().to(link))
        .route("/api/referrals/{id}/link", web::delete().to(unlink));
}

impl From<ReferralError> for ApiError {
    fn from(e: ReferralError) -> Self {
        let rejected = |status, code, e: &ReferralError| ApiError::Rejected {
            status,
            code,
            message: e.to_string(),
        };
        match e {
            ReferralError::Invalid(m) => ApiError::BadRequest(m),
            ReferralError::NotFound => ApiError::NotFound,
            ReferralError::NoSuchMatter => rejected(StatusCode::NOT_FOUND, "no_such_matter", &e),
            ReferralError::NotReceived => rejected(StatusCode::CONFLICT, "not_received", &e),
            ReferralError::AlreadyLinked => rejected(StatusCode::CONFLICT, "already_linked", &e),
            ReferralError::AlreadyDecided => rejected(StatusCode::CONFLICT, "already_decided", &e),
            ReferralError::Database(d) => internal(d),
        }
    }
}

/// A commission: an amount or a percentage, as a decimal string with at most two decimals.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommissionBody {
    /// `amount` or `percentage`.
    #[schema(pattern = "^(amount|percentage)$")]
    kind: String,
    /// `"500.00"` (an amount) or `"12.5"` (a percentage, at most 100).
    value: String,
}

/// A referral to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewReferralBody {
    /// `received` (a partner sent us the client) or `sent` (we sent the client to the partner).
    #[schema(pattern = "^(received|sent)$")]
    direction: String,
    /// The partner's name.
    partner_name: String,
    /// The partner's email (where thank-you drafts go).
    partner_email: Option<String>,
    /// The client's first name.
    client_first_name: Option<String>,
    /// The client's last name.
    client_last_name: Option<String>,
    /// The client's email (an exact match links a new matter at once).
    client_email: Option<String>,
    /// The client's company.
    client_company: Option<String>,
    /// The commission agreed.
    commission: Option<CommissionBody>,
}

/// A referral.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReferralBody {
    id: i64,
    /// received or sent.
    direction: String,
    partner_name: String,
    partner_email: Option<String>,
    client_first_name: Option<String>,
    client_last_name: Option<String>,
    client_email: Option<String>,
    client_company: Option<String>,
    /// open, won or lost.
    status: String,
    /// Commission amount, in cents.
    commission_cents: Option<i64>,
    /// Commission share, in basis points (1,000 = 10%).
    commission_basis_points: Option<i32>,
    /// The linked matter, when linked.
    link: Option<LinkBody>,
    created_at: DateTime<Utc>,
}

/// A referral's link to a Clio matter, with what a person recognises it by.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LinkBody {
    clio_account_id: i64,
    matter_id: i64,
    linked_at: Option<DateTime<Utc>>,
    /// `match` (by the client's email) or `user`.
    linked_by: Option<String>,
    /// The matter's number, such as `00012-Smith` (null when the mirror lacks the matter).
    display_number: Option<String>,
    /// The matter's description.
    description: Option<String>,
    /// The matter's status in Clio: `Open`, `Pending` or `Closed` (what the status pill shows).
    matter_status: Option<String>,
    /// Whether the matter was deleted in Clio (the link stays, for the record).
    matter_deleted: bool,
}

impl ReferralBody {
    /// The referral as the API shows it, its link described from `matter` (the mirror's row).
    fn new(r: Referral, matter: Option<&MatterRow>) -> Self {
        let link = r
            .clio_account_id
            .zip(r.matter_id)
            .map(|(clio_account_id, matter_id)| LinkBody {
                clio_account_id,
                matter_id,
                linked_at: r.linked_at,
                linked_by: r.linked_by.clone(),
                display_number: matter.and_then(|m| m.display_number.clone()),
                description: matter.and_then(|m| m.description.clone()),
                matter_status: matter.and_then(|m| m.status.as_ref().map(|s| s.to_string())),
                matter_deleted: matter.is_some_and(|m| m.deleted_at.is_some()),
            });
        Self {
            id: r.id,
            direction: r.direction.to_string(),
            partner_name: r.partner_name,
            partner_email: r.partner_email,
            client_first_name: r.client_first_name,
            client_last_name: r.client_last_name,
            client_email: r.client_email,
            client_company: r.client_company,
            status: r.status.to_string(),
            commission_cents: r.commission_cents,
            commission_basis_points: r.commission_bp,
            link,
            created_at: r.created_at,
        }
    }
}

/// Referrals as the API shows them, each link described from the mirror (one query per firm).
async fn described_all(
    conn: &mut AsyncPgConnection,
    rows: Vec<Referral>,
) -> Result<Vec<ReferralBody>, ApiError> {
    let keys: Vec<(i64, i64)> = rows
        .iter()
        .filter_map(|r| r.clio_account_id.zip(r.matter_id))
        .collect();
    let matters = mirror::matters_by_keys(conn, &keys).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let matter = matters.iter().find(|m| {
                Some(m.clio_account_id) == r.clio_account_id && Some(m.clio_id) == r.matter_id
            });
            ReferralBody::new(r, matter)
        })
        .collect())
}

/// One referral as the API shows it.
pub(crate) async fn described(
    conn: &mut AsyncPgConnection,
    r: Referral,
) -> Result<ReferralBody, ApiError> {
    let mut one = described_all(conn, vec![r]).await?;
    one.pop()
        .ok_or_else(|| internal("a referral went missing while described"))
}

/// One timeline entry.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TimelineBody {
    at: DateTime<Utc>,
    /// created, linked, unlinked, status, draft.
    kind: String,
    message: String,
}

impl From<TimelineEntry> for TimelineBody {
    fn from(e: TimelineEntry) -> Self {
        Self {
            at: e.at,
            kind: e.kind,
            message: e.message,
        }
    }
}

/// A referral with its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReferralDetailBody {
    #[serde(flatten)]
    referral: ReferralBody,
    /// Oldest first.
    timeline: Vec<TimelineBody>,
}

/// Creates a referral.
#[utoipa::path(post, path = "/api/referrals", request_body = NewReferralBody,
    responses(
        (status = 201, description = "Created", body = ReferralBody),
        (status = 400, description = "Invalid; the error says which field", body = ErrorBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn create(
    caller: Caller,
    deps: web::Data<Deps>,
    body: web::Json<NewReferralBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = ReferralInput {
        direction: b.direction,
        partner_name: b.partner_name,
        partner_email: b.partner_email,
        client_first_name: b.client_first_name,
        client_last_name: b.client_last_name,
        client_email: b.client_email,
        client_company: b.client_company,
        commission: b.commission.map(|c| CommissionInput {
            kind: c.kind,
            value: c.value,
        }),
    };
    let mut conn = deps.pool.get().await?;
    let created = service::create(&mut conn, caller.id, input).await?;
    Ok(HttpResponse::Created().json(described(&mut conn, created).await?))
}

/// Paging of `GET /api/referrals`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only referrals with a smaller id (the last id of the previous page).
    before: Option<i64>,
    /// At most this many (default 50, at most 500).
    limit: Option<i64>,
}

/// The caller's referrals, newest first.
#[utoipa::path(get, path = "/api/referrals", params(ListQuery),
    responses(
        (status = 200, description = "Newest first", body = [ReferralBody]),
        (status = 400, description = "Bad paging", body = ErrorBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn list(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be 1 to 500".into()));
    }
    let mut conn = deps.pool.get().await?;
    let rows = store::list(&mut conn, caller.id, q.before, limit).await?;
    Ok(HttpResponse::Ok().json(described_all(&mut conn, rows).await?))
}

/// One referral with its link, status and timeline.
#[utoipa::path(get, path = "/api/referrals/{id}",
    params(("id" = i64, Path, description = "The referral")),
    responses(
        (status = 200, description = "The referral", body = ReferralDetailBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's referrals", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn show(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let (r, timeline) = service::detail(&mut conn, caller.id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ReferralDetailBody {
        referral: described(&mut conn, r).await?,
        timeline: timeline.into_iter().map(Into::into).collect(),
    }))
}

/// A matter as a picker shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MatterBriefBody {
    clio_account_id: i64,
    /// What `POST /api/referrals/{id}/link` takes.
    matter_id: i64,
    display_number: Option<String>,
    description: Option<String>,
    status: Option<String>,
    client_name: Option<String>,
    client_email: Option<String>,
}

impl From<MatterBrief> for MatterBriefBody {
    fn from(m: MatterBrief) -> Self {
        Self {
            clio_account_id: m.clio_account_id,
            matter_id: m.matter_id,
            display_number: m.display_number,
            description: m.description,
            status: m.status.map(|s| s.to_string()),
            client_name: m.client_name,
            client_email: m.client_email,
        }
    }
}

/// Matters to link a referral to.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CandidatesBody {
    /// The linked matter, else the latest suggestion, else the best guess.
    pinned: Option<MatterBriefBody>,
    /// Matching `q` by number, client name or client email.
    search: Vec<MatterBriefBody>,
    /// Matching the referral's client email or names.
    suggested: Vec<MatterBriefBody>,
    /// Most recently changed.
    recent: Vec<MatterBriefBody>,
}

impl From<Candidates> for CandidatesBody {
    fn from(c: Candidates) -> Self {
        let all = |v: Vec<MatterBrief>| v.into_iter().map(Into::into).collect();
        Self {
            pinned: c.pinned.map(Into::into),
            search: all(c.search),
            suggested: all(c.suggested),
            recent: all(c.recent),
        }
    }
}

/// `GET /api/referrals/{id}/link-candidates` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CandidatesQuery {
    /// Search the caller's mirrored matters by client name, email or matter number.
    q: Option<String>,
}

/// Matters the referral could be linked to, from the caller's connected firms.
#[utoipa::path(get, path = "/api/referrals/{id}/link-candidates",
    params(("id" = i64, Path, description = "The referral"), CandidatesQuery),
    responses(
        (status = 200, description = "Candidates", body = CandidatesBody),
        (status = 400, description = "q too long", body = ErrorBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's referrals", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn link_candidates(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
    q: web::Query<CandidatesQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let found =
        candidates::link_candidates(&mut conn, caller.id, id.into_inner(), q.q.as_deref()).await?;
    Ok(HttpResponse::Ok().json(CandidatesBody::from(found)))
}

/// `POST /api/referrals/{id}/status` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusRequest {
    /// `open`, `won` or `lost`.
    #[schema(pattern = "^(open|won|lost)$")]
    status: String,
}

/// Sets a referral's status by hand (`lost` when it did not become work). A linked matter's later
/// status changes still apply.
#[utoipa::path(post, path = "/api/referrals/{id}/status", request_body = StatusRequest,
    params(("id" = i64, Path, description = "The referral")),
    responses(
        (status = 200, description = "The referral", body = ReferralBody),
        (status = 400, description = "Not open, won or lost", body = ErrorBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's referrals", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn set_status(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
    body: web::Json<StatusRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let r = service::set_status(&mut conn, caller.id, id.into_inner(), &body.status).await?;
    Ok(HttpResponse::Ok().json(described(&mut conn, r).await?))
}

/// `POST /api/referrals/{id}/link` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkRequest {
    /// A matter of one of the caller's connected firms (its Clio id).
    matter_id: i64,
}

/// Links a received referral to a matter by hand; its status follows the matter's from then on.
#[utoipa::path(post, path = "/api/referrals/{id}/link", request_body = LinkRequest,
    params(("id" = i64, Path, description = "The referral")),
    responses(
        (status = 200, description = "Linked (also when it already was, to this matter)", body = ReferralBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "No such referral, or no such matter in the caller's firms (`no_such_matter`)", body = ErrorBody),
        (status = 409, description = "A sent referral (`not_received`), or linked to another matter (`already_linked`)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn link(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
    body: web::Json<LinkRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let r = service::link(&mut conn, caller.id, id.into_inner(), body.matter_id).await?;
    Ok(HttpResponse::Ok().json(described(&mut conn, r).await?))
}

/// Removes a referral's link; the referral, its timeline and the matter stay.
#[utoipa::path(delete, path = "/api/referrals/{id}/link",
    params(("id" = i64, Path, description = "The referral")),
    responses(
        (status = 200, description = "Unlinked (also when it was not linked)", body = ReferralBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's referrals", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn unlink(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let r = service::unlink(&mut conn, caller.id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(described(&mut conn, r).await?))
}
