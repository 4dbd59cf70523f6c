//! The dead-letter store: messages workers gave up on, and what support did with them.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::{DeadLetterState, Model};
use serde_json::Value;

use crate::schema::{dead_letter_actions, dead_letters};

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
/// claiming one meanwhile keeps it). Returns how many it discarded.
pub async fn discard(conn: &mut AsyncPgConnection, ids: &[i64], actor: &str) -> QueryResult<usize> {
    diesel::update(
        dead_letters::table
            .filter(dead_letters::id.eq_any(ids))
            .filter(dead_letters::state.eq(DeadLetterState::Dead)),
    )
    .set((
        dead_letters::state.eq(DeadLetterState::Discarded),
        dead_letters::state_changed_by.eq(actor),
        dead_letters::state_changed_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await
}

/// Claims a row for replay: marks it replayed (counting the replay) when it is dead, or whatever
/// its state when `again`. Returns whether it claimed it. Run it in the transaction that publishes
/// the replay, so a failed publish leaves the row as it was.
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
