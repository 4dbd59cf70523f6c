//! The dead-letter store: messages workers gave up on, and what support did with them.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::{DeadLetterState, Model};
use serde_json::Value;

use crate::schema::{dead_letter_actions, dead_letter_history, dead_letters};

/// A dead letter to record.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = dead_letters)]
pub struct NewDeadLetter {
    /// This dead-lettering's id (recording it twice is a no-op).
    pub dead_letter_id: String,
    /// The queue that failed.
    pub queue: String,
    /// The message's routing key.
    pub routing_key: String,
    /// The event id.
    pub event_id: String,
    /// The envelope as published (or, when it was not JSON, a string holding the body).
    pub envelope: Value,
    /// Model, for filtering.
    pub model: Option<Model>,
    /// Event, for filtering.
    pub event: Option<String>,
    /// Connection, for filtering.
    pub connection_id: Option<i64>,
    /// Why it was dead-lettered.
    pub reason: String,
    /// The error chain.
    pub error: String,
    /// Attempts made.
    pub attempts: i32,
    /// First failure.
    pub first_failed_at: DateTime<Utc>,
    /// Last failure.
    pub last_failed_at: DateTime<Utc>,
    /// The message's properties and AMQP headers (an object; empty when it had none).
    pub headers: Value,
}

/// A recorded dead letter.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = dead_letters)]
pub struct DeadLetter {
    /// Row id (what support refers to).
    pub id: i64,
    /// This dead-lettering's id.
    pub dead_letter_id: String,
    /// The queue that failed.
    pub queue: String,
    /// The message's routing key.
    pub routing_key: String,
    /// The event id.
    pub event_id: String,
    /// The envelope.
    pub envelope: Value,
    /// Model.
    pub model: Option<Model>,
    /// Event.
    pub event: Option<String>,
    /// Connection.
    pub connection_id: Option<i64>,
    /// Why.
    pub reason: String,
    /// The error chain.
    pub error: String,
    /// Attempts made.
    pub attempts: i32,
    /// First failure.
    pub first_failed_at: DateTime<Utc>,
    /// Last failure.
    pub last_failed_at: DateTime<Utc>,
    /// dead, replayed or discarded.
    pub state: DeadLetterState,
    /// Times replayed.
    pub replays: i32,
    /// Who last replayed or discarded it.
    pub state_changed_by: Option<String>,
    /// When.
    pub state_changed_at: Option<DateTime<Utc>>,
    /// Recorded.
    pub created_at: DateTime<Utc>,
    /// The message's properties and AMQP headers when it was given up on.
    pub headers: Value,
}

/// One replay or discard of one dead letter.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = dead_letter_history)]
pub struct HistoryEntry {
    /// `replay` or `discard`.
    pub action: String,
    /// Who.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What was done to one dead letter, oldest first.
pub async fn history(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Vec<HistoryEntry>> {
    dead_letter_history::table
        .filter(dead_letter_history::dead_letter_id.eq(id))
        .order(dead_letter_history::id.asc())
        .select(HistoryEntry::as_select())
        .load(conn)
        .await
}

async fn record_history(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    action: &str,
    actor: &str,
) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = ids
        .iter()
        .map(|id| {
            (
                dead_letter_history::dead_letter_id.eq(*id),
                dead_letter_history::action.eq(action),
                dead_letter_history::actor.eq(actor),
            )
        })
        .collect();
    diesel::insert_into(dead_letter_history::table)
        .values(rows)
        .execute(conn)
        .await
        .map(drop)
}

/// Records a dead letter; `false` when this dead-lettering was already recorded.
pub async fn record(conn: &mut AsyncPgConnection, letter: &NewDeadLetter) -> QueryResult<bool> {
    let n = diesel::insert_into(dead_letters::table)
        .values(letter)
        .on_conflict(dead_letters::dead_letter_id)
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Records a dead letter (or finds it, when this dead-lettering was already recorded): its row id.
pub async fn record_returning_id(
    conn: &mut AsyncPgConnection,
    letter: &NewDeadLetter,
) -> QueryResult<i64> {
    let inserted: Option<i64> = diesel::insert_into(dead_letters::table)
        .values(letter)
        .on_conflict(dead_letters::dead_letter_id)
        .do_nothing()
        .returning(dead_letters::id)
        .get_result(conn)
        .await
        .optional()?;
    match inserted {
        Some(id) => Ok(id),
        None => {
            dead_letters::table
                .filter(dead_letters::dead_letter_id.eq(&letter.dead_letter_id))
                .select(dead_letters::id)
                .first(conn)
                .await
        }
    }
}

/// Which dead letters a list, replay or discard applies to. Every field narrows; none means all.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Only these states (default for replay: `dead`).
    pub state: Option<DeadLetterState>,
    /// The queue that failed.
    pub queue: Option<String>,
    /// The model.
    pub model: Option<Model>,
    /// The event.
    pub event: Option<String>,
    /// The connection.
    pub connection_id: Option<i64>,
    /// Text the reason or error contains (case-insensitive).
    pub text: Option<String>,
    /// Last failure at or after.
    pub since: Option<DateTime<Utc>>,
    /// Last failure before.
    pub until: Option<DateTime<Utc>>,
    /// Rows up to this id only: a bulk action acts on the rows its dry run counted, not on ones
    /// dead-lettered since (its own failed replays among them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to_id: Option<i64>,
}

/// The `state` a caller asks for, as a filter's state: absent means `dead`, `all` means any.
pub fn state_param(raw: Option<&str>) -> Result<Option<DeadLetterState>, String> {
    match raw {
        None => Ok(Some(DeadLetterState::Dead)),
        Some("all") => Ok(None),
        Some(s) => DeadLetterState::parse(s)
            .map(Some)
            .map_err(|_| format!("state must be dead, replayed, discarded or all, not {s:?}")),
    }
}

impl Filter {
    /// The filter a replay uses: with `again` it also takes rows already replayed or discarded,
    /// so the default `dead` state widens to every state.
    pub fn for_replay(mut self, again: bool) -> Self {
        if again && self.state == Some(DeadLetterState::Dead) {
            self.state = None;
        }
        self
    }

