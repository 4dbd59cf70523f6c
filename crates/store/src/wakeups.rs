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

/// Rows were written to `sync_queue` (new or brought forward).
pub const SYNC_QUEUE: &str = "matterhook_sync_queue";
/// Domain events were written to the outbox.
pub const OUTBOX: &str = "matterhook_outbox";

/// A listener on some channels. Cheap to clone; the listening task stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct Wakeups {
    notifies: Arc<HashMap<&'static str, Arc<Notify>>>,
    _task: Arc<AbortOnDrop>,
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
        let notifies: Arc<HashMap<&'static str, Arc<Notify>>> = Arc::new(
            channels
                .iter()
                .map(|c| (*c, Arc::new(Notify::new())))
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
        match self.notifies.get(channel) {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    }
}

async fn run(url: String, notifies: Arc<HashMap<&'static str, Arc<Notify>>>) {
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
    notifies: &HashMap<&'static str, Arc<Notify>>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.channel().to_owned()).is_err() {
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
    for n in notifies.values() {
        n.notify_one();
    }
    while let Some(channel) = rx.recv().await {
        if let Some(n) = notifies.get(channel.as_str()) {
            n.notify_one();
        }
    }
    drop(client);
    let _ = driver.await;
    Ok(())
}
