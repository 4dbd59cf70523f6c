//! The connections stack for a test: the ingest pipeline, plus the API on port 0 and a
//! [`Connections`] on the simulator's clock, so tests can move time forward by days.

use std::sync::Arc;

use diesel::ExpressionMethods;
use diesel_async::RunQueryDsl;
use matterhook_clio::{oauth::OAuthApp, ClientConfig, ClioClient};
use matterhook_connections::{Connections, Deps, Policy};
use matterhook_store::schema;
use secrecy::SecretString;
use url::Url;

use std::time::Duration;

use clio_sim::Kind;
use matterhook_store::subscriptions;

use crate::{approve, ingest::Pipeline, PATIENCE};

/// The origin of the app the API's connect page posts its outcome to, in tests.
pub const APP_ORIGIN: &str = "http://app.test";

/// The pipeline with the API and connections.
pub struct Stack {
    /// The ingest pipeline (simulator, database, broker, receiver).
    pub p: Pipeline,
    /// The API's base URL.
    pub api_url: String,
    /// Connections as the API uses them (simulator clock).
    pub connections: Connections,
    api: actix_web::dev::ServerHandle,
    /// The user's browser: no redirects followed, cookies kept.
    pub http: reqwest::Client,
}

/// A user of our API.
pub struct User {
    /// Row id.
    pub id: i64,
    /// Bearer token.
    pub token: String,
}

