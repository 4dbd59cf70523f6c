//! How full the worker queues are, for the support console: a passive declare per queue, on a
//! short-lived connection of its own (a passive declare of a missing queue closes its channel,
//! which must never be one a publisher relies on).

use lapin::{options::QueueDeclareOptions, types::FieldTable};

use crate::{connect_supervised, topology, BusError};

/// One queue's depth now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    /// The worker whose queue it is (or `dead-letters` for the broker's own dead-letter queue).
    pub worker: String,
    /// The queue.
    pub queue: String,
    /// Messages ready to be taken; `None` when the queue does not exist (yet).
    pub ready: Option<u32>,
    /// Consumers attached.
    pub consumers: Option<u32>,
}

/// Where the queues are: the broker and the namespace.
#[derive(Debug, Clone)]
pub struct Queues {
    url: String,
    names: topology::Names,
}

impl Queues {
    /// The queues of `names` on the broker at `url`.
    pub fn new(url: &str, names: topology::Names) -> Self {
        Self {
            url: url.to_owned(),
            names,
        }
    }

    /// Every worker's queue name, in pipeline order.
    pub fn worker_queues(&self) -> Vec<String> {
        topology::WORKERS
            .iter()
            .map(|w| self.names.worker_queue(w))
            .collect()
    }

    /// Every worker queue's depth and consumers ([`topology::WORKERS`], in pipeline order), then
    /// the broker's dead-letter queue.
    pub async fn depths(&self) -> Result<Vec<QueueDepth>, BusError> {
        let connection = connect_supervised(&self.url, "matterhook-console").await?;
        let mut queues: Vec<(String, String)> = topology::WORKERS
            .iter()
            .map(|w| ((*w).to_owned(), self.names.worker_queue(w)))
            .collect();
        queues.push(("dead-letters".into(), self.names.dead_queue()));
        let mut depths = Vec::with_capacity(queues.len());
        for (worker, queue) in queues {
            let channel = connection.create_channel().await?;
            let declared = channel
                .queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await;
            let (ready, consumers) = match declared {
                Ok(q) => (Some(q.message_count()), Some(q.consumer_count())),
                // Not declared yet: its worker has never started.
                Err(_) => (None, None),
            };
            depths.push(QueueDepth {
                worker,
                queue,
                ready,
                consumers,
            });
        }
        let _ = connection.close(200, "done".into()).await;
        Ok(depths)
    }
}
