//! Publishing with publisher confirms.
//!
//! A [`Publisher`] either rides on a connection its owner supervises ([`Publisher::new`]: the
//! consumer runtime and the relay, which start a whole new session when the broker goes away) or
//! supervises its own ([`Publisher::supervised`]: the receiver, the API and the scheduler). The
//! second replaces the client library's automatic recovery, which once left a receiver
//! disconnected for over a minute after a broker restart: a lost connection is dropped at once
//! (publishes fail fast, so the receiver answers 503 and Clio retries) and a fresh one is opened
//! with backoff, its topology declared again before it takes publishes.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, RwLock,
    },
    time::Duration,
};

use futures::StreamExt;
use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions},
    BasicProperties, Channel, Confirmation, Connection,
};

use crate::BusError;

/// Why a publish was not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The broker could not be reached, or the connection dropped before the confirm.
    #[error("broker unavailable")]
    Unavailable(#[from] lapin::Error),
    /// A supervised publisher is between connections.
    #[error("broker unavailable: reconnecting")]
    Reconnecting,
    /// No confirm came in time (the connection died under it, or the broker is blocked): the
    /// message may or may not have been kept, so it must be treated as not sent.
    #[error("no confirm from the broker within {} s", CONFIRM_TIMEOUT.as_secs())]
    Unconfirmed,
    /// The broker refused the message (a nack: for example a full queue with `reject-publish`).
    #[error("the broker refused the message")]
    Nacked,
    /// No queue is bound for the routing key: nothing would have kept the message.
    #[error("no queue is bound for routing key {0}")]
    Unroutable(String),
}

/// The first wait between reconnection attempts of a supervised publisher; it doubles up to
/// [`MAX_RECONNECT_WAIT`]. Short, because while it waits the receiver refuses deliveries.
const FIRST_RECONNECT_WAIT: Duration = Duration::from_millis(250);
/// The longest wait between reconnection attempts.
const MAX_RECONNECT_WAIT: Duration = Duration::from_secs(5);
/// How often a supervised publisher also checks its connection's state, in case the loss
/// reached it without an event.
const STATE_CHECK: Duration = Duration::from_secs(1);
/// How long a publish waits for the broker's confirm: shorter than Clio's 10 s delivery timeout,
/// so the receiver answers 503 (and Clio retries) rather than hanging on a dead connection.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(8);

/// Publishes on a few confirm-mode channels, round robin. Cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    inner: Arc<Inner>,
}

struct Inner {
    /// The channels publishes go to; `None` while a supervised publisher reconnects.
    current: RwLock<Option<Arc<[Channel]>>>,
    next: AtomicUsize,
    /// Dropped with the last clone: stops a supervisor.
    _stop: Option<tokio::sync::watch::Sender<()>>,
}

impl Publisher {
    /// Opens `channels` confirm-mode channels on `connection`, which its caller supervises.
    pub async fn new(connection: &Connection, channels: usize) -> Result<Self, BusError> {
        let opened = open_channels(connection, channels).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                current: RwLock::new(Some(opened)),
                next: AtomicUsize::new(0),
                _stop: None,
            }),
        })
    }

    /// Connects to `url` and keeps a connection: `prepare` runs on a channel of every new
    /// connection (declaring the topology the publishes need) before it takes publishes. Fails
    /// only if the first connection cannot be made; later losses are repaired in the background
    /// until the last clone is dropped.
    pub async fn supervised<F, Fut>(
        url: &str,
        name: &str,
        channels: usize,
        prepare: F,
    ) -> Result<Self, BusError>
    where
        F: Fn(Channel) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BusError>> + Send + 'static,
    {
        let session = Session::open(url, name, channels, &prepare).await?;
        let (stop, stopped) = tokio::sync::watch::channel(());
        let publisher = Self {
            inner: Arc::new(Inner {
                current: RwLock::new(Some(session.channels.clone())),
                next: AtomicUsize::new(0),
                _stop: Some(stop),
            }),
        };
        let supervisor = Supervisor {
            url: url.to_owned(),
            name: name.to_owned(),
            channels,
            inner: Arc::downgrade(&publisher.inner),
        };
        tokio::spawn(supervisor.run(session, prepare, stopped));
        Ok(publisher)
    }

    /// Whether publishes can go out now (for readiness).
    pub fn connected(&self) -> bool {
        self.current()
            .is_some_and(|channels| channels.iter().all(|c| c.status().connected()))
    }

    fn current(&self) -> Option<Arc<[Channel]>> {
        self.inner
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Publishes a persistent, mandatory message and returns once the broker confirmed that a
    /// queue holds it.
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let channels = self.current().ok_or(PublishError::Reconnecting)?;
        let i = self.inner.next.fetch_add(1, Ordering::Relaxed) % channels.len();
        let properties = properties.with_delivery_mode(2);
        // Mandatory: an unroutable message comes back instead of vanishing.
        let options = BasicPublishOptions {
            mandatory: true,
            ..Default::default()
        };
        let sent = async {
            let confirm = channels[i]
                .basic_publish(
                    exchange.into(),
                    routing_key.into(),
                    options,
                    payload,
                    properties,
                )
                .await?;
            confirm.await
        };
        let confirmation = tokio::time::timeout(CONFIRM_TIMEOUT, sent)
            .await
            .map_err(|_| PublishError::Unconfirmed)??;
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_)) | Confirmation::Nack(Some(_)) => {
                Err(PublishError::Unroutable(routing_key.to_owned()))
            }
            Confirmation::Nack(None) => Err(PublishError::Nacked),
            // Every channel is put in confirm mode when opened.
            Confirmation::NotRequested => Err(PublishError::Nacked),
        }
    }
}

