//! `GET /api/caller-lookup` (a lookup key, or a user's token) and `GET /api/staff`.

use std::time::Instant;

use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use matterhook_caller::{Answer, CallerLookup, LookupError, Scope, Source};
use matterhook_domain::{caller::MatchKind, contact_points::country_of};
use matterhook_store::{caller as store, connections as connection_store};
use matterhook_telemetry::{LookupMatch, LookupSource};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::key_auth::{KeyDoor, KEY_PREFIX};
use crate::{
    auth::{bearer, Caller},
    connections::{connection_of, ErrorBody},
    error::{internal, ApiError},
    Deps,
};

/// `GET /api/caller-lookup` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct LookupParams {
    /// The caller's number in any format: `+15551234567`, `(555) 123-4567`, `555.123.4567`, or
    /// only its last four digits.
    phone: String,
    /// The country to read a number without a `+` in (`US`, `CA`, `GB`, or a name); default: the
    /// firm's Clio region's.
    country: Option<String>,
    /// With a user's token: the connection (required when the user has several). A lookup key
    /// knows its own.
    connection_id: Option<i64>,
}

/// Who is asking: a lookup key (its connection fixed) or a user.
async fn scope_of(
    req: &HttpRequest,
    deps: &Deps,
    door: &KeyDoor,
    connection_id: Option<i64>,
) -> Result<Scope, ApiError> {
    if let Some(key) = bearer(req).filter(|b| b.starts_with(KEY_PREFIX)) {
        let grant = door.admit(key).await?;
        if connection_id.is_some_and(|c| c != grant.connection_id) {
            return Err(ApiError::BadRequest(
                "a lookup key looks up its own connection's firm only: leave connection_id out"
                    .into(),
            ));
        }
        return Ok(Scope {
            connection_id: grant.connection_id,
            clio_account_id: grant.clio_account_id,
            region: grant.region.clone(),
        });
    }
    let caller = Caller::extract(req).await?;
    let id = connection_of(deps, &caller, connection_id).await?;
    let mut conn = deps.pool.get().await?;
    let connection = connection_store::get(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Scope {
        connection_id: connection.id,
        clio_account_id: connection.clio_account_id,
        region: connection.region,
    })
}

fn labels(answer: &Answer) -> (LookupMatch, LookupSource) {
    let m = match answer.match_kind {
        MatchKind::Exact => LookupMatch::Exact,
        MatchKind::Partial => LookupMatch::Partial,
        MatchKind::Ambiguous => LookupMatch::Ambiguous,
        MatchKind::None => LookupMatch::None,
    };
    let s = match answer.source {
        Source::Mirror => LookupSource::Mirror,
        Source::Live => LookupSource::Live,
    };
    (m, s)
}

/// Finds the caller of a phone number: their contacts, matters (open first) and the staff member
/// to hand the call to. From the mirror's index once the firm's first sync has finished (no Clio
/// call); from Clio before then (`source: live`, at most two calls).
#[utoipa::path(
    get,
    path = "/api/caller-lookup",
    params(LookupParams),
    responses(
        (status = 200, description = "The match, candidates and transfer", body = Answer,
         headers(("Server-Timing" = String, description = "`lookup;dur=<ms>`: the server's own time"))),
        (status = 400, description = "Not a phone number, an unknown country, a bad connection_id", body = ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked lookup key", body = ErrorBody),
        (status = 403, description = "The key's connection is disconnected", body = ErrorBody),
        (status = 404, description = "Not one of the user's connections", body = ErrorBody),
        (status = 429, description = "Past the key's budget; see Retry-After", body = ErrorBody),
        (status = 503, description = "Clio could not be asked (before the first sync only)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn lookup(
    req: HttpRequest,
    deps: web::Data<Deps>,
    door: web::Data<KeyDoor>,
    lookups: web::Data<CallerLookup>,
    q: web::Query<LookupParams>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let q = q.into_inner();
    if q.phone.len() > 64 {
        return Err(ApiError::BadRequest(
            "phone must be at most 64 characters".into(),
        ));
    }
    let country = match q.country.as_deref().map(str::trim) {
        None => None,
        Some(c) if c.len() <= 60 => Some(country_of(c).ok_or_else(|| {
            ApiError::BadRequest(
                "country must be a two-letter code (US) or a country's name".into(),
            )
        })?),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "country must be a two-letter code (US) or a country's name".into(),
            ))
        }
    };
    let scope = scope_of(&req, &deps, &door, q.connection_id).await?;
    let answer = match lookups.lookup(&scope, &q.phone, country).await {
        Ok(answer) => answer,
        Err(LookupError::Phone(e)) => return Err(ApiError::BadRequest(e.to_string())),
        Err(LookupError::Clio(e)) => {
            tracing::warn!(error = %matterhook_telemetry::Chain(&e), "live caller lookup failed");
            return Err(ApiError::Rejected {
                status: actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                code: "clio_unavailable",
                message: "the firm's first sync has not finished and Clio could not be asked"
                    .into(),
            });
        }
        Err(e) => return Err(internal(e)),
    };
    let (m, s) = labels(&answer);
    let took = started.elapsed();
    deps.metrics.caller_lookup(m, s, took.as_secs_f64());
    // The server's own time, for a receptionist's system (and the benchmark) to see apart
    // from the network's.
    Ok(HttpResponse::Ok()
        .insert_header((
            "Server-Timing",
            format!("lookup;dur={:.3}", took.as_secs_f64() * 1000.0),
        ))
        .json(answer))
}

/// `GET /api/staff` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct StaffParams {
    /// The connection (required when the caller has several).
    connection_id: Option<i64>,
}

/// A firm's Clio user.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StaffBody {
    /// Clio user id.
    id: i64,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    enabled: Option<bool>,
    /// Attorney or NonAttorney.
    subscription_type: Option<String>,
}

/// The firm's users.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StaffList {
    items: Vec<StaffBody>,
}

/// The firm's Clio users (name, email, phone, enabled), for building transfer rules.
#[utoipa::path(
    get,
    path = "/api/staff",
    params(StaffParams),
    responses(
        (status = 200, description = "The firm's users, by name", body = StaffList),
        (status = 400, description = "connection_id missing with several connections", body = ErrorBody),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn staff(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<StaffParams>,
) -> Result<HttpResponse, ApiError> {
    let id = connection_of(&deps, &caller, q.connection_id).await?;
    let mut conn = deps.pool.get().await?;
    let connection = connection_store::get(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let items = store::staff(&mut conn, connection.clio_account_id)
        .await?
        .into_iter()
        .map(|s| StaffBody {
            id: s.clio_id,
            name: s.name,
            email: s.email,
            phone: s.phone_number,
            enabled: s.enabled,
            subscription_type: s.subscription_type,
        })
        .collect();
    Ok(HttpResponse::Ok().json(StaffList { items }))
}
