//! How far each worker queue's consumers have got: the newest sent-at among the messages they
//! took. Quorum queues do not report their head message's timestamp, so the support console
//! estimates the oldest waiting message's age from this: in a queue taken in order, the message
//! at the head was sent after the last one taken.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, upsert::excluded, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::queue_progress as q;

/// One queue's progress.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = q)]
pub struct QueueProgress {
    /// The queue.
    pub queue: String,
    /// The newest sent-at of a message taken.
    pub last_sent_at: DateTime<Utc>,
    /// When a message was last taken.
    pub last_taken_at: DateTime<Utc>,
}

/// Records that a consumer of `queue` took, at `taken_at`, a message sent at `sent_at`. A retried
/// message (sent earlier) does not move the newest sent-at back.
pub async fn record(
    conn: &mut AsyncPgConnection,
    queue: &str,
    sent_at: DateTime<Utc>,
    taken_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(q::table)
        .values((
            q::queue.eq(queue),
            q::last_sent_at.eq(sent_at),
            q::last_taken_at.eq(taken_at),
        ))
        .on_conflict(q::queue)
        .do_update()
        .set((
            q::last_sent_at.eq(diesel::dsl::sql::<diesel::sql_types::Timestamptz>(
                "GREATEST(queue_progress.last_sent_at, excluded.last_sent_at)",
            )),
            q::last_taken_at.eq(excluded(q::last_taken_at)),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Every queue's progress.
pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<QueueProgress>> {
    q::table
        .order(q::queue.asc())
        .select(QueueProgress::as_select())
        .load(conn)
        .await
}
