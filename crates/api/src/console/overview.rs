//! The connections page (each firm's connection, its webhooks, last sync and parked work) and the
//! queues page (each worker queue's depth, consumers and oldest message's age).

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chrono::Utc;
use matterhook_domain::ConnectionStatus;
use matterhook_store::{connections, dead_letters, queue_progress, subscriptions, sync_queue};
use maud::html;
use serde::Deserialize;

use super::{
    dead_letters::html_page,
    error::ConsoleError,
    layout::{self, Section},
    session::ConsoleAdmin,
};
use crate::Deps;

/// Connections per page.
const PAGE: i64 = 50;

/// `GET /console/connections` parameters.
#[derive(Debug, Deserialize)]
pub(crate) struct ConnectionsQuery {
    /// Connections after this id.
    after: Option<String>,
}

fn status_class(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Connected => "state-replayed",
        ConnectionStatus::NeedsReauth => "state-dead",
        ConnectionStatus::Disconnected => "state-discarded",
    }
}

/// `GET /console/connections`.
pub(crate) async fn connections_page(
    admin: ConsoleAdmin,
    deps: web::Data<Deps>,
    q: web::Query<ConnectionsQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => a.parse::<i64>().map_err(|_| {
            ConsoleError::BadRequest(format!("after must be a connection id, not {a:?}"))
        })?,
        None => 0,
    };
    let mut conn = deps.pool.get().await?;
    let rows = connections::page_with_email(&mut conn, after, PAGE).await?;
    let ids: Vec<i64> = rows.iter().map(|(c, _)| c.id).collect();
    let mut hooks: HashMap<i64, Vec<subscriptions::Subscription>> = HashMap::new();
    for s in subscriptions::live_of(&mut conn, &ids).await? {
        hooks.entry(s.connection_id).or_default().push(s);
    }
    let dead: HashMap<i64, (i64, i64)> =
        dead_letters::dead_by_connection(&mut conn, &ids, matterhook_bus::retry::PARKED_REASON)
            .await?
            .into_iter()
            .map(|(id, dead, parked)| (id, (dead, parked)))
            .collect();
    drop(conn);
    let now = Utc::now();
    let next = (rows.len() as i64 == PAGE)
        .then(|| ids.last().copied())
        .flatten();
    let body = html! {
        h1 { "Connections" }
        table #connections {
            thead { tr {
                th.num { "Id" } th { "Firm" } th { "User" } th { "State" } th { "Webhooks (expiry)" }
                th { "Last sync" } th.num { "Parked work" } th.num { "Dead letters" }
            } }
            tbody {
                @for (c, email) in &rows {
                    @let (dead_count, parked) = dead.get(&c.id).copied().unwrap_or((0, 0));
                    tr id=(format!("connection-{}", c.id)) {
                        td.num { (c.id) }
                        td { (c.account_name) br; span.muted { "account " (c.clio_account_id) " · " (c.region) } }
                        td { (email) br; span.muted { (c.clio_user_name.as_deref().unwrap_or("")) } }
                        td class=(status_class(c.status)) {
                            (c.status.as_str())
                            @if let Some(reason) = &c.status_reason { br; span.muted { (reason) } }
                        }
                        td {
                            @for s in hooks.get(&c.id).map(Vec::as_slice).unwrap_or_default() {
                                div {
                                    (s.model.as_str()) ": " (s.status.as_str())
                                    @if let Some(exp) = s.expires_at {
                                        " · "
                                        @if exp <= now { span.state-dead { "expired " (layout::time(exp)) } }
                                        @else { "expires in " (layout::age((exp - now).num_seconds())) }
                                    }
                                }
                            }
                            @if !hooks.contains_key(&c.id) { span.muted { "none" } }
                        }
                        td { (layout::maybe_time(c.last_synced_at)) }
                        td.num { @if parked > 0 {
                            a href=(format!("/console/dead-letters?connection={}&reason={}", c.id,
                                url::form_urlencoded::byte_serialize(matterhook_bus::retry::PARKED_REASON.as_bytes()).collect::<String>())) { (parked) }
                        } @else { "0" } }
                        td.num { @if dead_count > 0 {
                            a href=(format!("/console/dead-letters?connection={}", c.id)) { (dead_count) }
                        } @else { "0" } }
                    }
                }
                @if rows.is_empty() { tr { td colspan="8" .muted { "No connections." } } }
            }
        }
        nav.paging {
            @if after > 0 { a href="/console/connections" { "← First" } }
            @if let Some(next) = next { a href=(format!("/console/connections?after={next}")) { "Next →" } }
        }
    };
    Ok(html_page(layout::page(
        "Connections",
        Section::Connections,
        &admin,
        body,
    )))
}

/// `GET /console/queues`.
pub(crate) async fn queues_page(
    admin: ConsoleAdmin,
    deps: web::Data<Deps>,
) -> Result<HttpResponse, ConsoleError> {
    // The broker down is worth saying on the page, not a failure of it: the backlog in
    // PostgreSQL and the consumers' progress are still there to read.
    let depths = match deps.queues.depths().await {
        Ok(depths) => Some(depths),
        Err(e) => {
            tracing::warn!(error = %matterhook_telemetry::Chain(&e), "console: the broker did not answer");
            None
        }
    };
    let (progress, backlog) = {
        let mut conn = deps.pool.get().await?;
        let progress: HashMap<String, queue_progress::QueueProgress> =
            queue_progress::all(&mut conn)
                .await?
                .into_iter()
                .map(|p| (p.queue.clone(), p))
                .collect();
        (progress, sync_queue::depth(&mut conn).await?)
    };
    let now = Utc::now();
    let body = html! {
        h1 { "Queues" }
        @if depths.is_none() {
            p.error role="alert" { "RabbitMQ did not answer: queue depths are unknown right now." }
        }
        table #queues {
            thead { tr {
                th { "Worker" } th { "Queue" } th.num { "Waiting" } th.num { "Consumers" }
                th.num { "Oldest message's age" } th { "Last taken" }
            } }
            tbody {
                @for d in depths.iter().flatten() {
                    @let taken = progress.get(&d.queue);
                    tr id=(format!("queue-{}", d.worker)) {
                        td { (d.worker) }
                        td { code { (d.queue) } }
                        @match d.ready {
                            Some(ready) => {
                                td.num.depth { (ready) }
                                td.num { (d.consumers.unwrap_or(0)) }
                                td.num { @if ready == 0 { "—" } @else {
                                    @match taken {
                                        Some(p) => { "≤ " (layout::age((now - p.last_sent_at).num_seconds())) },
                                        None => span.muted { "nothing taken yet" },
                                    }
                                } }
                            }
                            None => { td.num.muted colspan="3" { "not declared (its worker has not started)" } }
                        }
                        td { (layout::maybe_time(taken.map(|p| p.last_taken_at))) }
                    }
                }
            }
        }
        p.muted {
            "Quorum queues do not report their oldest message's time, so its age is bounded from "
            "what the consumers took last: in a queue taken in order, the message waiting at its "
            "head was sent after the newest one taken."
        }
        h2 { "Sync stage backlog (PostgreSQL)" }
        p { "Records waiting to be re-read: " strong #sync-backlog { (backlog) } }
    };
    let mut page = html_page(layout::page("Queues", Section::Queues, &admin, body));
    if depths.is_none() {
        *page.status_mut() = actix_web::http::StatusCode::SERVICE_UNAVAILABLE;
    }
    Ok(page)
}
