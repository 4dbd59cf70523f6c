//! A connection that syncs again tells the products, through the outbox, so they catch up for
//! its user (see [`Change::ConnectionResumed`]).

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use matterhook_bus::{Envelope, Event, ENVELOPE_VERSION};
use matterhook_domain::{
    sync_events::{Change, DomainEvent},
    AccountId, ClioId, ConnectionId, SubscriptionId, UserId,
};
use matterhook_store::{connections::ClioIdentity, outbox};

/// Writes the `sync.user.resumed` event of connection `id`, in the caller's transaction (the one
/// that marks it connected), so the event exists exactly when the resumption does.
pub(crate) async fn announce(
    conn: &mut AsyncPgConnection,
    id: i64,
    who: &ClioIdentity,
    since: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let envelope = Envelope {
        version: ENVELOPE_VERSION,
        // One resumption, one id: a repeated callback cannot announce it twice.
        event_id: format!("connection:{id}:resumed:{}", since.timestamp_micros()),
        subscription_id: SubscriptionId(0),
        connection_id: ConnectionId(id),
        received_at: Utc::now(),
        request_id: String::new(),
        event: Event::Sync(DomainEvent::new(
            AccountId(who.clio_account_id),
            ClioId(who.clio_user_id),
            None,
            Change::ConnectionResumed {
                user: UserId(who.user_id),
                since,
            },
        )),
    };
    let message = serde_json::to_value(&envelope)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    outbox::push(conn, &envelope.routing_key(), &message).await
}