    fn query(&self) -> dead_letters::BoxedQuery<'_, diesel::pg::Pg> {
        let mut q = dead_letters::table.into_boxed();
        if let Some(v) = &self.state {
            q = q.filter(dead_letters::state.eq(v));
        }
        if let Some(v) = &self.queue {
            q = q.filter(dead_letters::queue.eq(v));
        }
        if let Some(v) = &self.model {
            q = q.filter(dead_letters::model.eq(v));
        }
        if let Some(v) = &self.event {
            q = q.filter(dead_letters::event.eq(v));
        }
        if let Some(v) = self.connection_id {
            q = q.filter(dead_letters::connection_id.eq(v));
        }
        if let Some(v) = &self.text {
            let pattern = format!(
                "%{}%",
                v.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            q = q.filter(
                dead_letters::reason
                    .ilike(pattern.clone())
                    .or(dead_letters::error.ilike(pattern)),
            );
        }
        if let Some(v) = self.since {
            q = q.filter(dead_letters::last_failed_at.ge(v));
        }
        if let Some(v) = self.until {
            q = q.filter(dead_letters::last_failed_at.lt(v));
        }
        if let Some(v) = self.up_to_id {
            q = q.filter(dead_letters::id.le(v));
        }
        q
    }
}

/// One page of matching dead letters, oldest first, after row `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &Filter,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<DeadLetter>> {
    filter
        .query()
        .filter(dead_letters::id.gt(after))
        .order(dead_letters::id.asc())
        .limit(limit)
        .select(DeadLetter::as_select())
        .load(conn)
        .await
}

/// One page of matching dead letters, newest failure first, after row `before` in that order
/// (the console's order: support looks at what failed last). Keyset paging on
/// `(last_failed_at, id)`, which one index serves, so a page deep in a million rows or inside a
/// time range costs what the first one does.
pub async fn list_newest(
    conn: &mut AsyncPgConnection,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<DeadLetter>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Bool};
    let mut q = filter.query();
    if let Some(before) = before {
        q = q.filter(
            sql::<Bool>(
                "(dead_letters.last_failed_at, dead_letters.id) < \
                 (SELECT b.last_failed_at, b.id FROM dead_letters b WHERE b.id = ",
            )
            .bind::<BigInt, _>(before)
            .sql(")"),
        );
    }
    q.order((dead_letters::last_failed_at.desc(), dead_letters::id.desc()))
        .limit(limit)
        .select(DeadLetter::as_select())
        .load(conn)
        .await
}

/// The newest row's id (0 when there is none): where a bulk action's dry run draws its line.
pub async fn max_id(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    dead_letters::table
        .select(diesel::dsl::max(dead_letters::id))
        .get_result::<Option<i64>>(conn)
        .await
        .map(|m| m.unwrap_or(0))
}

/// How many match.
pub async fn count(conn: &mut AsyncPgConnection, filter: &Filter) -> QueryResult<i64> {
    filter.query().count().get_result(conn).await
}

/// Dead letters by id.
pub async fn by_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<DeadLetter>> {
    dead_letters::table
        .filter(dead_letters::id.eq_any(ids))
        .order(dead_letters::id.asc())
        .select(DeadLetter::as_select())
        .load(conn)
        .await
}

/// How many of these ids exist.
pub async fn count_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<i64> {
    dead_letters::table
        .filter(dead_letters::id.eq_any(ids))
        .count()
        .get_result(conn)
        .await
}

