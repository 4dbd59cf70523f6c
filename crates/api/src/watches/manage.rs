//! Importing matters as watches, listing, showing and editing them, and accepting Clio's values
//! over a conflict.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use matterhook_store::watches as store;
use matterhook_watches::{EditError, Patch, WatchView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::Caller,
    connections::{connection_of, ErrorBody},
    error::ApiError,
    paging, Deps,
};

/// The most matters one import takes.
const MAX_IMPORT: usize = 200;
/// The changes one watch's page shows.
const HISTORY: i64 = 50;

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        match e {
            invalid @ EditError::Invalid { .. } => ApiError::BadRequest(invalid.to_string()),
            EditError::Database(d) => d.into(),
        }
    }
}

/// `POST /api/watches/import`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportBody {
    /// The connection (required when the caller has several).
    connection_id: Option<i64>,
    /// Clio matter ids (1 to 200), as `GET /api/clio/matters` lists them.
    matter_ids: Vec<i64>,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportAnswer {
    /// The watches of the matters asked for (those already watched as they were).
    watches: Vec<WatchView>,
    /// How many this import created.
    created: usize,
    /// Matters asked for that the firm does not have (or no longer has) in Clio.
    unknown: Vec<i64>,
}

/// Imports Clio matters as watches, with every field from Clio and the case type through the
/// connection's mapping. Idempotent per matter: importing one already watched changes nothing.
#[utoipa::path(
    post,
    path = "/api/watches/import",
    request_body = ImportBody,
    responses(
        (status = 200, description = "Nothing new: every matter was already watched or unknown", body = ImportAnswer),
        (status = 201, description = "Some watches created", body = ImportAnswer),
        (status = 400, description = "No, too many or non-positive matter ids", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn import(
    caller: Caller,
    deps: web::Data<Deps>,
    body: web::Json<ImportBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.matter_ids.is_empty() || body.matter_ids.len() > MAX_IMPORT {
        return Err(ApiError::BadRequest(
            "matter_ids must list 1 to 200 matters".into(),
        ));
    }
    if body.matter_ids.iter().any(|id| *id <= 0) {
        return Err(ApiError::BadRequest("matter_ids must be Clio ids".into()));
    }
    let mut ids = body.matter_ids;
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    let connection = connection_of(&deps, &caller, body.connection_id).await?;
    let account = super::account_of(&deps, connection).await?;
    let mut conn = deps.pool.get().await?;
    let done =
        matterhook_watches::import(&mut conn, connection, caller.id, account, &ids, Utc::now())
            .await?;
    let answer = ImportAnswer {
        watches: done.watches.iter().map(WatchView::from).collect(),
        created: done.created,
        unknown: done.unknown,
    };
    Ok(if answer.created > 0 {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

/// `GET /api/watches` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct WatchesQuery {
    /// Only the watches of this connection.
    connection_id: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    limit: Option<i64>,
}

/// A page of watches.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WatchPage {
    items: Vec<WatchView>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// The caller's watches, oldest first.
#[utoipa::path(
    get,
    path = "/api/watches",
    params(WatchesQuery),
    responses(
        (status = 200, description = "A page", body = WatchPage),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<WatchesQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let connection = match q.connection_id {
        Some(id) => Some(connection_of(&deps, &caller, Some(id)).await?),
        None => None,
    };
    let after = paging::after(q.cursor.as_deref())?;
    let limit = paging::limit(q.limit)?;
    let mut conn = deps.pool.get().await?;
    let rows = store::page_of_user(&mut conn, caller.id, connection, after, limit + 1).await?;
    let items: Vec<WatchView> = rows.iter().map(WatchView::from).collect();
    let (items, next_cursor) = paging::page(items, limit, |w| w.id);
    Ok(HttpResponse::Ok().json(WatchPage { items, next_cursor }))
}

/// One of the caller's watches, with its latest changes (`history`, newest first).
#[utoipa::path(
    get,
    path = "/api/watches/{id}",
    params(("id" = i64, Path, description = "The watch")),
    responses(
        (status = 200, description = "The watch", body = WatchView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's watches", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let row = store::of_user(&mut conn, caller.id, id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut view = WatchView::from(&row);
    view.history = Some(
        store::changes(&mut conn, row.id, HISTORY)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    );
    Ok(HttpResponse::Ok().json(view))
}

/// Edits a watch: Clio-sourced fields (an edited field is kept against later syncs under
/// `keep_local`), and the local notes, tags and priority, which no sync touches.
#[utoipa::path(
    patch,
    path = "/api/watches/{id}",
    params(("id" = i64, Path, description = "The watch")),
    request_body = Patch,
    responses(
        (status = 200, description = "The watch as edited", body = WatchView),
        (status = 400, description = "An unknown field, a bad date, too long a value, too many tags", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's watches", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn patch(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
    body: web::Json<Patch>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let row = matterhook_watches::edit(&mut conn, caller.id, id.into_inner(), &body, Utc::now())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(WatchView::from(&row)))
}

/// `POST /api/watches/{id}/accept`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcceptBody {
    /// The fields whose conflicts to settle with Clio's value (1 to 9).
    fields: Vec<String>,
}

/// Accepts Clio's values over the user's edits for these fields' conflicts: the fields follow
/// Clio again.
#[utoipa::path(
    post,
    path = "/api/watches/{id}/accept",
    params(("id" = i64, Path, description = "The watch")),
    request_body = AcceptBody,
    responses(
        (status = 200, description = "The watch with Clio's values", body = WatchView),
        (status = 400, description = "An unknown field, or one without a conflict", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's watches", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn accept(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
    body: web::Json<AcceptBody>,
) -> Result<HttpResponse, ApiError> {
    if body.fields.is_empty() || body.fields.len() > 9 {
        return Err(ApiError::BadRequest(
            "fields must name 1 to 9 fields".into(),
        ));
    }
    let mut conn = deps.pool.get().await?;
    let row = matterhook_watches::accept(
        &mut conn,
        caller.id,
        id.into_inner(),
        &body.fields,
        Utc::now(),
    )
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(WatchView::from(&row)))
}
