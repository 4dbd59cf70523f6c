//! What support does from the console: replay or discard one dead letter, the selected ones, or
//! everything a filter matches (after a dry-run count and a confirmation). Every action goes
//! through [`Action`] (session and CSRF token checked) and the same operations as the CLI and
//! the admin API, which record who did what, per row and as a whole.

use actix_web::{http::header, web, HttpResponse};
use matterhook_bus::dead_letters::{self as ops, Report, Selection};
use matterhook_domain::DeadLetterState;
use matterhook_store::dead_letters::Filter;
use maud::html;
use serde::Deserialize;

use super::{
    dead_letters::{html_page, Done, PAGE},
    error::ConsoleError,
    filters::FilterParams,
    layout::{self, Section},
    session::{Action, ConsoleAdmin},
};
use crate::Deps;

/// Replay or discard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Replay,
    Discard,
}

impl Kind {
    fn parse(raw: Option<&str>) -> Result<Self, ConsoleError> {
        match raw {
            Some("replay") => Ok(Self::Replay),
            Some("discard") => Ok(Self::Discard),
            other => Err(ConsoleError::BadRequest(format!(
                "action must be replay or discard, not {:?}",
                other.unwrap_or("")
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Replay => "replay",
            Self::Discard => "discard",
        }
    }
}

async fn run(
    deps: &Deps,
    kind: Kind,
    selection: &Selection,
    actor: &str,
    again: bool,
) -> Result<Report, ops::OperationError> {
    match kind {
        Kind::Replay => {
            ops::replay(&deps.pool, &deps.publisher, selection, actor, again, |_| {}).await
        }
        Kind::Discard => ops::discard(&deps.pool, selection, actor, |_| {}).await,
    }
}

fn see_other(location: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `POST /console/dead-letters/{id}/replay` (`again` to replay one already replayed or
/// discarded) and `.../discard`.
pub(crate) async fn one(
    action: Action,
    deps: web::Data<Deps>,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let (id, verb) = path.into_inner();
    let kind = Kind::parse(Some(verb.as_str()))?;
    let again = action.form.one("again") == Some("true");
    let report = run(
        &deps,
        kind,
        &Selection::Ids(vec![id]),
        &action.admin.email,
        again,
    )
    .await?;
    if report.matched == 0 {
        return Err(ConsoleError::NotFound);
    }
    Ok(see_other(format!(
        "/console/dead-letters/{id}?{}",
        Done::query(kind.as_str(), report.done, report.skipped)
    )))
}

/// `POST /console/dead-letters/selected`: the list's checked rows (`id`, repeated) and
/// `action`; back to the same list.
pub(crate) async fn selected(
    action: Action,
    deps: web::Data<Deps>,
) -> Result<HttpResponse, ConsoleError> {
    let kind = Kind::parse(action.form.one("action"))?;
    let ids = action
        .form
        .all("id")
        .map(|id| {
            id.parse::<i64>()
                .map_err(|_| ConsoleError::BadRequest(format!("{id:?} is not a dead letter id")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err(ConsoleError::BadRequest(
            "select at least one dead letter first".into(),
        ));
    }
    if ids.len() > PAGE as usize {
        return Err(ConsoleError::BadRequest(format!(
            "at most {PAGE} at once (a page); to act on more, use the filter's bulk action"
        )));
    }
    let report = run(
        &deps,
        kind,
        &Selection::Ids(ids),
        &action.admin.email,
        false,
    )
    .await?;
    let done = Done::query(kind.as_str(), report.done, report.skipped);
    Ok(see_other(
        FilterParams::from_form(&action.form).url("/console/dead-letters", &done),
    ))
}

/// The filter a bulk action runs on, and whether a replay takes rows already replayed or
/// discarded: when support filtered on those states, that is what they mean. A discard only
/// ever sets aside dead rows.
fn bulk_filter(params: &FilterParams, kind: Kind) -> Result<(Filter, bool), ConsoleError> {
    let mut filter = params.filter().map_err(ConsoleError::BadRequest)?;
    match kind {
        Kind::Replay => {
            let again = filter.state != Some(DeadLetterState::Dead);
            Ok((filter, again))
        }
        Kind::Discard => match filter.state {
            Some(DeadLetterState::Dead) | None => {
                filter.state = Some(DeadLetterState::Dead);
                Ok((filter, false))
            }
            Some(_) => Err(ConsoleError::BadRequest(
                "only dead letters can be discarded: filter on state dead".into(),
            )),
        },
    }
}

/// `GET /console/dead-letters/bulk` parameters.
#[derive(Debug, Deserialize)]
pub(crate) struct BulkQuery {
    action: Option<String>,
    #[serde(flatten)]
    filters: FilterParams,
}

fn confirm_page(
    admin: &ConsoleAdmin,
    kind: Kind,
    params: &FilterParams,
    counted: Counted,
    changed_from: Option<usize>,
) -> HttpResponse {
    let matched = counted.matched;
    let verb = match kind {
        Kind::Replay => "Replay",
        Kind::Discard => "Discard",
    };
    let body = html! {
        p { a href=(params.url("/console/dead-letters", "")) { "← Back to the list" } }
        h1 { (verb) " everything this filter matches" }
        @if let Some(before) = changed_from {
            p.error { "The filter now matches " (matched) ", not the " (before) " you confirmed. Nothing was done: check the count and confirm again." }
        }
        p { "Filter: " code #bulk-filter { (params.describe()) } }
        p #dry-run { "Dry run: " strong #matched { (matched) } " dead letters match." }
        @if matched == 0 {
            p.muted { "Nothing to do." }
        } @else {
            form method="post" action="/console/dead-letters/bulk" {
                input type="hidden" name="csrf" value=(admin.csrf);
                input type="hidden" name="action" value=(kind.as_str());
                input type="hidden" name="expected" value=(matched);
                input type="hidden" name="up_to_id" value=(counted.up_to_id);
                input type="hidden" name="nonce" value=(matterhook_crypto::random_token(16));
                (params.hidden())
                div.actions {
                    button.danger #confirm type="submit" { (verb) " " (matched) }
                    a href=(params.url("/console/dead-letters", "")) { "Cancel" }
                }
            }
        }
    };
    let mut page = html_page(layout::page(
        &format!("{verb} by filter"),
        Section::DeadLetters,
        admin,
        body,
    ));
    if changed_from.is_some() {
        *page.status_mut() = actix_web::http::StatusCode::CONFLICT;
    }
    page
}

/// A dry run's count, and the newest row it counted up to: the confirmed action acts on those
/// rows only, not on ones dead-lettered since (its own failed replays among them).
#[derive(Debug, Clone, Copy)]
struct Counted {
    matched: usize,
    up_to_id: i64,
}

/// `GET /console/dead-letters/bulk?action=replay|discard&{filters}`: the dry run. Counts what
/// the action would touch, touches nothing, and asks for confirmation.
pub(crate) async fn bulk_preview(
    admin: ConsoleAdmin,
    deps: web::Data<Deps>,
    q: web::Query<BulkQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let q = q.into_inner();
    let kind = Kind::parse(q.action.as_deref())?;
    let (mut filter, _) = bulk_filter(&q.filters, kind)?;
    let up_to_id = {
        let mut conn = deps.pool.get().await?;
        matterhook_store::dead_letters::max_id(&mut conn).await?
    };
    filter.up_to_id = Some(up_to_id);
    let matched = ops::count(&deps.pool, &Selection::Filter(filter)).await?;
    Ok(confirm_page(
        &admin,
        kind,
        &q.filters,
        Counted { matched, up_to_id },
        None,
    ))
}

/// `POST /console/dead-letters/bulk`: the confirmation. When the filter still matches the count
/// confirmed (among the rows the dry run counted), the action runs in the background (a million
/// rows take a while), once however often the form is sent; otherwise nothing happens and the
/// new count is asked about.
pub(crate) async fn bulk(
    action: Action,
    deps: web::Data<Deps>,
) -> Result<HttpResponse, ConsoleError> {
    let kind = Kind::parse(action.form.one("action"))?;
    let params = FilterParams::from_form(&action.form);
    let expected: usize = confirmed_number(&action, "expected")?;
    let up_to_id: i64 = confirmed_number(&action, "up_to_id")?;
    let nonce = action
        .form
        .one("nonce")
        .ok_or_else(|| {
            ConsoleError::BadRequest("nonce is missing: confirm from the dry run's page".into())
        })?
        .to_owned();
    // First: a form sent twice is refused whatever the count says now.
    {
        let mut conn = deps.pool.get().await?;
        if !matterhook_store::console_sessions::use_confirmation(&mut conn, &nonce).await? {
            return Err(ConsoleError::Conflict(
                "this confirmation was already used: the action is running or done (see Recent actions)",
            ));
        }
    }
    let (mut filter, again) = bulk_filter(&params, kind)?;
    filter.up_to_id = Some(up_to_id);
    let selection = Selection::Filter(filter);
    let matched = ops::count(&deps.pool, &selection).await?;
    if matched != expected {
        return Ok(confirm_page(
            &action.admin,
            kind,
            &params,
            Counted { matched, up_to_id },
            Some(expected),
        ));
    }
    let actor = action.admin.email.clone();
    let deps = deps.into_inner();
    tokio::spawn(async move {
        match run(&deps, kind, &selection, &actor, again).await {
            Ok(report) => tracing::info!(
                action = kind.as_str(), %actor, matched = report.matched, done = report.done,
                "console bulk action finished"
            ),
            Err(e) => {
                tracing::error!(
                    action = kind.as_str(), %actor, error = %matterhook_telemetry::Chain(&e),
                    "console bulk action stopped"
                );
                record_stopped(&deps, kind, &selection, &actor, &e).await;
            }
        }
    });
    let done = Done::query(&format!("bulk-{}", kind.as_str()), matched, 0);
    Ok(see_other(params.url("/console/dead-letters", &done)))
}

/// A number the dry run's page put in its confirmation form.
fn confirmed_number<T: std::str::FromStr>(action: &Action, name: &str) -> Result<T, ConsoleError> {
    action
        .form
        .one(name)
        .and_then(|e| e.parse().ok())
        .ok_or_else(|| {
            ConsoleError::BadRequest(format!(
                "{name} is missing: confirm from the dry run's page"
            ))
        })
}

/// Records a bulk action that stopped part-way, so "Recent actions" shows it with how far it got
/// and why (a finished one is recorded by the operation itself).
async fn record_stopped(
    deps: &Deps,
    kind: Kind,
    selection: &Selection,
    actor: &str,
    error: &ops::OperationError,
) {
    let selection = serde_json::json!({
        "selection": selection,
        "stopped": matterhook_telemetry::Chain(error).to_string(),
    });
    let recorded = async {
        let mut conn = deps.pool.get().await.map_err(ConsoleError::from)?;
        matterhook_store::dead_letters::record_action(
            &mut conn,
            kind.as_str(),
            actor,
            &selection,
            error.report.done,
        )
        .await
        .map_err(ConsoleError::from)
    };
    if let Err(e) = recorded.await {
        tracing::error!(error = %matterhook_telemetry::Chain(&e), "could not record the stopped action");
    }
}
