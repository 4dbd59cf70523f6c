//! The sync stage for a test: a connected firm, the sync worker's consumer on the runtime, and a
//! [`SyncStage`] driven step by step (batches and sweeps run when the test says, not on a timer).

use std::time::Duration;

use clio_sim::Kind;
use matterhook_store::{mirror, outbox, sync_queue};
use matterhook_sync::{SweepMode, SyncConfig, SyncHandler, SyncStage};
use secrecy::ExposeSecret;

use crate::{
    ingest::{eventually, Worker},
    stack::{Stack, User},
    PATIENCE,
};

/// A connected firm with the sync worker.
pub struct Rig {
    /// The stack.
    pub s: Stack,
    /// The sync worker's consumer.
    pub worker: Option<Worker>,
    /// The stage.
    pub stage: SyncStage,
    /// The user.
    pub bob: User,
    /// Their connection.
    pub id: i64,
    /// The firm's Clio account.
    pub account: i64,
}

/// The consumer as tests run it: no coalescing window (the test decides when batches run).
pub fn handler() -> SyncHandler {
    SyncHandler {
        window: Duration::ZERO,
        ..SyncHandler::default()
    }
}

/// The stage's configuration in tests: quick retries, three attempts, a circuit that probes at
/// once.
pub fn config(s: &Stack) -> SyncConfig {
    SyncConfig {
        max_attempts: 3,
        backoff: vec![Duration::ZERO],
        circuit_pauses: vec![Duration::ZERO],
        names: s.p.names.clone(),
        ..SyncConfig::default()
    }
}

impl Rig {
    /// Connects the demo firm with the sync consumer running.
    pub async fn start() -> Self {
        Self::start_with(handler()).await
    }

    /// Same, with the consumer's coalescing window of `handler`.
    pub async fn start_with(handler: SyncHandler) -> Self {
        Self::start_tuned(handler, |_| {}).await
    }

    /// Same, with `tune` applied to the simulator before anything calls it (a rate limit lifted
    /// later would not reach a token's budget until its window ends).
    pub async fn start_tuned(handler: SyncHandler, tune: impl FnOnce(&clio_sim::Sim)) -> Self {
        let mut s = Stack::start().await;
        tune(&s.p.world.sim);
        let worker = s.p.start_worker(handler, 3).await;
        let bob = s.user("bob@hartleyfinch.example").await;
        let id = s.connect(&bob).await;
        let stage = SyncStage::new(s.p.pool.clone(), s.connections.clone(), config(&s));
        let account = s.p.world.firm.account_id;
        Self {
            s,
            worker: Some(worker),
            stage,
            bob,
            id,
            account,
        }
    }

    /// The first sweep: the firm's history, read into the mirror.
    pub async fn baseline(&self) {
        let reports = self
            .stage
            .sweep_connection(self.id, SweepMode::Incremental)
            .await
            .expect("baseline sweep");
        assert!(reports.iter().all(|r| r.skipped.is_none()), "{reports:?}");
    }

    /// `n` open matters of `account` for `client`, described `"{label} {i}"`, created in the
    /// simulator and read into the mirror by a full sweep of `connection`.
    pub async fn open_mirrored_matters(
        &self,
        connection: i64,
        account: i64,
        client: i64,
        n: usize,
        label: &str,
    ) -> Vec<i64> {
        let sim = &self.s.p.world.sim;
        let matters = (0..n)
            .map(|i| {
                sim.create(Kind::Matter, account,
                    serde_json::json!({"client": {"id": client}, "status": "open", "description": format!("{label} {i}")}))
                    .expect("matter")
                    .id
            })
            .collect();
        self.stage
            .sweep_connection(connection, SweepMode::Full)
            .await
            .expect("sweep");
        matters
    }

    /// Every authenticated call the simulator has answered.
    pub fn clio_calls(&self) -> u64 {
        self.s.p.world.sim.calls().values().map(|c| c.total).sum()
    }

    /// The connection's access token as stored.
    pub async fn access_token(&self, connection_id: i64) -> String {
        let mut conn = self.s.p.pool.get().await.expect("conn");
        let row = matterhook_store::connections::get(&mut conn, connection_id)
            .await
            .expect("row")
            .expect("exists");
        self.s
            .p
            .cipher
            .open(
                &row.access_token_enc.expect("sealed"),
                &matterhook_store::connections::access_context(connection_id),
            )
            .expect("opens")
            .expose_secret()
            .to_owned()
    }

