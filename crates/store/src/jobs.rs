//! Long work a user started, with its progress (`GET /api/jobs/{id}`): a worker claims a queued
//! job under a lease, reports progress, and finishes it.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::schema::jobs as j;

/// Recomputing a connection's CRM projection.
pub const CRM_PROJECTION: &str = "crm_projection";

/// A job.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = j)]
pub struct Job {
    /// Row id.
    pub id: i64,
    /// What it does.
    pub kind: String,
    /// The connection it works on.
    pub connection_id: i64,
    /// Who started it.
    #[serde(skip)]
    pub user_id: i64,
    /// queued, running, done or failed.
    pub state: String,
    /// Items to do, once known.
    pub total: Option<i32>,
    /// Items done.
    pub done: i32,
    /// Why it failed.
    pub error: Option<String>,
    /// Until when a worker holds it.
    #[serde(skip)]
    pub lease_until: Option<DateTime<Utc>>,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Started.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Queues a job of `kind` on `connection` for `user`; a queued one of the same kind and connection
/// not yet started is reused (a second settings change folds into it).
pub async fn queue(
    conn: &mut AsyncPgConnection,
    kind: &str,
    connection: i64,
    user: i64,
) -> QueryResult<Job> {
    let waiting: Option<Job> = j::table
        .filter(j::kind.eq(kind))
        .filter(j::connection_id.eq(connection))
        .filter(j::state.eq("queued"))
        .select(Job::as_select())
        .first(conn)
        .await
        .optional()?;
    if let Some(job) = waiting {
        return Ok(job);
    }
    diesel::insert_into(j::table)
        .values((
            j::kind.eq(kind),
            j::connection_id.eq(connection),
            j::user_id.eq(user),
        ))
        .returning(Job::as_returning())
        .get_result(conn)
        .await
}

/// Takes the oldest job of `kind` that is queued (or running with its lease run out), for
/// `lease`.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    kind: &str,
    lease_until: DateTime<Utc>,
) -> QueryResult<Option<Job>> {
    let now = Utc::now();
    conn.transaction(async |conn| {
        let id: Option<i64> = j::table
            .filter(j::kind.eq(kind))
            .filter(
                j::state
                    .eq("queued")
                    .or(j::state.eq("running").and(j::lease_until.lt(now))),
            )
            .order(j::id.asc())
            .select(j::id)
            .for_update()
            .skip_locked()
            .first(conn)
            .await
            .optional()?;
        let Some(id) = id else { return Ok(None) };
        diesel::update(j::table.find(id))
            .set((
                j::state.eq("running"),
                j::lease_until.eq(lease_until),
                j::started_at.eq(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                >("coalesce(started_at, now())")),
            ))
            .returning(Job::as_returning())
            .get_result(conn)
            .await
            .map(Some)
    })
    .await
}

/// Records progress and extends the lease.
pub async fn progress(
    conn: &mut AsyncPgConnection,
    id: i64,
    done: i32,
    total: i32,
    lease_until: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(j::table.find(id))
        .set((
            j::done.eq(done),
            j::total.eq(total),
            j::lease_until.eq(lease_until),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Finishes the job: done, or failed with `error`.
pub async fn finish(conn: &mut AsyncPgConnection, id: i64, error: Option<&str>) -> QueryResult<()> {
    diesel::update(j::table.find(id))
        .set((
            j::state.eq(if error.is_some() { "failed" } else { "done" }),
            j::error.eq(error),
            j::lease_until.eq(None::<DateTime<Utc>>),
            j::finished_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// One of the user's jobs.
pub async fn of_user(conn: &mut AsyncPgConnection, user: i64, id: i64) -> QueryResult<Option<Job>> {
    j::table
        .filter(j::user_id.eq(user))
        .filter(j::id.eq(id))
        .select(Job::as_select())
        .first(conn)
        .await
        .optional()
}

/// A job, whoever started it (the admin CLI).
pub async fn get(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Job>> {
    j::table
        .find(id)
        .select(Job::as_select())
        .first(conn)
        .await
        .optional()
}
