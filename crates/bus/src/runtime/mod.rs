//! The consumer runtime every worker runs on.
//!
//! A worker is a [`Handler`] and one registration line:
//! `Runtime::new(MyHandler, pool, &connection, RuntimeConfig::default()).await?.run(shutdown).await`.
//! The runtime owns the rest: prefetch; a span per message carrying the event and request ids;
//! idempotency (the handler's effect and a `processed_events` row commit in one transaction, so a
//! redelivered event has no second effect); and the decision after the handler ([`crate::retry`]):
//! ack, retry later through a TTL tier, or dead-letter into PostgreSQL with the reason, error
//! chain, attempts and failure times. A panicking handler is a transient failure, not a crash.
//! Shutdown stops taking messages, finishes those in flight, and returns.

mod dead_letters;
mod handler;
mod headers;
mod process;

use std::{future::Future, sync::Arc};

use futures::StreamExt;
use lapin::{
    options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions},
    types::FieldTable,
    Connection,
};
use matterhook_store::PgPool;
use tokio::task::JoinSet;

pub use handler::{Handler, HandlerError};

use crate::{topology, BusError, Publisher};

/// How a runtime consumes.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Messages in flight at once (AMQP prefetch).
    pub prefetch: u16,
    /// Tries before a transiently failing message is dead-lettered.
    pub max_attempts: u32,
    /// The AMQP namespace.
    pub names: topology::Names,
    /// The retry tiers, shortest first ([`topology::TIERS`]; tests use [`topology::TEST_TIERS`]).
    pub tiers: Vec<topology::Tier>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            prefetch: 32,
            max_attempts: 6,
            names: topology::Names::default(),
            tiers: topology::TIERS.to_vec(),
        }
    }
}

/// A handler wired to its queue.
pub struct Runtime<'c, H: Handler> {
    shared: Arc<process::Shared<H>>,
    connection: &'c Connection,
}

impl<'c, H: Handler> Runtime<'c, H> {
    /// Declares the handler's queue, bindings and retry tiers, and gets ready to consume.
    pub async fn new(
        handler: H,
        pool: PgPool,
        connection: &'c Connection,
        config: RuntimeConfig,
    ) -> Result<Self, BusError> {
        let publisher = Publisher::new(connection, 1).await?;
        let keys = handler.routing_keys();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        topology::declare_worker(
            publisher.channel(),
            &config.names,
            H::NAME,
            &keys,
            &config.tiers,
        )
        .await?;
        let queue = config.names.worker_queue(H::NAME);
        let shared = Arc::new(process::Shared {
            handler,
            pool,
            publisher,
            config,
            queue,
        });
        Ok(Self { shared, connection })
    }

    /// Consumes until `shutdown` completes, then stops taking messages, lets the ones in flight
    /// finish (and be acked), and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), BusError> {
        let channel = self.connection.create_channel().await?;
        channel
            .basic_qos(self.shared.config.prefetch, BasicQosOptions::default())
            .await?;
        let tag = format!("{}-{}", H::NAME, uuid::Uuid::new_v4().simple());
        let mut consumer = channel
            .basic_consume(
                self.shared.queue.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(queue = %self.shared.queue, prefetch = self.shared.config.prefetch, "consuming");
        let mut in_flight = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                next = consumer.next() => match next {
                    None => break,
                    Some(Ok(delivery)) => {
                        let shared = self.shared.clone();
                        in_flight.spawn(async move { shared.process(delivery).await });
                    }
                    Some(Err(error)) => {
                        tracing::warn!(%error, "lost the broker; waiting for recovery");
                        channel.wait_for_recovery(error).await?;
                        tracing::info!("recovered the broker connection");
                    }
                },
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            }
        }
        tracing::info!(
            in_flight = in_flight.len(),
            "stopping: no new messages, finishing the ones in flight"
        );
        // Unacked messages still buffered for us go back to the queue when the channel closes.
        let _ = channel
            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
            .await;
        while in_flight.join_next().await.is_some() {}
        let _ = channel.close(200, "shutdown".into()).await;
        Ok(())
    }
}

/// Records what the broker itself dead-lettered (messages over the delivery limit) into the
/// dead-letter store, until `shutdown`. Every worker binary runs one; they share the queue.
pub async fn drain_broker_dead_letters(
    pool: PgPool,
    connection: &Connection,
    names: &topology::Names,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BusError> {
    dead_letters::drain(pool, connection, names, shutdown).await
}