    /// Waits until Clio delivered at least `count` events after the first `since` deliveries (each
    /// answered 200), then until the consumer has queued as many records to re-read.
    pub async fn settle(&mut self, since: usize, count: usize) {
        let delivered = self
            .s
            .p
            .world
            .sim
            .wait_until(PATIENCE * 3, |sim| {
                let d: Vec<_> = sim
                    .deliveries()
                    .into_iter()
                    .skip(since)
                    .filter(|d| d.event != "handshake")
                    .collect();
                (d.len() >= count
                    && d.iter()
                        .all(|d| d.attempts.iter().any(|a| a.status == Some(200))))
                .then_some(())
            })
            .await;
        assert_eq!(delivered, Some(()), "Clio delivered {count} events");
        let queued = eventually(|| async {
            let mut conn = self.s.p.pool.get().await.ok()?;
            let rows = sync_queue::total(&mut conn).await.ok()?;
            (rows >= count as i64).then_some(())
        })
        .await;
        assert_eq!(queued, Some(()), "the consumer queued {count} records");
    }

    /// How many deliveries Clio has made so far (a mark for [`Rig::settle`]).
    pub fn deliveries(&self) -> usize {
        self.s.p.world.sim.deliveries().len()
    }

    /// Rows waiting in the sync queue for a connection.
    pub async fn waiting(&self, connection_id: i64) -> i64 {
        let mut conn = self.s.p.pool.get().await.expect("conn");
        sync_queue::waiting(&mut conn, connection_id)
            .await
            .expect("count")
    }

    /// The mirrored matter.
    pub async fn matter(&self, id: i64) -> Option<mirror::MatterRow> {
        let mut conn = self.s.p.pool.get().await.expect("conn");
        mirror::matter(&mut conn, self.account, id)
            .await
            .expect("query")
    }

    /// The mirrored contact.
    pub async fn contact(&self, id: i64) -> Option<mirror::ContactRow> {
        let mut conn = self.s.p.pool.get().await.expect("conn");
        mirror::contact(&mut conn, self.account, id)
            .await
            .expect("query")
    }

    /// The routing keys and messages waiting in the outbox, oldest first.
    pub async fn outbox(&self) -> Vec<(String, serde_json::Value)> {
        let mut conn = self.s.p.pool.get().await.expect("conn");
        outbox::take(&mut conn, 10_000)
            .await
            .expect("outbox")
            .into_iter()
            .map(|r| (r.routing_key, r.message))
            .collect()
    }

    /// A matter's status as Clio holds it, with its etag.
    pub fn clio_matter(&self, id: i64) -> (String, String) {
        let rec = self.s.p.world.sim.get(Kind::Matter, id).expect("in Clio");
        (
            rec["status"].as_str().unwrap_or_default().to_owned(),
            rec["etag"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// Stops everything.
    pub async fn stop(mut self) {
        if let Some(w) = self.worker.take() {
            let _ = w.stop().await;
        }
        self.s.stop().await;
    }
}

/// Distinct records the batches re-read and wrote.
pub fn records_done(outcomes: &[matterhook_sync::BatchOutcome]) -> usize {
    outcomes
        .iter()
        .map(|o| match o {
            matterhook_sync::BatchOutcome::Done { records, .. } => *records,
            _ => 0,
        })
        .sum()
}

/// The sync stage as `matterhook-worker-sync` runs it beside its consumer: the batcher (with the
/// production window's rows, on `pool`) and the relay, woken by PostgreSQL's notifications, or
/// polling every 100 ms when `wake` is false (the benches' before-and-after).
pub struct RunningStage {
    stop: tokio::sync::watch::Sender<bool>,
    batcher: tokio::task::JoinHandle<()>,
    relay: tokio::task::JoinHandle<()>,
}

impl RunningStage {
    /// Starts the batcher and the relay of `r`'s stack.
    pub fn start(r: &Rig, pool: matterhook_store::PgPool, wake: bool) -> Self {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let wake = wake.then(|| matterhook_sync::Wake {
            wakeups: matterhook_store::wakeups::Wakeups::listen(
                r.s.p.db.url(),
                &[
                    matterhook_store::wakeups::SYNC_QUEUE,
                    matterhook_store::wakeups::OUTBOX,
                ],
            ),
            fallback: matterhook_sync::IDLE_LISTENING,
        });
        let stage = SyncStage::new(
            pool,
            r.s.connections.clone(),
            SyncConfig {
                wake: wake.clone(),
                ..config(&r.s)
            },
        );
        let batcher = tokio::spawn({
            let s = stopped.clone();
            async move { stage.run_batches(until(s)).await }
        });
        let relay = tokio::spawn(matterhook_sync::relay::run_relay_with(
            r.s.p.pool.clone(),
            matterhook_test_support::amqp_url(),
            r.s.p.names.clone(),
            Vec::new(),
            wake,
            until(stopped),
        ));
        Self {
            stop,
            batcher,
            relay,
        }
    }

    /// Stops both, letting the batches and publishes in flight finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.batcher.await;
        let _ = self.relay.await;
    }
}
