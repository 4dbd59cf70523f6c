//! The consumer runtime every worker runs on.
//!
//! A worker is a [`Handler`] and one registration line:
//! `Runtime::new(MyHandler, pool, amqp_url, RuntimeConfig::default()).await?.run(shutdown).await`.
//! The runtime owns the rest: prefetch; a span per message carrying the event and request ids;
//! idempotency (the handler's effect and a `processed_events` row commit in one transaction, so a
//! redelivered event has no second effect); and the decision after the handler ([`crate::retry`]):
//! ack, retry later through a TTL tier, or dead-letter into PostgreSQL with the reason, error
//! chain, attempts and failure times. A panicking handler is a transient failure, not a crash.
//! A lost broker connection is re-established (with backoff), the topology declared again and
//! consuming resumed. Shutdown stops taking messages, finishes those in flight, and returns.

mod dead_letters;
mod handler;
mod headers;
mod letter;
mod process;
mod progress;

use std::{future::Future, sync::Arc, time::Duration};

use futures::StreamExt;
use lapin::{
    options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions},
    types::FieldTable,
    Connection,
};
use matterhook_store::PgPool;
use tokio::task::JoinSet;

pub use handler::{Handler, HandlerError};
pub use headers::sent_headers;

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
    /// Where the runtime counts messages and times handlers.
    pub metrics: matterhook_telemetry::Metrics,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            prefetch: 32,
            max_attempts: 6,
            names: topology::Names::default(),
            tiers: topology::TIERS.to_vec(),
            metrics: matterhook_telemetry::Metrics::default(),
        }
    }
}

/// A handler wired to its queue.
pub struct Runtime<H: Handler> {
    shared: Arc<process::Shared<H>>,
    amqp_url: String,
    session: Option<Session>,
    connected: Connected,
}

/// Whether a runtime holds a live broker connection now: what its binary's `/readyz` reports.
#[derive(Debug, Clone, Default)]
pub struct Connected(Arc<std::sync::atomic::AtomicBool>);

