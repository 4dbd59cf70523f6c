//! Shared helpers for the end-to-end tests: a simulator on port 0, the real client pointed at
//! it, OAuth through the simulator's consent form, and a real webhook receiver that records what
//! arrives.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use actix_web::{web, HttpRequest, HttpResponse};
use clio_sim::{seed::DemoFirm, Sim, SimConfig, SimServer};
use matterhook_clio::{
    oauth::{OAuthApp, TokenSet},
    Api, ClientConfig, ClioClient, Region,
};
use parking_lot::Mutex;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;

#[path = "ingest_support.rs"]
pub mod ingest;

#[path = "connections_support.rs"]
pub mod stack;

#[path = "sync_support.rs"]
pub mod sync;

#[path = "referrals_support.rs"]
pub mod referrals;

#[path = "binaries_support.rs"]
pub mod binaries;

#[path = "browser_support.rs"]
pub mod browser;

/// How long a test waits for something asynchronous before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The callback our app registers with Clio in tests (never called: we read the redirect).
pub const REDIRECT_URI: &str = "http://127.0.0.1:1/oauth/clio/callback";

/// A simulator with the demo firm, and a client pointed at it.
pub struct World {
    /// The running simulator.
    pub server: SimServer,
    /// Its state.
    pub sim: Sim,
    /// The seeded firm.
    pub firm: DemoFirm,
    /// Our client.
    pub client: ClioClient,
}

impl World {
    /// Starts a simulator configured by `config`, seeded with the demo firm.
    pub async fn start(config: SimConfig) -> Self {
        Self::start_with(config, |c| c).await
    }

    /// Same, with a say in the client's configuration.
    pub async fn start_with(
        config: SimConfig,
        client: impl FnOnce(ClientConfig) -> ClientConfig,
    ) -> Self {
        let server = SimServer::start(config, "127.0.0.1:0".parse().expect("address"))
            .await
            .expect("simulator starts");
        let sim = server.sim.clone();
        let firm = clio_sim::seed::demo_firm(&sim).expect("demo firm seeds");
        let client =
            ClioClient::new(client(ClientConfig::new(server.base_url()))).expect("client builds");
        Self {
            server,
            sim,
            firm,
            client,
        }
    }

    /// Our OAuth app as registered with the simulator.
    pub fn oauth(&self) -> OAuthApp {
        let config = self.sim.config();
        OAuthApp::new(
            config.client_id,
            SecretString::from(config.client_secret),
            url::Url::parse(REDIRECT_URI).expect("url"),
            self.client.endpoints().clone(),
            self.client.http().clone(),
        )
    }

    /// Connects `user_id` through the consent form and the code exchange, as a browser would.
    pub async fn connect(&self, user_id: i64) -> TokenSet {
        let oauth = self.oauth();
        let authorize = oauth.authorize_url(Region::Us, "state-123");
        let location = approve(&authorize, user_id, "allow").await;
        let code = query_value(&location, "code").expect("a code comes back");
        assert_eq!(
            query_value(&location, "state").as_deref(),
            Some("state-123")
        );
        oauth
            .exchange_code(Region::Us, &code)
            .await
            .expect("code exchanges")
    }

    /// The API as `user_id` sees it, with a fresh token.
    pub async fn api_for(&self, user_id: i64) -> (Api, SecretString) {
        let tokens = self.connect(user_id).await;
        (
            self.client.api(Region::Us, tokens.access_token.clone()),
            tokens.access_token,
        )
    }
}

/// Submits the consent form for `authorize` (what the page's buttons do) and returns the
/// `Location` Clio redirects to.
pub async fn approve(authorize: &url::Url, user_id: i64, decision: &str) -> url::Url {
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("user_id".into(), user_id.to_string()));
    form.push(("decision".into(), decision.into()));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = http
        .post(authorize.as_str())
        .form(&form)
        .send()
        .await
        .expect("consent form posts");
    assert_eq!(response.status(), 302, "the consent form redirects back");
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    url::Url::parse(&location).expect("absolute redirect")
}

/// One query parameter of a URL.
pub fn query_value(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The access token as a plain string (for the simulator's per-token counters).
pub fn plain(token: &SecretString) -> String {
    token.expose_secret().to_owned()
}

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// `X-Hook-Secret`, on a handshake.
    pub hook_secret: Option<String>,
    /// `X-Hook-Signature`, on a delivery.
    pub signature: Option<String>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

#[derive(Clone)]
struct ReceiverState {
    tx: mpsc::UnboundedSender<Received>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
    echo: Arc<AtomicBool>,
}

/// A real HTTP server standing in for our webhook receiver. It echoes handshakes (unless told
/// not to), answers deliveries with queued statuses (then 200), and hands every request to the test.
pub struct Receiver {
    /// Its URL.
    pub url: String,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Received>>,
    state: ReceiverState,
    handle: actix_web::dev::ServerHandle,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let received = Received {
        hook_secret: header("X-Hook-Secret"),
        signature: header("X-Hook-Signature"),
        body: body.to_vec(),
    };
    let _ = state.tx.send(received.clone());
    if let Some(secret) = received.hook_secret {
        if state.echo.load(Ordering::SeqCst) {
            return HttpResponse::Ok()
                .insert_header(("X-Hook-Secret", secret))
                .finish();
        }
        return HttpResponse::Ok().finish();
    }
    let status = state.statuses.lock().pop_front().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("valid status"))
        .finish()
}

impl Receiver {
    /// Starts on a free port.
    pub async fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = ReceiverState {
            tx,
            statuses: Arc::default(),
            echo: Arc::new(AtomicBool::new(true)),
        };
        let data = web::Data::new(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let addr: SocketAddr = listener.local_addr().expect("address");
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listens")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://{addr}/webhooks/clio/test"),
            rx: tokio::sync::Mutex::new(rx),
            state,
            handle,
        }
    }

    /// The next deliveries get these statuses, in order.
    pub fn respond_with(&self, statuses: &[u16]) {
        self.state.statuses.lock().extend(statuses);
    }

    /// Whether handshakes are echoed.
    pub fn echo_handshakes(&self, echo: bool) {
        self.state.echo.store(echo, Ordering::SeqCst);
    }

    /// The next request, or a test failure after [`PATIENCE`].
    pub async fn next(&self) -> Received {
        tokio::time::timeout(PATIENCE, self.rx.lock().await.recv())
            .await
            .expect("a request reaches the receiver in time")
            .expect("receiver is running")
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// A simulator configuration whose webhook retries take milliseconds instead of an hour.
pub fn fast_retries() -> SimConfig {
    SimConfig {
        retry_scale: 0.0005,
        delivery_timeout: Duration::from_secs(2),
        ..SimConfig::default()
    }
}
