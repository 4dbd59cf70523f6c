//! The ingest pipeline, assembled for a test: its own database, its own AMQP namespace, the real
//! receiver on port 0, the simulator delivering to it, and workers run in-process.

use std::{future::Future, sync::Arc, time::Duration};

use diesel::ExpressionMethods;
use diesel_async::RunQueryDsl;
use lapin::{
    options::{ExchangeDeleteOptions, QueueDeleteOptions},
    Connection,
};
use matterhook_bus::{topology::Names, Handler, Publisher, Runtime, RuntimeConfig};
use matterhook_clio::models::NewWebhook;
use matterhook_crypto::Cipher;
use matterhook_store::{schema, subscriptions, PgPool};
use matterhook_test_support::TestDb;
use tokio::{sync::watch, task::JoinHandle};

use crate::{fast_retries, World, PATIENCE};

pub use matterhook_test_support::amqp_url;

/// A running pipeline.
pub struct Pipeline {
    /// Simulator, client and demo firm.
    pub world: World,
    /// The database.
    pub db: TestDb,
    /// A pool on it.
    pub pool: PgPool,
    /// This test's AMQP namespace.
    pub names: Names,
    /// The broker connection.
    pub broker: Arc<Connection>,
    /// A confirm-mode publisher.
    pub publisher: Publisher,
    /// The receiver's base URL.
    pub receiver_url: String,
    /// The demo connection's row id.
    pub connection_id: i64,
    /// The encryption at rest.
    pub cipher: Cipher,
    receiver: actix_web::dev::ServerHandle,
    workers: Vec<&'static str>,
}

/// A worker running in-process.
pub struct Worker {
    /// What its runtime counted.
    pub metrics: matterhook_telemetry::Metrics,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), matterhook_bus::BusError>>,
}

impl Worker {
    /// Stops it as SIGTERM would, and waits until it has finished what was in flight.
    pub async fn stop(self) -> Result<(), matterhook_bus::BusError> {
        let _ = self.stop.send(true);
        self.task.await.expect("worker task")
    }