async fn open_channels(connection: &Connection, n: usize) -> Result<Arc<[Channel]>, BusError> {
    let mut opened = Vec::with_capacity(n.max(1));
    for _ in 0..n.max(1) {
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        opened.push(channel);
    }
    Ok(opened.into())
}

/// One connection of a supervised publisher.
struct Session {
    connection: Connection,
    channels: Arc<[Channel]>,
}

impl Session {
    async fn open<F, Fut>(
        url: &str,
        name: &str,
        channels: usize,
        prepare: &F,
    ) -> Result<Self, BusError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<(), BusError>>,
    {
        let connection = crate::connect_supervised(url, name).await?;
        prepare(connection.create_channel().await?).await?;
        let channels = open_channels(&connection, channels).await?;
        Ok(Self {
            connection,
            channels,
        })
    }

    /// Returns when the connection is lost.
    async fn lost(&self) {
        let mut events = self.connection.events_listener();
        let mut check = tokio::time::interval(STATE_CHECK);
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(lapin::Event::Error(error)) => {
                        tracing::warn!(error = %matterhook_telemetry::Chain(&error), "publisher lost the broker; reconnecting");
                        return;
                    }
                    Some(_) => {}
                    None => return,
                },
                _ = check.tick() => {
                    if !self.connection.status().connected() {
                        tracing::warn!("publisher's broker connection closed; reconnecting");
                        return;
                    }
                }
            }
        }
    }
}

struct Supervisor {
    url: String,
    name: String,
    channels: usize,
    inner: std::sync::Weak<Inner>,
}

impl Supervisor {
    fn install(&self, channels: Option<Arc<[Channel]>>) -> bool {
        let Some(inner) = self.inner.upgrade() else {
            return false;
        };
        *inner
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = channels;
        true
    }

    async fn run<F, Fut>(
        self,
        mut session: Session,
        prepare: F,
        mut stopped: tokio::sync::watch::Receiver<()>,
    ) where
        F: Fn(Channel) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BusError>> + Send + 'static,
    {
        loop {
            tokio::select! {
                () = session.lost() => {}
                _ = stopped.changed() => {
                    let _ = session.connection.close(200, "shutdown".into()).await;
                    return;
                }
            }
            if !self.install(None) {
                return;
            }
            let _ = session.connection.close(200, "reconnecting".into()).await;
            let mut wait = FIRST_RECONNECT_WAIT;
            session = loop {
                let opened = tokio::select! {
                    opened = Session::open(&self.url, &self.name, self.channels, &prepare) => opened,
                    _ = stopped.changed() => return,
                };
                match opened {
                    Ok(session) => break session,
                    Err(error) => {
                        tracing::warn!(error = %matterhook_telemetry::Chain(&error), wait_ms = wait.as_millis() as u64, "publisher cannot reach the broker; retrying");
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            _ = stopped.changed() => return,
                        }
                        wait = (wait * 2).min(MAX_RECONNECT_WAIT);
                    }
                }
            };
            if !self.install(Some(session.channels.clone())) {
                let _ = session.connection.close(200, "shutdown".into()).await;
                return;
            }
            tracing::info!("publisher reconnected to the broker");
        }
    }
}