impl Connected {
    /// Whether the broker connection is up.
    pub fn get(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set(&self, up: bool) {
        self.0.store(up, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One connection's worth of consuming: rebuilt from scratch whenever the connection is lost.
struct Session {
    connection: Connection,
    publisher: Publisher,
}

/// How a session ended.
enum Ended {
    /// Shutdown was asked for.
    Shutdown,
    /// The broker went away (with lapin's error, when it gave one).
    Lost(Option<lapin::Error>),
    /// The connection is no longer connected, though the consumer said nothing.
    Disconnected,
}

/// Waits between reconnection attempts, doubling up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How often the consumer also checks its connection's state: when the connection dies while
/// every batch in flight waits on it (an ack, a confirm), lapin may resolve neither those waits
/// nor the consumer stream (seen in the chaos run after a RabbitMQ restart: a worker stopped
/// consuming for good).
const STATE_CHECK: Duration = Duration::from_secs(1);

/// How long, once the connection is lost, the messages in flight may take to finish before they
/// are abandoned (the broker redelivers them; idempotency makes that harmless).
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(10);

/// How long closing a channel or connection may take: on a dead connection it may never answer.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

impl<H: Handler> Runtime<H> {
    /// Connects, declares the handler's queue, bindings and retry tiers, and gets ready to
    /// consume. Fails when the broker cannot be reached now, so a misconfigured worker stops at
    /// start rather than waiting forever.
    pub async fn new(
        handler: H,
        pool: PgPool,
        amqp_url: &str,
        config: RuntimeConfig,
    ) -> Result<Self, BusError> {
        let queue = config.names.worker_queue(H::NAME);
        let shared = Arc::new(process::Shared {
            handler,
            pool,
            metrics: config.metrics.queue(&queue),
            config,
            queue,
            progress: progress::Progress::default(),
        });
        let mut runtime = Self {
            shared,
            amqp_url: amqp_url.to_owned(),
            session: None,
            connected: Connected::default(),
        };
        runtime.session = Some(runtime.open().await?);
        runtime.connected.set(true);
        Ok(runtime)
    }

    /// The runtime's broker connection state, for readiness.
    pub fn connected(&self) -> Connected {
        self.connected.clone()
    }

    /// A fresh connection with the topology declared. The runtime supervises it itself rather
    /// than relying on the client library's recovery, whose consumers may silently stay gone.
    async fn open(&self) -> Result<Session, BusError> {
        let connection =
            crate::connect_supervised(&self.amqp_url, &format!("matterhook-worker-{}", H::NAME))
                .await?;
        let publisher = Publisher::new(&connection, 1).await?;
        let keys = self.shared.handler.routing_keys();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        topology::declare_worker(
            &connection.create_channel().await?,
            &self.shared.config.names,
            H::NAME,
            &keys,
            &self.shared.config.tiers,
        )
        .await?;
        Ok(Session {
            connection,
            publisher,
        })
    }

    /// Consumes until `shutdown` completes, reconnecting whenever the broker is lost; then stops
    /// taking messages, lets the ones in flight finish (and be acked), and returns.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), BusError> {
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_millis(500);
        loop {
            let session = match self.session.take() {
                Some(s) => s,
                None => {
                    let opened = tokio::select! {
                        () = &mut shutdown => return Ok(()),
                        opened = self.open() => opened,
                    };
                    match opened {
                        Ok(s) => {
                            self.connected.set(true);
                            tracing::info!("reconnected to the broker");
                            backoff = Duration::from_millis(500);
                            s
                        }
                        Err(error) => {
                            tracing::warn!(error = %matterhook_telemetry::Chain(&error), wait_ms = backoff.as_millis() as u64, "cannot reach the broker; retrying");
                            tokio::select! {
                                () = &mut shutdown => return Ok(()),
                                () = tokio::time::sleep(backoff) => {}
                            }
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                            continue;
                        }
                    }
                }
            };
            let ended = self.consume(&session, &mut shutdown).await;
            self.connected.set(false);
            match ended {
                Ok(Ended::Shutdown) => {
                    let _ = tokio::time::timeout(
                        CLOSE_TIMEOUT,
                        session.connection.close(200, "shutdown".into()),
                    )
                    .await;
                    return Ok(());
                }
                Ok(Ended::Disconnected) => {
                    tracing::warn!("the connection to the broker dropped; reconnecting")
                }
                Ok(Ended::Lost(Some(error))) => {
                    tracing::warn!(error = %matterhook_telemetry::Chain(&error), "lost the broker; reconnecting")
                }
                Ok(Ended::Lost(None)) => {
                    tracing::warn!("the broker cancelled the consumer; reconnecting")
                }
                Err(error) => {
                    tracing::warn!(error = %matterhook_telemetry::Chain(&error), "the session failed; reconnecting");
                    let _ = tokio::time::timeout(
                        CLOSE_TIMEOUT,
                        session.connection.close(200, "reconnecting".into()),
                    )
                    .await;
                }
            }
        }
    }

    async fn consume(
        &self,
        session: &Session,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<Ended, BusError> {
        let channel = session.connection.create_channel().await?;
        channel
            .basic_qos(self.shared.config.prefetch, BasicQosOptions::default())
            .await?;
        let tag = format!("{}-{}", H::NAME, uuid::Uuid::new_v4().simple());
        let consumer = channel
            .basic_consume(
                self.shared.queue.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(queue = %self.shared.queue, prefetch = self.shared.config.prefetch, batch = H::BATCH, "consuming");
        // Whatever has arrived together (up to the handler's batch) is taken at once; with a
        // batch of 1 this is one message at a time.
        let mut consumer = consumer.ready_chunks(H::BATCH.max(1));
        // A batching handler keeps no more batches in flight than it has connections: while they
        // are all busy, what arrives waits and joins the next batch, rather than each message
        // queueing for a connection of its own.
        let most = if H::BATCH > 1 {
            self.shared.pool.status().max_size.max(1)
        } else {
            usize::MAX
        };
        let mut in_flight = JoinSet::new();
        let mut state_check = tokio::time::interval(STATE_CHECK);
        let ended = loop {
            tokio::select! {
                () = shutdown.as_mut() => break Ended::Shutdown,
                _ = state_check.tick() => {
                    if !session.connection.status().connected() {
                        break Ended::Disconnected;
                    }
                }
                next = consumer.next(), if in_flight.len() < most => {
                    let Some(chunk) = next else { break Ended::Lost(None) };
                    let mut deliveries = Vec::with_capacity(chunk.len());
                    let mut lost = None;
                    for item in chunk {
                        match item {
                            Ok(delivery) => deliveries.push(delivery),
                            Err(error) => lost = Some(error),
                        }
                    }
                    if !deliveries.is_empty() {
                        self.shared.progress.taken(
                            &self.shared.pool,
                            &self.shared.queue,
                            &self.shared.metrics,
                            &deliveries,
                        );
                        let (shared, publisher) = (self.shared.clone(), session.publisher.clone());
                        in_flight.spawn(async move { shared.process_all(deliveries, &publisher).await });
                    }
                    if let Some(error) = lost {
                        break Ended::Lost(Some(error));
                    }
                }
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            }
        };
        if matches!(ended, Ended::Shutdown) {
            tracing::info!(
                in_flight = in_flight.len(),
                "stopping: no new messages, finishing the ones in flight"
            );
            // Unacked messages still buffered for us go back to the queue when the channel closes.
            let _ = channel
                .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                .await;
        }
        // After a lost connection their acks fail and the broker redelivers them: idempotency
        // makes that harmless. Those still waiting on the dead connection after the grace are
        // abandoned (their transactions roll back, or committed and are skipped when redelivered).
        // Only a dead connection bounds them: after a consumer cancel or a channel error the
        // connection may be healthy, and their work may finish and be acked.
        let grace = if session.connection.status().connected() {
            None
        } else {
            Some(IN_FLIGHT_GRACE)
        };
        let finished = async { while in_flight.join_next().await.is_some() {} };
        match grace {
            None => finished.await,
            Some(grace) => {
                if tokio::time::timeout(grace, finished).await.is_err() {
                    tracing::warn!(
                        abandoned = in_flight.len(),
                        "messages in flight did not finish after the connection was lost; abandoned to redelivery"
                    );
                    in_flight.abort_all();
                }
            }
        }
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, channel.close(200, "done".into())).await;
        Ok(ended)
    }
}

/// Records what the broker itself dead-lettered (messages over the delivery limit) into the
/// dead-letter store, until `shutdown`. Every worker binary runs one; they share the queue.
pub async fn drain_broker_dead_letters(
    pool: PgPool,
    amqp_url: &str,
    names: &topology::Names,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BusError> {
    dead_letters::drain(pool, amqp_url, names, shutdown).await
}
