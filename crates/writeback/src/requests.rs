//! `matterhook-worker-writeback`'s consumer: a request to write an activity wakes the writer; a
//! replayed one (from a dead letter, or a reconnect unparking the connection's work) first puts
//! its activity back in the queue.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use matterhook_bus::{writeback_binding, Envelope, Handler, HandlerError};
use matterhook_domain::ActivityState;
use matterhook_store::{activities, activity_writes};
use tokio::sync::Notify;

/// Consumes `writeback.contact.activity`.
#[derive(Debug, Clone, Default)]
pub struct WritebackRequests {
    /// Rung once a request is taken: the writer looks for due work at once.
    pub wake: Arc<Notify>,
}

impl Handler for WritebackRequests {
    const NAME: &'static str = crate::WORKER;

    fn routing_keys(&self) -> Vec<String> {
        vec![writeback_binding()]
    }

    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        let request = envelope.writeback()?;
        let id = request.activity.get();
        let Some(row) = activities::get(conn, id).await? else {
            return Err(HandlerError::permanent(format!(
                "activity {id} does not exist"
            )));
        };
        let replayed = match row.state {
            ActivityState::Failed => true,
            ActivityState::Queued => row.parked,
            // Written or skipped: a replay finds nothing to do, so the activity stays written
            // once however often its request is sent.
            ActivityState::Written | ActivityState::Skipped => false,
        };
        if replayed && activity_writes::requeue(conn, id).await? {
            tracing::info!(activity = id, "activity queued again");
        }
        self.wake.notify_one();
        Ok(())
    }
}
