//! Idempotency marks: which consumer has applied which event.

use diesel::{ExpressionMethods, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::processed_events;

/// Records that `consumer` applies `event_id`. Returns `false` when it already had, in which case
/// the caller must not apply it again. Call it inside the transaction of the effect, so the mark
/// and the effect commit (or roll back) together.
pub async fn mark_processed(
    conn: &mut AsyncPgConnection,
    consumer: &str,
    event_id: &str,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(processed_events::table)
        .values((
            processed_events::consumer.eq(consumer),
            processed_events::event_id.eq(event_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// Records that `consumer` applies each of `event_ids` (one statement) and returns the ones it
/// had not applied before, which are the only ones the caller may apply. The ids are inserted in
/// sorted order, so concurrent callers take the index's locks in one order. Call it inside the
/// transaction of the effects.
pub async fn mark_all_processed(
    conn: &mut AsyncPgConnection,
    consumer: &str,
    event_ids: &[&str],
) -> QueryResult<std::collections::HashSet<String>> {
    let mut sorted = event_ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let rows: Vec<_> = sorted
        .iter()
        .map(|id| {
            (
                processed_events::consumer.eq(consumer),
                processed_events::event_id.eq(*id),
            )
        })
        .collect();
    let fresh: Vec<String> = diesel::insert_into(processed_events::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .returning(processed_events::event_id)
        .get_results(conn)
        .await?;
    Ok(fresh.into_iter().collect())
}

/// Forgets that `consumer` applied these events, so a replay of them is applied again: for work
/// a consumer accepted, then gave up on later (the sync worker's batches).
pub async fn forget(
    conn: &mut AsyncPgConnection,
    consumer: &str,
    event_ids: &[String],
) -> QueryResult<usize> {
    use diesel::QueryDsl;
    diesel::delete(
        processed_events::table
            .filter(processed_events::consumer.eq(consumer))
            .filter(processed_events::event_id.eq_any(event_ids)),
    )
    .execute(conn)
    .await
}

/// How many events `consumer` has applied.
pub async fn count(conn: &mut AsyncPgConnection, consumer: &str) -> QueryResult<i64> {
    use diesel::QueryDsl;
    processed_events::table
        .filter(processed_events::consumer.eq(consumer))
        .count()
        .get_result(conn)
        .await
}
