//! `/healthz`, `/readyz` and `/metrics`: on a service's own listener, or a small one of their own.
//!
//! - `/healthz`: the process answers (liveness; never touches a dependency, so a database outage
//!   does not get every pod restarted).
//! - `/readyz`: each dependency the binary needs, by name (`database`: reachable, with the newest
//!   migration applied; `broker`: connected). 200 when all are, else 503, with the same body.
//! - `/metrics`: the process's [`Metrics`] in the OpenMetrics text format.

use std::{future::Future, net::TcpListener, pin::Pin, sync::Arc};

use actix_web::{web, App, HttpResponse, HttpServer};
use matterhook_store::PgPool;

use crate::Metrics;

type Probe = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// What a binary must reach to do its work, checked on each `/readyz`.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Probe)>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.checks.iter().map(|(n, _)| *n).collect();
        f.debug_struct("Readiness").field("checks", &names).finish()
    }
}

impl Readiness {
    /// No checks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a named check.
    pub fn check<F, Fut>(mut self, name: &'static str, probe: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.checks
            .push((name, Arc::new(move || Box::pin(probe()) as Pin<Box<_>>)));
        self
    }

    /// `database`: a pooled connection answers and the newest migration is applied.
    pub fn database(self, pool: PgPool) -> Self {
        self.check("database", move || {
            let pool = pool.clone();
            async move {
                match pool.get().await {
                    Ok(mut conn) => matterhook_store::migrations::is_current(&mut conn)
                        .await
                        .unwrap_or(false),
                    Err(_) => false,
                }
            }
        })
    }

    /// `broker`: whatever `connected` says of the binary's broker connection.
    pub fn broker(self, connected: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        let connected = Arc::new(connected);
        self.check("broker", move || {
            let up = connected();
            async move { up }
        })
    }

    /// Runs every check at once; the body names each.
    pub async fn report(&self) -> (bool, serde_json::Value) {
        let results = futures::future::join_all(self.checks.iter().map(|(_, probe)| probe())).await;
        let mut body = serde_json::Map::new();
        for ((name, _), ok) in self.checks.iter().zip(&results) {
            body.insert((*name).to_owned(), serde_json::Value::Bool(*ok));
        }
        (
            results.iter().all(|ok| *ok),
            serde_json::Value::Object(body),
        )
    }
}

/// A binary's telemetry: its metrics and what it must reach.
#[derive(Clone, Debug, Default)]
pub struct Telemetry {
    /// The process's metrics.
    pub metrics: Metrics,
    /// Its dependencies.
    pub readiness: Readiness,
}

impl Telemetry {
    /// Telemetry over `metrics` with these checks.
    pub fn new(metrics: Metrics, readiness: Readiness) -> Self {
        Self { metrics, readiness }
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn readyz(telemetry: web::Data<Telemetry>) -> HttpResponse {
    let (ready, body) = telemetry.readiness.report().await;
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(telemetry: web::Data<Telemetry>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(telemetry.metrics.render())
}

/// Mounts the three routes on an app: `App::new().configure(health::routes(telemetry))`.
pub fn routes(telemetry: Telemetry) -> impl FnOnce(&mut web::ServiceConfig) + Clone {
    let data = web::Data::new(telemetry);
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(data)
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics));
    }
}

/// A health listener running in the background.
#[derive(Debug)]
pub struct Listening {
    /// Where it listens (the port chosen, when asked for port 0).
    pub addr: std::net::SocketAddr,
    /// Stops it.
    pub handle: actix_web::dev::ServerHandle,
}

/// Binds `addr` and serves the three routes there in the background (workers and the
/// scheduler), until the returned handle stops it.
pub fn spawn(addr: std::net::SocketAddr, telemetry: Telemetry) -> std::io::Result<Listening> {
    let listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    let server = serve(listener, telemetry)?;
    let handle = server.handle();
    tokio::spawn(server);
    Ok(Listening { addr, handle })
}

/// Serves the three routes alone on `listener` (workers and the scheduler): one thread, no
/// signal handling of its own (the binary's shutdown stops it through the returned handle).
pub fn serve(
    listener: TcpListener,
    telemetry: Telemetry,
) -> std::io::Result<actix_web::dev::Server> {
    let routes = routes(telemetry);
    Ok(
        HttpServer::new(move || App::new().configure(routes.clone()))
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)?
            .run(),
    )
}
