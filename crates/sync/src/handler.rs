//! The sync worker's handler on the ingest runtime: an event becomes a record to re-read.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use matterhook_bus::{Envelope, Handler, HandlerError};
use matterhook_domain::Model;
use matterhook_store::{
    sync_cursors,
    sync_queue::{self, NewWork},
};

use crate::apply::{self, Target, WebhookData};

/// Queues the record of each matter, contact and bill event for a re-read after `window`, the
/// time other events of the same connection and model have to join the batch; and, first,
/// applies the record the webhook carries when it is strictly newer than the mirror's
/// ([`apply::Guard::Webhook`]), so that its effects need not wait for the window. The re-read
/// stays the authority: it corrects what the webhook's data got wrong, and announces nothing
/// the webhook's data already announced (same version, same event id, no change).
#[derive(Debug, Clone)]
pub struct SyncHandler {
    /// The coalescing window.
    pub window: Duration,
    /// Whether webhooks' own data is applied at once (on in production).
    pub apply_webhook_data: bool,
    /// The connections whose mirror of a model is established, as last looked up.
    pub established: Established,
}

impl Default for SyncHandler {
    fn default() -> Self {
        Self {
            window: Duration::from_millis(250),
            apply_webhook_data: true,
            established: Established::default(),
        }
    }
}

/// How long an established connection and model is remembered without a look.
const ESTABLISHED_TTL: Duration = Duration::from_secs(60);

/// Connections whose mirror of a model is established (their firm's account and region),
/// remembered for [`ESTABLISHED_TTL`]: otherwise a query per event, under a burst a thousand a
/// second, for an answer that, once yes, stays yes. Only a yes is remembered, so a firm's first
/// finished sweep is seen at its next event. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Established(Arc<Mutex<Remembered>>);

/// Per connection and model: its target, and when it was looked up.
type Remembered = HashMap<(i64, Model), (Target, Instant)>;

impl Established {
    async fn lookup(
        &self,
        conn: &mut AsyncPgConnection,
        connection_id: i64,
        model: Model,
    ) -> Result<Option<Target>, HandlerError> {
        let now = Instant::now();
        if let Some((target, at)) = self.lock().get(&(connection_id, model)) {
            if now.duration_since(*at) < ESTABLISHED_TTL {
                return Ok(Some(target.clone()));
            }
        }
        let Some((account, region)) = sync_cursors::established(conn, connection_id, model).await?
        else {
            self.lock().remove(&(connection_id, model));
            return Ok(None);
        };
        let target = Target {
            connection_id,
            account,
            region,
        };
        self.lock()
            .insert((connection_id, model), (target.clone(), now));
        Ok(Some(target))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Handler for SyncHandler {
    const NAME: &'static str = crate::WORKER;

    fn routing_keys(&self) -> Vec<String> {
        matterhook_bus::all_clio_bindings()
    }

    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        let event = envelope.clio()?;
        if !event.model.has_webhooks() {
            return Err(HandlerError::permanent(format!(
                "the sync worker does not mirror {} records from webhooks",
                event.model
            )));
        }
        let Some(record_id) = event.record_id.filter(|id| id.get() > 0) else {
            return Err(HandlerError::permanent(
                "the event names no record: nothing to re-read",
            ));
        };
        let raw = serde_json::to_value(envelope).map_err(HandlerError::permanent)?;
        let window = chrono::Duration::from_std(self.window).unwrap_or_default();
        sync_queue::push(
            conn,
            &NewWork {
                connection_id: envelope.connection_id.get(),
                model: event.model,
                record_id: record_id.get(),
                event_id: &envelope.event_id,
                envelope: &raw,
                due_at: Utc::now() + window,
            },
        )
        .await?;
        // A deletion is never applied from the webhook: only the re-read's absence confirms it.
        if self.apply_webhook_data && event.event != "deleted" {
            if let Some(data) = WebhookData::parse(event.model, &event.data) {
                let connection_id = envelope.connection_id.get();
                // Before the firm's first sweep of the model finished, what arrives is history
                // for the sweep to take in, not news; and a connection gone since the delivery
                // is the re-read's to settle.
                if let Some(target) = self
                    .established
                    .lookup(conn, connection_id, event.model)
                    .await?
                {
                    apply::webhook(conn, &target, data, &envelope.request_id).await?;
                }
            }
        }
        Ok(())
    }
}
