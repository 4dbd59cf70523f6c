//! Deletions no webhook reported. A listing with `updated_since` never shows a deleted record,
//! so only a complete listing (a full sweep, or the baseline) can notice one: each live record of
//! the mirror that the listing lacked is queued for the ordinary re-read. That re-read marks it
//! deleted only on Clio's 404 for the record itself; a 403 (a record this user may not see, in a
//! mirror shared by the firm) leaves it alone.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use matterhook_bus::{ClioEvent, Envelope, Event, ENVELOPE_VERSION};
use matterhook_domain::{ClioId, ConnectionId, Model, SubscriptionId};
use matterhook_store::{
    mirror,
    sync_queue::{self, NewWork},
};

/// The event of such work. Dead-lettered and replayed, it is `clio.{model}.unlisted`, which the
/// sync worker's binding takes.
pub const UNLISTED: &str = "unlisted";

/// Queues for a re-read every live mirrored `model` record of `account` not in `listed`, the ids
/// a complete listing through `connection_id` (begun at `started`) returned; how many.
pub(crate) async fn queue_unlisted(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    account: i64,
    model: Model,
    listed: &HashSet<i64>,
    started: DateTime<Utc>,
) -> QueryResult<usize> {
    let now = Utc::now();
    let sweep = started.timestamp_millis();
    let mut queued = 0;
    for id in mirror::live_ids(conn, model, account).await? {
        if listed.contains(&id) {
            continue;
        }
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            event_id: format!("unlisted-{connection_id}-{model}-{id}-{sweep}"),
            subscription_id: SubscriptionId(0),
            connection_id: ConnectionId(connection_id),
            received_at: now,
            request_id: format!("sweep-{connection_id}-{sweep}"),
            event: Event::Clio(ClioEvent {
                model,
                event: UNLISTED.to_owned(),
                record_id: Some(ClioId(id)),
                etag: None,
                data: serde_json::json!({ "id": id }),
            }),
        };
        let raw = serde_json::to_value(&envelope).unwrap_or_default();
        sync_queue::push(
            conn,
            &NewWork {
                connection_id,
                model,
                record_id: id,
                event_id: &envelope.event_id,
                envelope: &raw,
                due_at: now,
            },
        )
        .await?;
        queued += 1;
    }
    Ok(queued)
}
