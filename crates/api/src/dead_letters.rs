//! `/admin/dead-letters`: the support page's operations, the same as `matterhook dlq`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use matterhook_bus::dead_letters::{self as ops, Selection};
use matterhook_domain::{DeadLetterState, Model};
use matterhook_store::dead_letters::{self, Filter};
use serde::Deserialize;

use crate::{auth::Admin, error::ApiError, Deps};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(list))
        .route("/replay", web::post().to(replay))
        .route("/discard", web::post().to(discard))
        .route("/{id}", web::get().to(show));
}

/// `GET /admin/dead-letters` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// `dead` (default), `replayed`, `discarded` or `all`.
    state: Option<String>,
    /// The queue that failed.
    queue: Option<String>,
    /// The model: matter, contact, bill, user or custom_field.
    #[param(value_type = Option<String>)]
    model: Option<Model>,
    /// The event.
    event: Option<String>,
    /// The connection.
    connection: Option<i64>,
    /// Text the reason or error contains.
    reason: Option<String>,
    /// Last failure at or after (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Last failure before (RFC 3339).
    until: Option<DateTime<Utc>>,
    #[serde(default)]
    /// Rows after this id (the previous page's `next_after`).
    after: i64,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
}

fn state_filter(state: Option<&str>) -> Result<Option<DeadLetterState>, ApiError> {
    dead_letters::state_param(state).map_err(ApiError::BadRequest)
}

/// A filter as a replay or discard takes it: like the list's, with `state` read the same way
/// (absent: dead; `all`: any).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilterBody {
    state: Option<String>,
    queue: Option<String>,
    model: Option<Model>,
    event: Option<String>,
    connection_id: Option<i64>,
    text: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
}

impl FilterBody {
    fn filter(self) -> Result<Filter, ApiError> {
        Ok(Filter {
            state: state_filter(self.state.as_deref())?,
            queue: self.queue,
            model: self.model,
            event: self.event,
            connection_id: self.connection_id,
            text: self.text,
            since: self.since,
            until: self.until,
            up_to_id: None,
        })
    }
}

/// Lists dead letters, oldest first: `{"data": [...], "next_after": id}`.
#[utoipa::path(
    get,
    path = "/admin/dead-letters",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of dead letters and the cursor of the next"),
        (status = 400, description = "A bad filter"),
        (status = 401, description = "Missing or invalid bearer token"),
        (status = 403, description = "Not an admin"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    _admin: Admin,
    deps: web::Data<Deps>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 500".into(),
        ));
    }
    let filter = Filter {
        state: state_filter(q.state.as_deref())?,
        queue: q.queue,
        model: q.model,
        event: q.event,
        connection_id: q.connection,
        text: q.reason,
        since: q.since,
        until: q.until,
        up_to_id: None,
    };
    let mut conn = deps.pool.get().await?;
    let rows = dead_letters::list(&mut conn, &filter, q.after, limit).await?;
    let next_after = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(HttpResponse::Ok().json(serde_json::json!({"data": rows, "next_after": next_after})))
}

/// One dead letter, with its envelope, error chain and attempts.
#[utoipa::path(
    get,
    path = "/admin/dead-letters/{id}",
    params(("id" = i64, Path, description = "The dead letter")),
    responses(
        (status = 200, description = "The dead letter"),
        (status = 404, description = "No such dead letter"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    _admin: Admin,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let row = dead_letters::by_ids(&mut conn, &[id.into_inner()])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(row))
}

#[derive(Debug, Deserialize)]
/// A replay or discard: which rows, and how.
#[serde(deny_unknown_fields)]
pub(crate) struct Operation {
    ids: Option<Vec<i64>>,
    filter: Option<FilterBody>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    again: bool,
}

impl Operation {
    /// The rows it names; a filter's `state` reads as in the list (absent: dead; `all`: any).
    fn selection(&self) -> Result<Selection, ApiError> {
        match (&self.ids, &self.filter) {
            (Some(ids), None) if !ids.is_empty() && ids.len() <= 10_000 => {
                Ok(Selection::Ids(ids.clone()))
            }
            (None, Some(filter)) => Ok(Selection::Filter(
                filter.clone().filter()?.for_replay(self.again),
            )),
            _ => Err(ApiError::BadRequest(
                "give either ids (1 to 10,000) or a filter".into(),
            )),
        }
    }
}

/// Counts what an operation would touch, and touches nothing.
async fn dry_run(deps: &Deps, selection: &Selection) -> Result<HttpResponse, ApiError> {
    let matched = ops::count(&deps.pool, selection).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"matched": matched, "dry_run": true})))
}

/// Replays dead letters to the queue that failed: `{"ids": [...]}` or `{"filter": {...}}`, with
/// `dry_run` (count only) and `again` (also rows already replayed). Each row is replayed once.
#[utoipa::path(
    post,
    path = "/admin/dead-letters/replay",
    responses(
        (status = 200, description = "`{matched, done, skipped}`, or `{matched, dry_run}`"),
        (status = 400, description = "Neither ids nor a filter, or both"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn replay(
    admin: Admin,
    deps: web::Data<Deps>,
    op: web::Json<Operation>,
) -> Result<HttpResponse, ApiError> {
    operate(&admin, &deps, &op, Action::Replay).await
}

/// Discards dead letters (kept, marked discarded): same body as replay.
#[utoipa::path(
    post,
    path = "/admin/dead-letters/discard",
    responses(
        (status = 200, description = "`{matched, done, skipped}`, or `{matched, dry_run}`"),
        (status = 400, description = "Neither ids nor a filter, or both"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn discard(
    admin: Admin,
    deps: web::Data<Deps>,
    op: web::Json<Operation>,
) -> Result<HttpResponse, ApiError> {
    operate(&admin, &deps, &op, Action::Discard).await
}

/// What support does to the selected rows.
#[derive(Debug, Clone, Copy)]
enum Action {
    Replay,
    Discard,
}

/// Runs `action` over the operation's rows, or only counts them on a dry run.
async fn operate(
    admin: &Admin,
    deps: &Deps,
    op: &Operation,
    action: Action,
) -> Result<HttpResponse, ApiError> {
    let selection = op.selection()?;
    if op.dry_run {
        return dry_run(deps, &selection).await;
    }
    let actor = &admin.0.email;
    let report = match action {
        Action::Replay => {
            ops::replay(
                &deps.pool,
                &deps.publisher,
                &selection,
                actor,
                op.again,
                |_| {},
            )
            .await?
        }
        Action::Discard => ops::discard(&deps.pool, &selection, actor, |_| {}).await?,
    };
    Ok(HttpResponse::Ok().json(report))
}
