//! The dead-letter pages: the list with its filters and keyset paging (newest first), and one
//! dead letter in full.

use actix_web::{web, HttpResponse};
use matterhook_domain::DeadLetterState;
use matterhook_store::dead_letters::{self, DeadLetter};
use maud::{html, Markup};
use serde::Deserialize;

use super::{
    error::ConsoleError,
    filters::FilterParams,
    layout::{self, Section},
    session::ConsoleAdmin,
};
use crate::Deps;

/// Rows per page.
pub(crate) const PAGE: i64 = 50;

/// `GET /console/dead-letters` parameters: the filters, the page, and what an action just did.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(flatten)]
    filters: FilterParams,
    /// Rows before this id (the previous page's last).
    before: Option<String>,
    #[serde(flatten)]
    done: Done,
}

/// What an action just did, carried on its redirect so a reload does not repeat it.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
    n: Option<String>,
    skipped: Option<String>,
}

impl Done {
    /// The redirect's query for `what` (`replay`, `discard`, `bulk-replay`, `bulk-discard`).
    pub(crate) fn query(what: &str, n: usize, skipped: usize) -> String {
        format!("done={what}&n={n}&skipped={skipped}")
    }

    /// The notice for the page, when an action just happened.
    pub(crate) fn notice(&self) -> Option<Markup> {
        let n: usize = self.n.as_deref()?.parse().ok()?;
        let skipped: usize = self
            .skipped
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let text = match self.done.as_deref()? {
            "replay" => format!("Replayed {n}."),
            "discard" => format!("Discarded {n}."),
            "bulk-replay" => format!(
                "Replaying the {n} that matched, in the background: they leave this list as they go."
            ),
            "bulk-discard" => format!("Discarding the {n} that matched, in the background."),
            _ => return None,
        };
        let skipped =
            (skipped > 0).then(|| format!(" {skipped} left alone: already replayed or discarded."));
        Some(html! { p.notice role="status" { (text) @if let Some(s) = skipped { (s) } } })
    }
}

fn state_class(state: DeadLetterState) -> &'static str {
    match state {
        DeadLetterState::Dead => "state-dead",
        DeadLetterState::Replayed => "state-replayed",
        DeadLetterState::Discarded => "state-discarded",
    }
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

fn filter_form(deps: &Deps, f: &FilterParams) -> Markup {
    let state = f.field("state");
    let queue = f.field("queue");
    html! {
        form.filters method="get" action="/console/dead-letters" {
            label { "State"
                select name="state" {
                    @for (value, label) in [("", "dead"), ("replayed", "replayed"), ("discarded", "discarded"), ("all", "all")] {
                        option value=(value) selected[state == value || (value.is_empty() && state == "dead")] { (label) }
                    }
                }
            }
            label { "Queue"
                select name="queue" {
                    option value="" { "any" }
                    @for q in deps.queues.worker_queues() {
                        option value=(q) selected[queue == q] { (q) }
                    }
                }
            }
            label { "Reason or error contains" input type="search" name="reason" value=(f.field("reason")) size="28"; }
            label { "Connection" input type="number" name="connection" min="1" value=(f.field("connection")) style="width:7em"; }
            label { "Failed since (UTC)" input type="datetime-local" name="since" value=(f.field("since")); }
            label { "Failed before (UTC)" input type="datetime-local" name="until" value=(f.field("until")); }
            button.primary type="submit" { "Filter" }
            a href="/console/dead-letters" { "Clear" }
        }
    }
}

fn rows_table(rows: &[DeadLetter]) -> Markup {
    html! {
        table #dead-letters {
            thead { tr {
                th { input type="checkbox" title="Select all on this page" onclick="for (const b of document.querySelectorAll('input[name=id]')) b.checked = this.checked"; }
                th.num { "Id" } th { "Last failed" } th { "Queue" } th { "Event" }
                th.num { "Connection" } th { "Reason" } th.num { "Attempts" } th { "State" }
            } }
            tbody {
                @for row in rows {
                    tr {
                        td { input type="checkbox" name="id" value=(row.id) aria-label=(format!("Select {}", row.id)); }
                        td.num { a href=(format!("/console/dead-letters/{}", row.id)) { (row.id) } }
                        td { (layout::time(row.last_failed_at)) }
                        td { (row.queue) }
                        td { (row.event.as_deref().unwrap_or("—")) }
                        td.num { @match row.connection_id {
                            Some(c) => a href=(format!("/console/dead-letters?connection={c}")) { (c) },
                            None => "—",
                        } }
                        td title=(row.error) {
                            (short(&row.reason, 80)) br;
                            span.muted { (short(row.error.lines().next().unwrap_or(""), 100)) }
                        }
                        td.num { (row.attempts) }
                        td class=(state_class(row.state)) { (row.state.as_str()) }
                    }
                }
                @if rows.is_empty() { tr { td colspan="9" .muted { "No dead letters match." } } }
            }
        }
    }
}

