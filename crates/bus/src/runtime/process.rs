//! One message, from delivery to settlement.

use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use futures::FutureExt;
use lapin::{
    message::Delivery,
    options::{BasicAckOptions, BasicNackOptions},
    BasicProperties,
};
use matterhook_store::{processed, PgPool};
use matterhook_telemetry::QueueOutcome;
use tracing::Instrument;

use super::{
    handler::{chain, Handler, HandlerError},
    headers,
    letter::{self, Failure},
    RuntimeConfig,
};
use crate::{
    retry::{decide, Decision, Outcome},
    topology::Tier,
    Envelope, PublishError, Publisher,
};

pub(crate) struct Shared<H> {
    pub handler: H,
    pub pool: PgPool,
    pub config: RuntimeConfig,
    pub queue: String,
    /// The queue's series, resolved once.
    pub metrics: matterhook_telemetry::QueueMetrics,
    /// How far its consumers have got, for the support console.
    pub progress: super::progress::Progress,
}

/// The message's envelope; the error, as the dead letter records it, when there is none.
fn parse(body: &[u8]) -> Result<Envelope, String> {
    Envelope::decode(body).map_err(|e| chain(&e))
}

/// Where an event's record sits in the order batches apply their events: by connection, then
/// the record the event names.
fn record_order(envelope: &Envelope) -> (i64, i64) {
    let record = match &envelope.event {
        crate::Event::Clio(c) => c.record_id.map_or(0, |id| id.get()),
        crate::Event::Sync(d) => d.record.get(),
        crate::Event::Writeback(_) => 0,
    };
    (envelope.connection_id.get(), record)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".to_owned())
}