/// Marks those of these rows that are dead discarded, by `actor`, in one statement (so a replay
/// claiming one meanwhile keeps it), and records it in each row's history. Returns how many it
/// discarded.
pub async fn discard(conn: &mut AsyncPgConnection, ids: &[i64], actor: &str) -> QueryResult<usize> {
    use diesel_async::AsyncConnection;
    conn.transaction(async |conn| {
        let discarded: Vec<i64> = diesel::update(
            dead_letters::table
                .filter(dead_letters::id.eq_any(ids))
                .filter(dead_letters::state.eq(DeadLetterState::Dead)),
        )
        .set((
            dead_letters::state.eq(DeadLetterState::Discarded),
            dead_letters::state_changed_by.eq(actor),
            dead_letters::state_changed_at.eq(Utc::now()),
        ))
        .returning(dead_letters::id)
        .get_results(conn)
        .await?;
        record_history(conn, &discarded, "discard", actor).await?;
        Ok(discarded.len())
    })
    .await
}

/// Claims a row for replay: marks it replayed (counting the replay) when it is dead, or whatever
/// its state when `again`, and records the replay in its history. Returns whether it claimed it.
/// Run it in the transaction that publishes the replay, so a failed publish leaves the row as it
/// was.
pub async fn claim_for_replay(
    conn: &mut AsyncPgConnection,
    id: i64,
    actor: &str,
    again: bool,
) -> QueryResult<bool> {
    // One statement: a concurrent replay's claim re-checks the state after ours commits.
    use diesel::{sql_types::Bool, IntoSql};
    let claimed = diesel::update(
        dead_letters::table.filter(dead_letters::id.eq(id)).filter(
            dead_letters::state
                .eq(DeadLetterState::Dead)
                .or(again.into_sql::<Bool>()),
        ),
    )
    .set((
        dead_letters::state.eq(DeadLetterState::Replayed),
        dead_letters::replays.eq(dead_letters::replays + 1),
        dead_letters::state_changed_by.eq(actor),
        dead_letters::state_changed_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?;
    if claimed == 1 {
        record_history(conn, &[id], "replay", actor).await?;
    }
    Ok(claimed == 1)
}

/// Records who replayed or discarded how many rows, chosen how.
pub async fn record_action(
    conn: &mut AsyncPgConnection,
    action: &str,
    actor: &str,
    selection: &Value,
    count: usize,
) -> QueryResult<()> {
    diesel::insert_into(dead_letter_actions::table)
        .values((
            dead_letter_actions::action.eq(action),
            dead_letter_actions::actor.eq(actor),
            dead_letter_actions::selection.eq(selection),
            dead_letter_actions::count.eq(i32::try_from(count).unwrap_or(i32::MAX)),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Connected connections that still have dead rows with exactly `reason` (parked work a reconnect
/// did not send back).
pub async fn connected_with_reason(
    conn: &mut AsyncPgConnection,
    reason: &str,
) -> QueryResult<Vec<i64>> {
    use crate::schema::connections;
    let waiting = dead_letters::table
        .filter(dead_letters::state.eq(DeadLetterState::Dead))
        .filter(dead_letters::reason.eq(reason.to_owned()))
        .select(dead_letters::connection_id);
    connections::table
        .filter(connections::status.eq(crate::connections::CONNECTED))
        .filter(connections::id.nullable().eq_any(waiting))
        .select(connections::id)
        .order(connections::id.asc())
        .load(conn)
        .await
}

/// Per connection among `connection_ids`: its dead rows, and how many of them are parked work
/// (`parked_reason`), for the connections page. Uses the connection index, not the whole table.
pub async fn dead_by_connection(
    conn: &mut AsyncPgConnection,
    connection_ids: &[i64],
    parked_reason: &str,
) -> QueryResult<Vec<(i64, i64, i64)>> {
    use diesel::dsl::{count_star, sql};
    use diesel::sql_types::BigInt;
    dead_letters::table
        .filter(dead_letters::connection_id.eq_any(connection_ids))
        .filter(dead_letters::state.eq(DeadLetterState::Dead))
        .group_by(dead_letters::connection_id)
        .select((
            dead_letters::connection_id.assume_not_null(),
            count_star(),
            sql::<BigInt>("count(*) FILTER (WHERE reason = ")
                .bind::<diesel::sql_types::Text, _>(parked_reason.to_owned())
                .sql(")"),
        ))
        .load(conn)
        .await
}

/// The latest support actions (replays and discards as wholes), newest first.
pub async fn recent_actions(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Action>> {
    dead_letter_actions::table
        .order(dead_letter_actions::id.desc())
        .limit(limit)
        .select(Action::as_select())
        .load(conn)
        .await
}

/// A replay or discard as a whole: who, how many rows, chosen how.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = dead_letter_actions)]
pub struct Action {
    /// `replay` or `discard`.
    pub action: String,
    /// Who.
    pub actor: String,
    /// The ids or the filter.
    pub selection: Value,
    /// Rows done.
    pub count: i32,
    /// When it finished.
    pub at: DateTime<Utc>,
}