/// `GET /console/dead-letters`.
pub(crate) async fn list(
    admin: ConsoleAdmin,
    deps: web::Data<Deps>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let q = q.into_inner();
    let filter = q.filters.filter().map_err(ConsoleError::BadRequest)?;
    let before = q
        .before
        .as_deref()
        .filter(|b| !b.is_empty())
        .map(|b| {
            b.parse::<i64>().map_err(|_| {
                ConsoleError::BadRequest(format!("before must be a row id, not {b:?}"))
            })
        })
        .transpose()?;
    let (rows, actions) = {
        let mut conn = deps.pool.get().await?;
        let rows = dead_letters::list_newest(&mut conn, &filter, before, PAGE).await?;
        // A cursor names a row: one that does not exist is a bad link, not an empty page.
        if let Some(before) = before.filter(|_| rows.is_empty()) {
            if dead_letters::by_ids(&mut conn, &[before]).await?.is_empty() {
                return Err(ConsoleError::BadRequest(format!(
                    "before names no dead letter ({before}): start from the first page"
                )));
            }
        }
        let actions = dead_letters::recent_actions(&mut conn, 5).await?;
        (rows, actions)
    };
    let list = "/console/dead-letters";
    let older = (rows.len() as i64 == PAGE)
        .then(|| {
            rows.last()
                .map(|r| q.filters.url(list, &format!("before={}", r.id)))
        })
        .flatten();
    let body = html! {
        h1 { "Dead letters" }
        @if let Some(notice) = q.done.notice() { (notice) }
        (filter_form(&deps, &q.filters))
        div.actions {
            a #bulk-replay href=(q.filters.url("/console/dead-letters/bulk", "action=replay")) { "Replay everything this filter matches…" }
            a #bulk-discard href=(q.filters.url("/console/dead-letters/bulk", "action=discard")) { "Discard everything this filter matches…" }
        }
        form method="post" action="/console/dead-letters/selected" {
            input type="hidden" name="csrf" value=(admin.csrf);
            (q.filters.hidden())
            div.actions {
                button.primary type="submit" name="action" value="replay" { "Replay selected" }
                button.danger type="submit" name="action" value="discard" { "Discard selected" }
            }
            (rows_table(&rows))
        }
        nav.paging {
            @if before.is_some() { a href=(q.filters.url(list, "")) { "← Newest" } }
            @if let Some(older) = older { a #older href=(older) { "Older →" } }
        }
        @if !actions.is_empty() {
            h2 { "Recent actions" }
            table {
                thead { tr { th { "When" } th { "Who" } th { "Action" } th.num { "Rows" } th { "Selection" } } }
                tbody { @for a in &actions {
                    tr { td { (layout::time(a.at)) } td { (a.actor) } td { (a.action) } td.num { (a.count) }
                         td { code { (short(&a.selection.to_string(), 120)) } } }
                } }
            }
        }
    };
    Ok(html_page(layout::page(
        "Dead letters",
        Section::DeadLetters,
        &admin,
        body,
    )))
}

/// A rendered page, never cached (it shows live state and carries the CSRF token), never framed
/// by another page (clickjacking).
pub(crate) fn html_page(markup: Markup) -> HttpResponse {
    let mut page = HttpResponse::Ok();
    layout::page_headers(&mut page);
    page.body(markup.into_string())
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// `GET /console/dead-letters/{id}`.
pub(crate) async fn show(
    admin: ConsoleAdmin,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
    done: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let id = id.into_inner();
    let (row, history) = {
        let mut conn = deps.pool.get().await?;
        let row = dead_letters::by_ids(&mut conn, &[id])
            .await?
            .pop()
            .ok_or(ConsoleError::NotFound)?;
        (row, dead_letters::history(&mut conn, id).await?)
    };
    let body = html! {
        p { a href="/console/dead-letters" { "← Dead letters" } }
        h1 { "Dead letter " (row.id) }
        @if let Some(notice) = done.notice() { (notice) }
        dl.facts {
            dt { "State" } dd #state class=(state_class(row.state)) { (row.state.as_str()) }
            dt { "Queue" } dd { (row.queue) }
            dt { "Routing key" } dd { code { (row.routing_key) } }
            dt { "Event" } dd { (row.model.map_or("—", |m| m.as_str())) " · " (row.event.as_deref().unwrap_or("—")) }
            dt { "Event id" } dd { code { (row.event_id) } }
            dt { "Connection" } dd { @match row.connection_id {
                Some(c) => a href=(format!("/console/connections#connection-{c}")) { (c) },
                None => "—",
            } }
            dt { "Reason" } dd #reason { (row.reason) }
            dt { "Attempts" } dd { (row.attempts) }
            dt { "First failed" } dd { (layout::time(row.first_failed_at)) }
            dt { "Last failed" } dd { (layout::time(row.last_failed_at)) }
            dt { "Replays" } dd { (row.replays) }
            dt { "Last changed by" } dd { (row.state_changed_by.as_deref().unwrap_or("—")) " " span.muted { (layout::maybe_time(row.state_changed_at)) } }
        }
        div.actions {
            form method="post" action=(format!("/console/dead-letters/{}/replay", row.id)) {
                input type="hidden" name="csrf" value=(admin.csrf);
                @if row.state != DeadLetterState::Dead {
                    label { input type="checkbox" name="again" value="true"; " replay again (it was " (row.state.as_str()) ")" } " "
                }
                button.primary #replay type="submit" { "Replay" }
            }
            @if row.state == DeadLetterState::Dead {
                form method="post" action=(format!("/console/dead-letters/{}/discard", row.id)) {
                    input type="hidden" name="csrf" value=(admin.csrf);
                    button.danger #discard type="submit" { "Discard" }
                }
            }
        }
        h2 { "Error chain" }
        pre #error { (row.error) }
        h2 { "Payload" }
        pre #payload { (pretty(&row.envelope)) }
        h2 { "Headers" }
        pre #headers { (pretty(&row.headers)) }
        h2 { "Actions taken" }
        @if history.is_empty() { p.muted { "None yet." } } @else {
            table #history {
                thead { tr { th { "When" } th { "Who" } th { "Action" } } }
                tbody { @for h in &history { tr { td { (layout::time(h.at)) } td { (h.actor) } td { (h.action) } } } }
            }
        }
    };
    Ok(html_page(layout::page(
        &format!("Dead letter {}", row.id),
        Section::DeadLetters,
        &admin,
        body,
    )))
}
