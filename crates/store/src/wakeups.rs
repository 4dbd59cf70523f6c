//! Wake-ups across processes: PostgreSQL `LISTEN/NOTIFY`. A statement-level trigger notifies a
//! channel when rows are written to `sync_queue` or `outbox` (delivered at commit, folded within a
//! transaction), and a [`Wakeups`] listener turns each notification into a permit its one waiter
//! takes: the batcher and the relay sleep until work arrives instead of polling.
//!
//! A notification can be lost (the listener's connection drops); waiters therefore also wake on
//! their own after a longer fallback, and the listener hands every channel a permit each time it
//! connects.

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};

/// Rows were written to `sync_queue` (new or brought forward); the payload is when the earliest
/// of them falls due, in microseconds since the epoch ([`Wakeups::notified_due`]).
pub const SYNC_QUEUE: &str = "matterhook_sync_queue";
/// Domain events were written to the outbox.
pub const OUTBOX: &str = "matterhook_outbox";

/// A listener on some channels. Cheap to clone; the listening task stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct Wakeups {
    notifies: Arc<HashMap<&'static str, Arc<Channel>>>,
    _task: Arc<AbortOnDrop>,
}

/// One channel's permit, and the earliest time announced since its waiter last took it.
#[derive(Default)]
struct Channel {
    notify: Notify,
    /// `Some(None)`: a notification without a time (or the permit a new listening session
    /// hands out), which a waiter must take as "look now".
    earliest: std::sync::Mutex<Option<Option<i64>>>,
}

impl Channel {
    fn announce(&self, at: Option<i64>) {
        {
            let mut earliest = self
                .earliest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *earliest = Some(match (*earliest, at) {
                (None, at) => at,
                (Some(Some(held)), Some(at)) => Some(held.min(at)),
                (Some(_), _) => None,
            });
        }
        self.notify.notify_one();
    }

    fn take(&self) -> Option<i64> {
        self.earliest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .flatten()
    }
}

impl std::fmt::Debug for Wakeups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakeups")
            .field("channels", &self.notifies.keys().collect::<Vec<_>>())
            .finish()
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Wakeups {
    /// Listens on `channels` through its own connection to `database_url` (reconnecting after a
    /// failure, with backoff).
    pub fn listen(database_url: &str, channels: &[&'static str]) -> Self {
        let notifies: Arc<HashMap<&'static str, Arc<Channel>>> = Arc::new(
            channels
                .iter()
                .map(|c| (*c, Arc::new(Channel::default())))
                .collect(),
        );
        let task = tokio::spawn(run(database_url.to_owned(), notifies.clone()));
        Self {
            notifies,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }

    /// Resolves at the next notification on `channel` (at once when one came since the last
    /// wait), or never when the listener does not listen on it.
    pub async fn notified(&self, channel: &str) {
        let _ = self.notified_due(channel).await;
    }

    /// [`Wakeups::notified`], with the earliest time the notifications since the last wait
    /// announced: `None` when any of them announced none (look now).
    pub async fn notified_due(&self, channel: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        match self.notifies.get(channel) {
            Some(c) => {
                c.notify.notified().await;
                c.take().and_then(chrono::DateTime::from_timestamp_micros)
            }
            None => std::future::pending().await,
        }
    }
}

async fn run(url: String, notifies: Arc<HashMap<&'static str, Arc<Channel>>>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match session(&url, &notifies).await {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for wake-ups; waiters poll meanwhile")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// One connection's life: LISTEN, hand out permits, return when the connection ends.
async fn session(
    url: &str,
    notifies: &HashMap<&'static str, Arc<Channel>>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Option<i64>)>();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    let at = n.payload().parse::<i64>().ok();
                    if tx.send((n.channel().to_owned(), at)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the wake-up listener's connection ended");
                    return;
                }
            }
        }
    });
    let listen: String = notifies.keys().map(|c| format!("LISTEN {c};")).collect();
    client.batch_execute(&listen).await?;
    // Whatever was written while nobody listened is looked at once.
    for c in notifies.values() {
        c.announce(None);
    }
    while let Some((channel, at)) = rx.recv().await {
        if let Some(c) = notifies.get(channel.as_str()) {
            c.announce(at);
        }
    }
    drop(client);
    let _ = driver.await;
    Ok(())
}
