//! `GET /api/clio/matters`: the matter browser, over the mirrored matters of the caller's firm.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use matterhook_domain::MatterStatus;
use matterhook_store::{mirror, watches};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::Caller,
    connections::{connection_of, ErrorBody},
    error::ApiError,
    paging, Deps,
};

/// `GET /api/clio/matters` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct MattersQuery {
    /// The connection (required when the caller has several).
    connection_id: Option<i64>,
    /// Text in the matter's number, description or client's name (any case; up to 200
    /// characters).
    q: Option<String>,
    /// Only matters in this status: Open, Pending or Closed.
    status: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    limit: Option<i64>,
}

/// A matter the browser shows.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MatterItem {
    /// The Clio matter's id: what `POST /api/watches/import` takes.
    id: i64,
    display_number: Option<String>,
    description: Option<String>,
    /// Open, Pending or Closed.
    status: Option<String>,
    client_id: Option<i64>,
    client_name: Option<String>,
    practice_area: Option<String>,
    open_date: Option<NaiveDate>,
    /// The caller's watch of it through this connection, if imported.
    watch_id: Option<i64>,
}

/// A page of matters, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MatterPage {
    items: Vec<MatterItem>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// The firm's mirrored matters the caller can import, newest first: searched by number,
/// description and client name, filtered by status.
#[utoipa::path(
    get,
    path = "/api/clio/matters",
    params(MattersQuery),
    responses(
        (status = 200, description = "A page", body = MatterPage),
        (status = 400, description = "A bad status, text, cursor or limit; connection_id missing with several connections", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn browse(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<MattersQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let connection = connection_of(&deps, &caller, q.connection_id).await?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<MatterStatus>()
                .ok()
                .filter(|s| !matches!(s, MatterStatus::Other(_)))
                .ok_or_else(|| {
                    ApiError::BadRequest("status must be Open, Pending or Closed".into())
                })
        })
        .transpose()?;
    let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > 200 || t.chars().any(char::is_control)) {
        return Err(ApiError::BadRequest(
            "q must be at most 200 characters, without control characters".into(),
        ));
    }
    let before = match q.cursor.as_deref() {
        None => i64::MAX,
        cursor => paging::after(cursor)?,
    };
    let limit = paging::limit(q.limit)?;
    let account = super::account_of(&deps, connection).await?;
    let mut conn = deps.pool.get().await?;
    let rows = mirror::browse_matters(&mut conn, account, text, status, before, limit + 1).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.clio_id).collect();
    let watched: std::collections::HashMap<i64, i64> =
        watches::watched(&mut conn, connection, &ids)
            .await?
            .into_iter()
            .collect();
    let items: Vec<MatterItem> = rows
        .into_iter()
        .map(|r| MatterItem {
            id: r.clio_id,
            watch_id: watched.get(&r.clio_id).copied(),
            display_number: r.display_number,
            description: r.description,
            status: r.status.map(|s| s.to_string()),
            client_id: r.client_id,
            client_name: r.client_name,
            practice_area: r.practice_area,
            open_date: r.open_date,
        })
        .collect();
    let (items, next_cursor) = paging::page(items, limit, |m| m.id);
    Ok(HttpResponse::Ok().json(MatterPage { items, next_cursor }))
}
