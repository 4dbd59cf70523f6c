//! The sync worker's handler on the ingest runtime: an event becomes a record to re-read.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use matterhook_bus::{ClioEvent, Envelope, Handler, HandlerError};
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

/// A webhook's record with the request that brought it (the cause its events cite).
type Caused = (WebhookData, String);

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

    // A delivery's whole effect is rows in PostgreSQL (a queue row, the mirror's, the outbox's),
    // so deliveries waiting together share a transaction: under a burst one commit serves up to
    // 16 of them instead of each paying its own.
    const BATCH: usize = 16;

    async fn handle_batch(
        &self,
        envelopes: Vec<&Envelope>,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        let mut works = Vec::with_capacity(envelopes.len());
        let mut raws = Vec::with_capacity(envelopes.len());
        for envelope in &envelopes {
            let (event, record_id) = Self::record(envelope)?;
            raws.push((
                envelope,
                event,
                record_id,
                serde_json::to_value(envelope).map_err(HandlerError::permanent)?,
            ));
        }
        // By record (stable, so one record's deliveries keep their order): concurrent batches
        // then take the queue's and the mirror's row locks in one order.
        raws.sort_by_key(|(e, event, id, _)| (e.connection_id.get(), event.model, *id));
        let due_at = Utc::now() + self.window();
        for (envelope, event, record_id, raw) in &raws {
            works.push(NewWork {
                connection_id: envelope.connection_id.get(),
                model: event.model,
                record_id: *record_id,
                event_id: &envelope.event_id,
                envelope: raw,
                due_at,
            });
        }
        sync_queue::push_many(conn, &works).await?;
        if !self.apply_webhook_data {
            return Ok(());
        }
        // Each connection's and model's records in one write.
        let mut groups: Vec<((i64, Model), Vec<Caused>)> = Vec::new();
        for (envelope, event, _, _) in &raws {
            if event.event == "deleted" {
                continue;
            }
            let Some(data) = WebhookData::parse(event.model, &event.data) else {
                continue;
            };
            let key = (envelope.connection_id.get(), event.model);
            let entry = (data, envelope.request_id.clone());
            match groups.last_mut() {
                Some((k, records)) if *k == key => records.push(entry),
                _ => groups.push((key, vec![entry])),
            }
        }
        for ((connection_id, model), records) in groups {
            if let Some(target) = self.established.lookup(conn, connection_id, model).await? {
                apply::webhooks(conn, &target, records).await?;
            }
        }
        Ok(())
    }

    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        let (event, record_id) = Self::record(envelope)?;
        let raw = serde_json::to_value(envelope).map_err(HandlerError::permanent)?;
        sync_queue::push(
            conn,
            &NewWork {
                connection_id: envelope.connection_id.get(),
                model: event.model,
                record_id,
                event_id: &envelope.event_id,
                envelope: &raw,
                due_at: Utc::now() + self.window(),
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

impl SyncHandler {
    /// The coalescing window as a calendar duration.
    fn window(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.window).unwrap_or_default()
    }

    /// The Clio event and the id of the record it names; refused when the sync worker cannot
    /// mirror it from a webhook.
    fn record(envelope: &Envelope) -> Result<(&ClioEvent, i64), HandlerError> {
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
        Ok((event, record_id.get()))
    }
}
