//! (b) The receiver as its own process, with a subscription ready to receive.

use std::{path::Path, process::Stdio, sync::Arc, time::Duration};

use diesel::ExpressionMethods;
use diesel_async::RunQueryDsl;
use lapin::{
    options::{QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions},
    types::{AMQPValue, FieldTable},
};
use matterhook_bus::topology::Names;
use matterhook_crypto::Cipher;
use matterhook_store::{schema, subscriptions};
use secrecy::SecretString;

/// Messages the bench queues keep (older ones are dropped).
pub const QUEUE_CAP: i64 = 50_000;

/// Distinct signed bodies cycled through by the load generator.
const BODIES: usize = 20_000;

/// A receiver process ready to take signed deliveries.
pub struct Setup {
    /// The receiver's address, delivery path (`/webhooks/clio/{token}`) and signed bodies.
    pub target: crate::load::Target,
    child: tokio::process::Child,
    names: Names,
    amqp_url: String,
}

impl Setup {
    /// Prepares the database, broker and subscription, and starts the receiver.
    pub async fn start(bin: &Path, database_url: &str, amqp_url: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            bin.exists(),
            "{} is missing: build it with `cargo build --release --bin matterhook-receiver`",
            bin.display()
        );
        matterhook_store::migrations::create_database_if_missing(database_url).await?;
        matterhook_store::run_migrations(database_url).await?;
        let names = Names::new(&format!(
            "mhbench-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        let connection = matterhook_bus::connect(amqp_url, "bench-setup").await?;
        let channel = connection.create_channel().await?;
        matterhook_bus::topology::declare_common(&channel, &names).await?;
        let sink = format!("{}.sink", names.events_exchange());
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        args.insert("x-max-length".into(), AMQPValue::LongLongInt(QUEUE_CAP));
        channel
            .queue_declare(sink.as_str().into(), QueueDeclareOptions::durable(), args)
            .await?;
        channel
            .queue_bind(
                sink.as_str().into(),
                names.events_exchange().as_str().into(),
                "clio.contact.updated".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;

        let secret = "bench-secret-0123456789";
        let pool = matterhook_store::connect_pool(database_url, 2)?;
        let mut conn = pool.get().await?;
        let email = format!(
            "bench-{}@example.com",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let user: i64 = diesel::insert_into(schema::users::table)
            .values((
                schema::users::email.eq(&email),
                schema::users::token_hash.eq(uuid::Uuid::new_v4().as_bytes().repeat(2)),
            ))
            .returning(schema::users::id)
            .get_result(&mut conn)
            .await?;
        let connection_id: i64 = diesel::insert_into(schema::connections::table)
            .values((
                schema::connections::user_id.eq(user),
                schema::connections::region.eq("us"),
                schema::connections::clio_user_id.eq(1),
                schema::connections::clio_account_id.eq(1),
                schema::connections::account_name.eq("Bench"),
            ))
            .returning(schema::connections::id)
            .get_result(&mut conn)
            .await?;
        let token = matterhook_crypto::random_token(32);
        let sub = subscriptions::insert(
            &mut conn,
            &subscriptions::NewSubscription {
                token: token.clone(),
                connection_id,
                model: matterhook_domain::Model::Contact,
                events: vec!["updated".into()],
                fields: "id,etag".into(),
                public_url: "http://127.0.0.1".into(),
            },
        )
        .await?;
        let cipher = Cipher::new(&matterhook_config::DEV_ENCRYPTION_KEY.parse()?);
        let sealed = cipher.seal(
            &SecretString::from(secret.to_owned()),
            &subscriptions::secret_context(sub.id),
        );
        subscriptions::complete_handshake(&mut conn, sub.id, &sealed).await?;
        subscriptions::set_clio_webhook(&mut conn, sub.id, 4242, None, chrono::Utc::now()).await?;

        let bodies: Vec<(bytes::Bytes, String)> = (0..BODIES)
            .map(|i| {
                let body = serde_json::json!({"data": {"id": i, "etag": format!("\"{i:032x}\""), "name": "Bench Contact"}, "meta": {"event": "updated", "webhook_id": 4242}}).to_string();
                let signature = clio_sim::sign(secret, body.as_bytes());
                (bytes::Bytes::from(body), signature)
            })
            .collect();

        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = tokio::process::Command::new(bin)
            .env("DATABASE_URL", database_url)
            .env("AMQP_URL", amqp_url)
            .env("MATTERHOOK_AMQP_PREFIX", names_prefix(&names))
            .env("MATTERHOOK_RECEIVER_ADDR", &addr)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let http = reqwest::Client::new();
        let ready = format!("http://{addr}/readyz");
        let mut up = false;
        for _ in 0..100 {
            if http
                .get(&ready)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::ensure!(up, "the receiver did not become ready");
        let _ = connection.close(200, "setup done".into()).await;
        Ok(Self {
            target: crate::load::Target {
                addr: addr.parse()?,
                path: format!("/webhooks/clio/{token}"),
                bodies: Arc::new(bodies),
            },
            child,
            names,
            amqp_url: amqp_url.to_owned(),
        })
    }

    /// Empties the sink queue and gives the broker a moment to finish its background work, so one
    /// phase's backlog does not land in the next phase's latencies.
    pub async fn settle(&self) -> anyhow::Result<()> {
        let connection = matterhook_bus::connect(&self.amqp_url, "bench-settle").await?;
        let channel = connection.create_channel().await?;
        let sink = format!("{}.sink", self.names.events_exchange());
        channel
            .queue_purge(
                sink.as_str().into(),
                lapin::options::QueuePurgeOptions::default(),
            )
            .await?;
        let _ = connection.close(200, "settled".into()).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        Ok(())
    }

    /// The receiver's peak resident memory (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        let pid = self
            .child
            .id()
            .ok_or_else(|| anyhow::anyhow!("the receiver exited"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no VmHWM"))?;
        Ok(kib / 1024.0)
    }

    /// Stops the receiver and removes the bench queues.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        if let Ok(connection) = matterhook_bus::connect(&self.amqp_url, "bench-teardown").await {
            if let Ok(channel) = connection.create_channel().await {
                let sink = format!("{}.sink", self.names.events_exchange());
                let _ = channel
                    .queue_delete(sink.as_str().into(), QueueDeleteOptions::default())
                    .await;
                let _ = channel
                    .queue_delete(
                        self.names.dead_queue().as_str().into(),
                        QueueDeleteOptions::default(),
                    )
                    .await;
            }
        }
    }
}

fn names_prefix(names: &Names) -> String {
    names.prefix().to_owned()
}