impl Stack {
    /// Starts everything.
    pub async fn start() -> Self {
        let p = Pipeline::start().await;
        // The pipeline's fixture connection has no tokens: out of the way of the scheduler.
        {
            let mut conn = p.pool.get().await.expect("conn");
            matterhook_store::connections::mark_disconnected(&mut conn, p.connection_id)
                .await
                .expect("fixture connection");
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let api_url = format!("http://{}", listener.local_addr().expect("addr"));
        let connections = Self::connections_for(&p, &api_url, &p.receiver_url);
        let server = matterhook_api::server(
            listener,
            matterhook_api::Deps {
                queues: matterhook_bus::inspect::Queues::new(
                    &matterhook_test_support::amqp_url(),
                    p.names.clone(),
                ),
                pool: p.pool.clone(),
                lookup_pool: p.pool.clone(),
                publisher: p.publisher.clone(),
                connections: connections.clone(),
                metrics: matterhook_telemetry::Metrics::new(),
                app: matterhook_api::AppLink {
                    origin: Some(APP_ORIGIN.into()),
                    ..matterhook_api::AppLink::default()
                },
            },
        )
        .expect("api");
        let api = server.handle();
        tokio::spawn(server);
        // A browser's cookie jar: the connect's state is bound to it.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("client");
        Self {
            p,
            api_url,
            connections,
            api,
            http,
        }
    }

    /// Another process's [`Connections`]: its own pool, its own in-memory tokens, same database,
    /// on the simulator's clock, webhooks pointing at `public_url`.
    pub fn another_process(&self, public_url: &str) -> Connections {
        Self::connections_for(&self.p, &self.api_url, public_url)
    }

    /// Another process's [`Connections`] on the wall clock: it does not see the simulator's
    /// clock move, so it finds out about an expired token from a 401.
    pub fn wall_clock_process(&self) -> Connections {
        let mut c = Self::deps_for(&self.p, &self.api_url, &self.p.receiver_url);
        c.clock = matterhook_connections::system_clock();
        Connections::new(c)
    }

    /// Another process's [`Connections`] whose Clio client is configured by `tune` (a shorter
    /// timeout, a shorter pacing wait), as a worker binary configures its own.
    pub fn process_with(&self, tune: impl FnOnce(&mut ClientConfig)) -> Connections {
        let mut deps = Self::deps_for(&self.p, &self.api_url, &self.p.receiver_url);
        let mut config = ClientConfig::new(self.p.world.server.base_url());
        tune(&mut config);
        deps.client = ClioClient::new(config).expect("client");
        Connections::new(deps)
    }

    fn connections_for(p: &Pipeline, api_url: &str, public_url: &str) -> Connections {
        Connections::new(Self::deps_for(p, api_url, public_url))
    }

    fn deps_for(p: &Pipeline, api_url: &str, public_url: &str) -> Deps {
        let config = p.world.sim.config();
        let client = ClioClient::new(ClientConfig::new(p.world.server.base_url())).expect("client");
        let oauth = OAuthApp::new(
            config.client_id,
            SecretString::from(config.client_secret),
            Url::parse(&format!("{api_url}/oauth/clio/callback")).expect("url"),
            client.endpoints().clone(),
            client.http().clone(),
        );
        let sim = p.world.sim.clone();
        Deps {
            pool: matterhook_store::connect_pool(p.db.url(), 8).expect("pool"),
            cipher: p.cipher.clone(),
            client,
            oauth,
            public_url: Url::parse(public_url).expect("public url"),
            clock: Arc::new(move || sim.now()),
            policy: Policy::default(),
        }
    }

    /// Starts everything with the journal worker consuming every event (deliveries are accepted
    /// only when a queue takes them), and connects a user: the stack, the worker, the user and
    /// the connection id.
    pub async fn connected() -> (Self, crate::ingest::Worker, User, i64) {
        let mut s = Self::start().await;
        let worker =
            s.p.start_worker(matterhook_workers::journal::Journal, 3)
                .await;
        let bob = s.user("bob@hartleyfinch.example").await;
        let id = s.connect(&bob).await;
        (s, worker, bob, id)
    }

    /// A new API user.
    pub async fn user(&self, email: &str) -> User {
        let (token, hash) = matterhook_crypto::issue_api_token();
        let mut conn = self.p.pool.get().await.expect("conn");
        let id = diesel::insert_into(schema::users::table)
            .values((
                schema::users::email.eq(email),
                schema::users::token_hash.eq(hash),
            ))
            .returning(schema::users::id)
            .get_result(&mut conn)
            .await
            .expect("user");
        User { id, token }
    }

    /// `GET /connect/clio` as `user`: the consent page's URL.
    pub async fn start_connect(&self, user: &User) -> Url {
        let answer = self
            .http
            .get(format!("{}/connect/clio?region=us", self.api_url))
            .bearer_auth(&user.token)
            .send()
            .await
            .expect("API answers");
        assert_eq!(answer.status(), 302, "connect redirects to Clio");
        Url::parse(answer.headers()["location"].to_str().expect("ascii")).expect("url")
    }

    /// Follows Clio's redirect to our callback: the callback's answer.
    pub async fn follow(&self, callback: &Url) -> reqwest::Response {
        self.http
            .get(callback.as_str())
            .send()
            .await
            .expect("callback answers")
    }

    /// The whole flow: connect, the Clio user `clio_user_id` decides, the callback runs.
    pub async fn connect_as(
        &self,
        user: &User,
        clio_user_id: i64,
        decision: &str,
    ) -> (Url, reqwest::Response) {
        let authorize = self.start_connect(user).await;
        let callback = approve(&authorize, clio_user_id, decision).await;
        let answer = self.follow(&callback).await;
        (callback, answer)
    }

    /// Connects the demo attorney for `user`; the connection id.
    pub async fn connect(&self, user: &User) -> i64 {
        let (_, answer) = self
            .connect_as(user, self.p.world.firm.attorney_id, "allow")
            .await;
        assert_eq!(answer.status(), 200, "connected");
        let body: serde_json::Value = answer.json().await.expect("json");
        let id = body["connection_id"].as_i64().expect("connection id");
        self.wait_enabled(id).await;
        id
    }

    /// Waits until Clio holds every live subscription of the connection enabled: their handshakes
    /// reach the receiver on their own time.
    pub async fn wait_enabled(&self, connection_id: i64) {
        let ids: Vec<i64> = live_subscriptions(self, connection_id)
            .await
            .iter()
            .filter_map(|l| l.clio_webhook_id)
            .collect();
        assert_eq!(ids.len(), 3, "three subscriptions with Clio ids");
        let enabled = self
            .p
            .world
            .sim
            .wait_until(PATIENCE, |sim| {
                let hooks = sim.webhooks();
                ids.iter()
                    .all(|id| hooks.iter().any(|h| h.id == *id && h.status == "enabled"))
                    .then_some(())
            })
            .await;
        assert_eq!(enabled, Some(()), "every webhook completed its handshake");
    }

    /// An authenticated API call.
    pub async fn api_get(&self, user: &User, path: &str) -> serde_json::Value {
        self.http
            .get(format!("{}{path}", self.api_url))
            .bearer_auth(&user.token)
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("json")
    }

    /// An authenticated POST: status and body.
    pub async fn api_post(&self, user: &User, path: &str) -> (u16, serde_json::Value) {
        let answer = self
            .http
            .post(format!("{}{path}", self.api_url))
            .bearer_auth(&user.token)
            .send()
            .await
            .expect("answer");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or_default())
    }

