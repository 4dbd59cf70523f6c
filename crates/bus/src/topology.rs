//! The exchanges and queues, declared idempotently by every binary at start.
//!
//! ```text
//! (names shown with the default prefix `matterhook`)
//! receiver ──publish clio.{model}.{event}──▶ matterhook.events.direct (direct)
//!                                                │ each key bound per worker
//!                                                ▼
//!                                     matterhook.{worker} (quorum) ──▶ worker
//!                                          ▲            │ retry: publish to one tier,
//!        dead-letter back, by TTL ─────────┘            ▼ then ack
//!                          matterhook.{worker}.retry.{10s,1m,10m,1h} (quorum, TTL)
//!
//! worker gives up ──▶ dead_letters table (PostgreSQL)
//! a message that kills its consumer again and again (x-delivery-limit) ──▶
//!     matterhook.dead (fanout) ──▶ matterhook.dead-letters (quorum) ──▶ dead_letters table
//! ```
//! Every queue is a durable quorum queue (replicated, fsynced before the confirm). Retry queues
//! dead-letter to the default exchange with the worker's own queue as routing key, so a retry goes
//! back only to the queue that failed and never fans out to every worker again; they use
//! at-least-once dead-lettering (with `reject-publish` overflow, which it requires) so the hop
//! back cannot lose a message.

use lapin::{
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
    Channel, ExchangeKind,
};

use crate::BusError;

/// Every exchange and queue name, under one namespace (`MATTERHOOK_AMQP_PREFIX`, default
/// `matterhook`), so that tests and parallel deployments on one broker never share a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    prefix: String,
}

/// The namespace production uses.
pub const DEFAULT_PREFIX: &str = "matterhook";

/// Every worker's name, in pipeline order (its queue is [`Names::worker_queue`]): what the
/// support console lists and ops scale one by one. A test in `matterhook-workers` holds it to
/// the handlers' own names.
pub const WORKERS: [&str; 8] = [
    "journal",
    "sync",
    "matching",
    "status",
    "review",
    "crm",
    "writeback",
    "watches",
];

impl Default for Names {
    fn default() -> Self {
        Self::new(DEFAULT_PREFIX)
    }
}

impl Names {
    /// Names under `prefix`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The namespace's prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Where the receiver publishes Clio events (and workers, later, domain events).
    pub fn events_exchange(&self) -> String {
        // `.direct`: it was a topic exchange named `{prefix}.events`, and an exchange's kind
        // cannot change under its name (the old one, unused, may be deleted).
        format!("{}.events.direct", self.prefix)
    }

    /// The broker-level dead-letter exchange (for messages over the delivery limit).
    pub fn dead_exchange(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    /// The queue behind [`Names::dead_exchange`].
    pub fn dead_queue(&self) -> String {
        format!("{}.dead-letters", self.prefix)
    }

    /// A worker's queue.
    pub fn worker_queue(&self, worker: &str) -> String {
        format!("{}.{worker}", self.prefix)
    }

    /// One of a worker's retry queues.
    pub fn retry_queue(&self, worker: &str, tier: Tier) -> String {
        format!("{}.{worker}.retry.{}", self.prefix, tier.name)
    }

    /// Every queue this namespace has for `workers` (for tearing a test namespace down).
    pub fn queues(&self, workers: &[&str]) -> Vec<String> {
        let mut all = vec![self.dead_queue()];
        for w in workers {
            all.push(self.worker_queue(w));
            all.extend(
                TIERS
                    .iter()
                    .chain(&TEST_TIERS)
                    .map(|t| self.retry_queue(w, *t)),
            );
        }
        all
    }
}
/// Deliveries of one message before the broker itself gives up on it. Far above the runtime's own
/// attempt limit: only a message that crashes its consumer every time gets here.
pub const DELIVERY_LIMIT: i64 = 20;

/// A retry tier: a queue whose messages wait this long before returning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// Name suffix.
    pub name: &'static str,
    /// Wait, in milliseconds.
    pub millis: u64,
}

/// Tiers of milliseconds, for tests of the retry path (queue TTLs are fixed per namespace).
pub const TEST_TIERS: [Tier; 4] = [
    Tier {
        name: "t50ms",
        millis: 50,
    },
    Tier {
        name: "t100ms",
        millis: 100,
    },
    Tier {
        name: "t200ms",
        millis: 200,
    },
    Tier {
        name: "t400ms",
        millis: 400,
    },
];