impl<H: Handler> Shared<H> {
    /// Messages that arrived together: one alone as usual; more, first tries, in one
    /// transaction ([`Handler::BATCH`]), and each alone if that fails.
    pub(crate) async fn process_all(&self, deliveries: Vec<Delivery>, publisher: &Publisher) {
        if deliveries.len() == 1 {
            for delivery in deliveries {
                self.process(delivery, publisher).await;
            }
            return;
        }
        let mut together = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let first_try = headers::int(&delivery, headers::ATTEMPT).is_none_or(|a| a <= 1);
            match parse(&delivery.data) {
                Ok(envelope) if first_try => together.push((envelope, delivery)),
                // A retry or a message we cannot read goes its own way, to its own decision.
                _ => self.process(delivery, publisher).await,
            }
        }
        if together.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let mut envelopes: Vec<&Envelope> = together.iter().map(|(e, _)| e).collect();
        // By record (stable: one record's events keep their order), so that concurrent batches
        // lock the rows they share in one order.
        envelopes.sort_by_key(|e| record_order(e));
        let span = tracing::info_span!("batch", queue = %self.queue, messages = envelopes.len());
        let applied = AssertUnwindSafe(self.apply_batch(&envelopes).instrument(span))
            .catch_unwind()
            .await;
        match applied {
            Ok(Ok(())) => {
                let each = started.elapsed().as_secs_f64() / together.len() as f64;
                for (_, delivery) in together {
                    self.metrics.count(QueueOutcome::Consumed);
                    self.metrics.handler_time(each);
                    self.metrics.count(QueueOutcome::Acked);
                    ack(&delivery).await;
                }
            }
            failed => {
                // Rolled back as a whole: each is applied alone, and retried or dead-lettered on
                // its own merits.
                let error = match failed {
                    Ok(Err(e)) => chain(&e),
                    Err(panic) => format!("handler panicked: {}", panic_message(&*panic)),
                    Ok(Ok(())) => unreachable!("matched above"),
                };
                tracing::info!(%error, messages = together.len(), "the batch failed; applying each alone");
                for (_, delivery) in together {
                    self.process(delivery, publisher).await;
                }
            }
        }
    }

    /// A batch's effects and idempotency marks, in one transaction.
    async fn apply_batch(&self, envelopes: &[&Envelope]) -> Result<(), HandlerError> {
        let mut conn = self.pool.get().await.map_err(HandlerError::transient)?;
        conn.transaction::<(), HandlerError, _>(async |conn| {
            let ids: Vec<&str> = envelopes.iter().map(|e| e.event_id.as_str()).collect();
            let mut fresh = processed::mark_all_processed(conn, H::NAME, &ids).await?;
            // An event twice in one batch is applied once.
            let new: Vec<&Envelope> = envelopes
                .iter()
                .copied()
                .filter(|e| fresh.remove(&e.event_id))
                .collect();
            if new.len() < envelopes.len() {
                tracing::info!(
                    skipped = envelopes.len() - new.len(),
                    "already processed; skipping"
                );
            }
            if new.is_empty() {
                return Ok(());
            }
            self.handler.handle_batch(new, conn).await
        })
        .await
    }

    pub(crate) async fn process(&self, delivery: Delivery, publisher: &Publisher) {
        let attempt = headers::int(&delivery, headers::ATTEMPT)
            .and_then(|a| u32::try_from(a).ok())
            .unwrap_or(1)
            .max(1);
        let envelope = parse(&delivery.data);
        // The receiver sets the correlation id to its request id; a message published without
        // one (a domain event relayed from the outbox) still carries it in its envelope.
        let request_id = delivery
            .properties
            .correlation_id()
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .filter(|c| !c.is_empty())
            .or_else(|| envelope.as_ref().ok().map(|e| e.request_id.clone()))
            .unwrap_or_default();
        let event_id = envelope
            .as_ref()
            .map(|e| e.event_id.clone())
            .unwrap_or_default();
        let span =
            tracing::info_span!("message", queue = %self.queue, %event_id, %request_id, attempt);
        self.process_in_span(delivery, envelope, attempt, publisher)
            .instrument(span)
            .await;
    }

    async fn process_in_span(
        &self,
        delivery: Delivery,
        envelope: Result<Envelope, String>,
        attempt: u32,
        publisher: &Publisher,
    ) {
        let metrics = &self.metrics;
        metrics.count(QueueOutcome::Consumed);
        let started = std::time::Instant::now();
        let (outcome, error) = match &envelope {
            Err(e) => (Outcome::Permanent, e.clone()),
            Ok(env) => match AssertUnwindSafe(self.apply(env)).catch_unwind().await {
                Ok(Ok(())) => (Outcome::Done, String::new()),
                Ok(Err(HandlerError::Transient { wait, source })) => {
                    (Outcome::Transient { wait }, chain(&*source))
                }
                Ok(Err(HandlerError::Permanent { source })) => {
                    (Outcome::Permanent, chain(&*source))
                }
                Ok(Err(HandlerError::Parked { source })) => (Outcome::Parked, chain(&*source)),
                Err(panic) => (
                    Outcome::Transient { wait: None },
                    format!("handler panicked: {}", panic_message(&*panic)),
                ),
            },
        };
        metrics.handler_time(started.elapsed().as_secs_f64());
        let decision = decide(
            outcome,
            attempt,
            self.config.max_attempts,
            &self.config.tiers,
            &mut rand::thread_rng(),
        );
        let settled = match decision {
            Decision::Ack => {
                tracing::debug!("handled");
                metrics.count(QueueOutcome::Acked);
                Ok(())
            }
            Decision::Retry {
                tier,
                expiration_ms,
            } => {
                tracing::warn!(%error, tier = tier.name, "failed; retrying later");
                metrics.count(QueueOutcome::Retried);
                self.retry(
                    publisher,
                    &delivery,
                    tier,
                    expiration_ms,
                    attempt + 1,
                    &error,
                )
                .await
            }
            Decision::DeadLetter { reason } => {
                tracing::error!(%error, reason, "failed; dead-lettered");
                metrics.count(QueueOutcome::DeadLettered);
                self.dead_letter(
                    publisher,
                    &delivery,
                    envelope.as_ref().ok(),
                    reason,
                    &error,
                    attempt,
                )
                .await
            }
        };
        match settled {
            Ok(()) => {
                ack(&delivery).await;
            }
            Err(e) => {
                tracing::warn!(error = %matterhook_telemetry::Chain(&e), "could not hand the message on; returning it to the queue");
                let nack = delivery.nack(BasicNackOptions {
                    requeue: true,
                    multiple: false,
                });
                let _ = tokio::time::timeout(SETTLE_TIMEOUT, nack).await;
            }
        }
    }

    /// The handler's effect and the idempotency mark, in one transaction.
    async fn apply(&self, envelope: &Envelope) -> Result<(), HandlerError> {
        let mut conn = self.pool.get().await.map_err(HandlerError::transient)?;
        conn.transaction::<(), HandlerError, _>(async |conn| {
            if !processed::mark_processed(conn, H::NAME, &envelope.event_id).await? {
                tracing::info!("already processed; skipping");
                return Ok(());
            }
            self.handler.handle(envelope, conn).await
        })
        .await
    }

    fn first_failure(delivery: &Delivery) -> DateTime<Utc> {
        headers::time(delivery, headers::FIRST_FAILURE).unwrap_or_else(Utc::now)
    }

    /// Publishes the message to a retry tier (which returns it to our queue only), confirmed.
    async fn retry(
        &self,
        publisher: &Publisher,
        delivery: &Delivery,
        tier: Tier,
        expiration_ms: u64,
        next_attempt: u32,
        error: &str,
    ) -> Result<(), PublishError> {
        let props = delivery.properties.clone();
        let mut properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_headers(headers::for_retry(
                delivery,
                next_attempt,
                Self::first_failure(delivery),
                error,
            ))
            .with_expiration(expiration_ms.to_string().into());
        if let Some(id) = props.message_id() {
            properties = properties.with_message_id(id.clone());
        }
        if let Some(id) = props.correlation_id() {
            properties = properties.with_correlation_id(id.clone());
        }
        publisher
            .publish(
                "",
                &self.config.names.retry_queue(H::NAME, tier),
                &delivery.data,
                properties,
            )
            .await
    }

    /// Records the message in the dead-letter store. When the database cannot take it, the
    /// message waits in a retry tier (same attempt) rather than spinning on the queue.
    async fn dead_letter(
        &self,
        publisher: &Publisher,
        delivery: &Delivery,
        envelope: Option<&Envelope>,
        reason: &str,
        error: &str,
        attempt: u32,
    ) -> Result<(), PublishError> {
        let tag = attempt.to_string();
        let letter = letter::letter(
            delivery,
            envelope,
            &Failure {
                queue: &self.queue,
                reason,
                error,
                attempts: attempt,
                tag: &tag,
            },
        );
        let recorded: Result<bool, Box<dyn std::error::Error + Send + Sync>> = async {
            let mut conn = self.pool.get().await?;
            Ok(matterhook_store::dead_letters::record(&mut conn, &letter).await?)
        }
        .await;
        match recorded {
            Ok(_) => Ok(()),
            Err(e) => {
                let cause = chain(&*e);
                tracing::warn!(error = %cause, "cannot record the dead letter now; parking the message");
                let parked = format!("{error} (then recording the dead letter failed: {cause})");
                let tiers = &self.config.tiers;
                let Some(&park) = tiers.get(1).or(tiers.first()) else {
                    return Err(PublishError::Nacked);
                };
                self.retry(publisher, delivery, park, park.millis, attempt, &parked)
                    .await
            }
        }
    }
}

/// How long an ack or nack may wait for the connection: on a dead one lapin may never answer.
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Acks `delivery`. When the ack fails or gets no answer, the broker redelivers the message once
/// the connection is gone; idempotency makes that harmless.
async fn ack(delivery: &Delivery) {
    match tokio::time::timeout(SETTLE_TIMEOUT, delivery.ack(BasicAckOptions::default())).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %matterhook_telemetry::Chain(&e), "could not ack"),
        Err(_) => tracing::warn!("no answer to an ack: the connection is gone"),
    }
}