    /// An authenticated call with a JSON body (or none): status and body.
    pub async fn api_send(
        &self,
        user: &User,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api_url))
            .bearer_auth(&user.token);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let answer = request.send().await.expect("answer");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or_default())
    }

    /// A connection's status column.
    pub async fn status(&self, connection_id: i64) -> String {
        let mut conn = self.p.pool.get().await.expect("conn");
        matterhook_store::connections::get(&mut conn, connection_id)
            .await
            .expect("connection")
            .expect("exists")
            .status
            .to_string()
    }

    /// How many connections a user has.
    pub async fn connections_of(&self, user: &User) -> usize {
        let mut conn = self.p.pool.get().await.expect("conn");
        matterhook_store::connections::for_user(&mut conn, user.id)
            .await
            .expect("connections")
            .len()
    }

    /// Stops everything.
    pub async fn stop(self) {
        self.api.stop(true).await;
        self.p.stop().await;
    }
}

/// A [`Connections`] for a pipeline without the API (its OAuth callback is never used).
pub fn connections(p: &Pipeline) -> Connections {
    Stack::connections_for(p, "http://127.0.0.1:1", &p.receiver_url)
}

/// A simulated day.
pub const DAY: Duration = Duration::from_secs(24 * 3600);

/// The sim's webhooks that point at `url_prefix`.
pub fn hooks_at(s: &Stack, url_prefix: &str) -> Vec<clio_sim::Hook> {
    s.p.world
        .sim
        .webhooks()
        .into_iter()
        .filter(|h| h.url.starts_with(url_prefix))
        .collect()
}

/// A connection's subscriptions that are not deleted.
pub async fn live_subscriptions(s: &Stack, connection_id: i64) -> Vec<subscriptions::Subscription> {
    let mut conn = s.p.pool.get().await.expect("conn");
    subscriptions::live(&mut conn, connection_id)
        .await
        .expect("live")
}

/// A connection's sweep requests: (model, reason).
pub async fn sweep_requests(s: &Stack, connection_id: i64) -> Vec<(String, String)> {
    let mut conn = s.p.pool.get().await.expect("conn");
    matterhook_store::sweeps::pending(&mut conn, connection_id)
        .await
        .expect("sweeps")
        .into_iter()
        .map(|r| (r.model.to_string(), r.reason))
        .collect()
}

/// Changes a contact in Clio and waits until the receiver accepted the delivery (200).
pub async fn a_change_reaches_the_receiver(s: &Stack, url_prefix: &str) {
    let contact = s.p.world.firm.contact_ids[0];
    let before = s.p.world.sim.deliveries().len();
    let hooks: Vec<i64> = hooks_at(s, url_prefix).iter().map(|h| h.id).collect();
    s.p.world
        .sim
        .update(
            Kind::Contact,
            contact,
            serde_json::json!({"name": format!("Renamed {}", uuid::Uuid::new_v4())}),
        )
        .expect("update");
    let accepted =
        s.p.world
            .sim
            .wait_until(PATIENCE, |sim| {
                sim.deliveries().into_iter().skip(before).find(|d| {
                    hooks.contains(&d.webhook_id)
                        && d.event != "handshake"
                        && d.attempts.iter().any(|a| a.status == Some(200))
                })
            })
            .await;
    assert!(
        accepted.is_some(),
        "a delivery reached the receiver and got 200: {:?}",
        s.p.world
            .sim
            .deliveries()
            .into_iter()
            .skip(before)
            .collect::<Vec<_>>()
    );
}