/// The tiers, shortest first.
pub const TIERS: [Tier; 4] = [
    Tier {
        name: "10s",
        millis: 10_000,
    },
    Tier {
        name: "1m",
        millis: 60_000,
    },
    Tier {
        name: "10m",
        millis: 600_000,
    },
    Tier {
        name: "1h",
        millis: 3_600_000,
    },
];

fn args(pairs: &[(&str, AMQPValue)]) -> FieldTable {
    let mut table = FieldTable::default();
    for (k, v) in pairs {
        table.insert((*k).into(), v.clone());
    }
    table
}

fn text(s: &str) -> AMQPValue {
    AMQPValue::LongString(s.into())
}

/// Declares what every binary needs: the events exchange and the dead-letter path.
pub async fn declare_common(channel: &Channel, names: &Names) -> Result<(), BusError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(
            names.events_exchange().as_str().into(),
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        )
        .await?;
    channel
        .exchange_declare(
            names.dead_exchange().as_str().into(),
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await?;
    let quorum = args(&[("x-queue-type", text("quorum"))]);
    channel
        .queue_declare(
            names.dead_queue().as_str().into(),
            QueueDeclareOptions::durable(),
            quorum,
        )
        .await?;
    channel
        .queue_bind(
            names.dead_queue().as_str().into(),
            names.dead_exchange().as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Declares a worker's queue, bound to `routing_keys`, and its retry tiers.
pub async fn declare_worker(
    channel: &Channel,
    names: &Names,
    worker: &str,
    routing_keys: &[&str],
    tiers: &[Tier],
) -> Result<(), BusError> {
    declare_common(channel, names).await?;
    let queue = names.worker_queue(worker);
    let main = args(&[
        ("x-queue-type", text("quorum")),
        ("x-delivery-limit", AMQPValue::LongLongInt(DELIVERY_LIMIT)),
        ("x-dead-letter-exchange", text(&names.dead_exchange())),
        ("x-dead-letter-strategy", text("at-least-once")),
        ("x-overflow", text("reject-publish")),
    ]);
    channel
        .queue_declare(queue.as_str().into(), QueueDeclareOptions::durable(), main)
        .await?;
    for key in routing_keys {
        channel
            .queue_bind(
                queue.as_str().into(),
                names.events_exchange().as_str().into(),
                (*key).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    for &tier in tiers {
        let retry = args(&[
            ("x-queue-type", text("quorum")),
            ("x-message-ttl", AMQPValue::LongLongInt(tier.millis as i64)),
            ("x-dead-letter-exchange", text("")),
            ("x-dead-letter-routing-key", text(&queue)),
            ("x-dead-letter-strategy", text("at-least-once")),
            ("x-overflow", text("reject-publish")),
        ]);
        channel
            .queue_declare(
                names.retry_queue(worker, tier).as_str().into(),
                QueueDeclareOptions::durable(),
                retry,
            )
            .await?;
    }
    Ok(())
}

/// A worker's queue as another process declares it, ahead of the worker: a publisher that
/// declares its consumers' queues keeps what it publishes before they first start, where the
/// broker would otherwise drop it as unroutable.
#[derive(Debug, Clone)]
pub struct WorkerQueue {
    /// The worker's name ([`crate::Handler::NAME`]).
    pub worker: String,
    /// What it consumes.
    pub routing_keys: Vec<String>,
    /// Its retry tiers (declared with the same arguments the worker itself uses).
    pub tiers: Vec<Tier>,
}

impl WorkerQueue {
    /// The queue `handler`'s worker declares when it runs with `tiers`.
    pub fn of<H: crate::Handler>(handler: &H, tiers: &[Tier]) -> Self {
        Self {
            worker: H::NAME.to_owned(),
            routing_keys: handler.routing_keys(),
            tiers: tiers.to_vec(),
        }
    }

    /// Declares it (idempotent: the same as the worker's own declaration).
    pub async fn declare(&self, channel: &Channel, names: &Names) -> Result<(), BusError> {
        let keys: Vec<&str> = self.routing_keys.iter().map(String::as_str).collect();
        declare_worker(channel, names, &self.worker, &keys, &self.tiers).await
    }
}