    /// Whether it has returned.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Pipeline {
    /// Starts everything but the workers.
    pub async fn start() -> Self {
        let world = World::start(fast_retries()).await;
        let db = TestDb::new().await.expect("database");
        let pool = matterhook_store::connect_pool(db.url(), 8).expect("pool");
        let names = Names::new(&format!(
            "mhtest-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ));
        let broker = Arc::new(
            matterhook_bus::connect(&amqp_url(), "e2e")
                .await
                .expect("broker"),
        );
        // Supervised, as the receiver binary's is: it reconnects by itself after a broker restart.
        let publisher = {
            let names = names.clone();
            Publisher::supervised(&amqp_url(), "e2e-receiver", 2, move |channel| {
                let names = names.clone();
                async move { matterhook_bus::topology::declare_common(&channel, &names).await }
            })
            .await
            .expect("publisher")
        };
        let cipher = Cipher::new(&matterhook_config::DEV_ENCRYPTION_KEY.parse().expect("key"));

        let (receiver_url, receiver) = start_receiver(&pool, &publisher, &cipher, &names);

        let connection_id = {
            let mut conn = pool.get().await.expect("conn");
            let user: i64 = diesel::insert_into(schema::users::table)
                .values((
                    schema::users::email.eq("alice@hartleyfinch.example"),
                    schema::users::token_hash.eq(vec![1u8; 32]),
                ))
                .returning(schema::users::id)
                .get_result(&mut conn)
                .await
                .expect("user");
            diesel::insert_into(schema::connections::table)
                .values((
                    schema::connections::user_id.eq(user),
                    schema::connections::region.eq("us"),
                    schema::connections::clio_user_id.eq(world.firm.attorney_id),
                    schema::connections::clio_account_id.eq(world.firm.account_id),
                    schema::connections::account_name.eq("Hartley & Finch LLP"),
                ))
                .returning(schema::connections::id)
                .get_result(&mut conn)
                .await
                .expect("connection")
        };
        Self {
            world,
            db,
            pool,
            names,
            broker,
            publisher,
            receiver_url,
            connection_id,
            cipher,
            receiver,
            workers: vec![],
        }
    }

    /// A user of the API with a fresh token (an admin when `admin`): the token.
    pub async fn user(&self, email: &str, admin: bool) -> String {
        let (token, hash) = matterhook_crypto::issue_api_token();
        let mut conn = self.pool.get().await.expect("conn");
        diesel::insert_into(schema::users::table)
            .values((
                schema::users::email.eq(email),
                schema::users::token_hash.eq(hash),
                schema::users::is_admin.eq(admin),
            ))
            .execute(&mut conn)
            .await
            .expect("user");
        token
    }

    /// The API on port 0, on this pipeline's database, broker and namespace: its base URL and
    /// handle.
    pub fn start_api(&self) -> (String, actix_web::dev::ServerHandle) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = matterhook_api::server(
            listener,
            matterhook_api::Deps {
                queues: matterhook_bus::inspect::Queues::new(&amqp_url(), self.names.clone()),
                pool: self.pool.clone(),
                lookup_pool: self.pool.clone(),
                publisher: self.publisher.clone(),
                connections: crate::stack::connections(self),
                metrics: matterhook_telemetry::Metrics::new(),
                app: matterhook_api::AppLink::default(),
            },
        )
        .expect("api");
        let handle = server.handle();
        tokio::spawn(server);
        (base, handle)
    }

    /// Another receiver on the same database and broker (a second public address): its base URL
    /// and handle.
    pub fn start_receiver(&self) -> (String, actix_web::dev::ServerHandle) {
        start_receiver(&self.pool, &self.publisher, &self.cipher, &self.names)
    }

    /// Creates a subscription the way the product does: a row awaiting its handshake, a Clio
    /// webhook pointing at its URL, the handshake answered by the receiver, Clio's id stored.
    /// Returns the subscription's row id and token, and the Clio webhook's id and secret.
    pub async fn subscribe(&self, model: &str, events: &[&str], fields: &str) -> Subscribed {
        let token = matterhook_crypto::random_token(32);
        let row = {
            let mut conn = self.pool.get().await.expect("conn");
            subscriptions::insert(
                &mut conn,
                &subscriptions::NewSubscription {
                    token: token.clone(),
                    connection_id: self.connection_id,
                    model: matterhook_domain::Model::parse(model).expect("a model name"),
                    events: events.iter().map(|e| (*e).to_owned()).collect(),
                    fields: fields.into(),
                    public_url: self.receiver_url.clone(),
                },
            )
            .await
            .expect("subscription row")
        };
        let (api, _) = self.world.api_for(self.world.firm.attorney_id).await;
        let hook = api
            .create_webhook(&NewWebhook {
                url: format!("{}/webhooks/clio/{token}", self.receiver_url),
                model: model.into(),
                fields: fields.into(),
                events: events.iter().map(|e| (*e).to_owned()).collect(),
                expires_at: None,
            })
            .await
            .expect("Clio webhook");
        {
            let mut conn = self.pool.get().await.expect("conn");
            let expires = hook.expires_at.map(|t| t.with_timezone(&chrono::Utc));
            subscriptions::set_clio_webhook(
                &mut conn,
                row.id,
                hook.id,
                expires,
                chrono::Utc::now(),
            )
            .await
            .expect("store Clio id");
        }
        let secret = self
            .world
            .sim
            .wait_until(PATIENCE, |s| {
                s.webhooks()
                    .into_iter()
                    .find(|h| h.id == hook.id && h.status == "enabled")
                    .map(|h| h.shared_secret)
            })
            .await
            .expect("the receiver answered the handshake");
        Subscribed {
            id: row.id,
            token,
            webhook_id: hook.id,
            secret,
        }
    }

    /// Runs `handler` on the runtime until stopped; returns once its queue is declared.
    pub async fn start_worker<H: Handler>(&mut self, handler: H, max_attempts: u32) -> Worker {
        let pool = self.pool.clone();
        self.start_worker_on(handler, max_attempts, pool, 8).await
    }

    /// [`Pipeline::start_worker`] with a pool of its own, as a worker binary has (the benches).
    pub async fn start_worker_on<H: Handler>(
        &mut self,
        handler: H,
        max_attempts: u32,
        pool: matterhook_store::PgPool,
        prefetch: u16,
    ) -> Worker {
        self.workers.push(H::NAME);
        let (stop, stopped) = watch::channel(false);
        let names = self.names.clone();
        let (ready, declared) = tokio::sync::oneshot::channel::<()>();
        let metrics = matterhook_telemetry::Metrics::new();
        let counted = metrics.clone();
        let task = tokio::spawn(async move {
            let config = RuntimeConfig {
                prefetch,
                max_attempts,
                names,
                tiers: matterhook_bus::topology::TEST_TIERS.to_vec(),
                metrics: counted,
            };
            let runtime = Runtime::new(handler, pool, &amqp_url(), config).await?;
            let _ = ready.send(());
            let mut stopped = stopped;
            runtime
                .run(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        });
        let _ = declared.await;
        Worker {
            metrics,
            stop,
            task,
        }
    }

    /// Stops a worker once everything in its queue has been handled. A stopped worker has finished
    /// every message it took and left the rest ready in its queue, so: stop, and while anything
    /// waits, run a new one (`restart`) until the queue looks empty, and stop again.
    pub async fn stop_when_idle<H: Handler>(
        &mut self,
        mut worker: Worker,
        restart: impl Fn() -> H,
    ) {
        let queue = self.names.worker_queue(H::NAME);
        loop {
            worker.stop().await.expect("worker stops cleanly");
            if self.queue_depth(&queue).await.expect("queue") == 0 {
                return;
            }
            worker = self.start_worker(restart(), 6).await;
            eventually(|| async { (self.queue_depth(&queue).await.ok()? == 0).then_some(()) })
                .await
                .expect("the queue drains");
        }
    }

    /// Messages waiting in `queue` (a passive declare, which fails for a missing queue).
    pub async fn queue_depth(&self, queue: &str) -> Result<u32, lapin::Error> {
        let channel = self.broker.create_channel().await?;
        let options = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let depth = channel
            .queue_declare(queue.into(), options, Default::default())
            .await?
            .message_count();
        let _ = channel.close(200, "done".into()).await;
        Ok(depth)
    }

    /// A signed delivery of `body` to a subscription, as Clio would send it.
    pub async fn deliver(&self, sub: &Subscribed, body: &serde_json::Value) -> reqwest::Response {
        self.deliver_with(sub, body, &[]).await
    }

    /// [`Pipeline::deliver`] with extra headers (an `X-Request-Id`, say).
    pub async fn deliver_with(
        &self,
        sub: &Subscribed,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let bytes = body.to_string();
        let mut request = reqwest::Client::new()
            .post(format!("{}/webhooks/clio/{}", self.receiver_url, sub.token));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
            .header(
                "X-Hook-Signature",
                clio_sim::sign(&sub.secret, bytes.as_bytes()),
            )
            .header("Content-Type", "application/json")
            .body(bytes)
            .send()
            .await
            .expect("receiver answers")
    }

    /// Declares `handler`'s queue as its worker would, without consuming from it: what it is
    /// sent waits there (and is deleted with the namespace).
    pub async fn declare_queue_of<H: Handler>(&mut self, handler: &H) {
        self.workers.push(H::NAME);
        let channel = self.broker.create_channel().await.expect("channel");
        matterhook_bus::topology::WorkerQueue::of(handler, &matterhook_bus::topology::TEST_TIERS)
            .declare(&channel, &self.names)
            .await
            .expect("queue declared");
    }

    /// A copy of every event whose routing key matches `binding`, from now on (an exclusive
    /// queue of the test's own, gone with its channel).
    pub async fn tap(&self, bindings: &[String]) -> lapin::Consumer {
        let channel = self.broker.create_channel().await.expect("channel");
        let copy = channel
            .queue_declare(
                "".into(),
                lapin::options::QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                Default::default(),
            )
            .await
            .expect("queue");
        for binding in bindings {
            channel
                .queue_bind(
                    copy.name().as_str().into(),
                    self.names.events_exchange().as_str().into(),
                    binding.as_str().into(),
                    Default::default(),
                    Default::default(),
                )
                .await
                .expect("bind");
        }
        channel
            .basic_consume(
                copy.name().as_str().into(),
                "tap".into(),
                lapin::options::BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                Default::default(),
            )
            .await
            .expect("consume")
    }

    /// Deletes this test's queues and exchanges, and stops the receiver.
    pub async fn stop(self) {
        self.receiver.stop(true).await;
        delete_namespace(&self.broker, &self.names, &self.workers).await;
    }
}

/// Deletes a test namespace: its workers' queues, the dead-letter queue and the exchanges.
pub async fn delete_namespace(broker: &lapin::Connection, names: &Names, workers: &[&str]) {
    let Ok(channel) = broker.create_channel().await else {
        return;
    };
    for queue in names.queues(workers) {
        let _ = channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    for exchange in [names.events_exchange(), names.dead_exchange()] {
        let _ = channel
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await;
    }
}

/// A receiver on port 0 over these parts: its base URL and handle.
fn start_receiver(
    pool: &PgPool,
    publisher: &Publisher,
    cipher: &Cipher,
    names: &Names,
) -> (String, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let deps = matterhook_receiver::Deps {
        pool: pool.clone(),
        publisher: publisher.clone(),
        cipher: cipher.clone(),
        names: names.clone(),
        metrics: matterhook_telemetry::Metrics::new(),
    };
    let server = matterhook_receiver::server(listener, deps, 1).expect("receiver");
    let handle = server.handle();
    tokio::spawn(server);
    (url, handle)
}

/// A live subscription.
pub struct Subscribed {
    /// Row id.
    pub id: i64,
    /// URL token.
    pub token: String,
    /// Clio's webhook id.
    pub webhook_id: i64,
    /// The shared secret.
    pub secret: String,
}

/// Polls `check` until it returns `Some` or [`PATIENCE`] runs out: for effects that land in the
/// database from another task, with no event to wait on.
pub async fn eventually<T, F, Fut>(check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(PATIENCE, check).await
}

/// [`eventually`], with the patience a promise names ("within two minutes").
pub async fn eventually_within<T, F, Fut>(patience: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
