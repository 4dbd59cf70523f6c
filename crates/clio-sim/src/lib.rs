//! A Clio Manage simulator: a real HTTP server, all in memory, that behaves like Clio as
//! `../shared/clio-api.md` describes it (see `docs/clio-simulator.md` for what it covers and where it
//! knowingly differs).
//!
//! Tests start one in-process on port 0 with [`SimServer::start`] and drive it through [`Sim`]:
//! seed a firm, change records (which sends signed webhook deliveries), inject faults, advance the
//! clock, and read the delivery log and per-token call counts. The same operations are served over
//! HTTP under `/_sim/` for the demo and benchmarks.

mod config;
mod delivery;
mod derive;
mod events;
mod faults;
mod http;
mod records;
mod render;
mod schema;
mod schema_table;
pub mod seed;
mod state;

use std::{collections::HashMap, io, net::SocketAddr, sync::Arc, time::Duration};

use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

pub use config::SimConfig;
pub use delivery::{sign, Attempt, DeliveryLog};
pub use faults::{ApiFault, ApiFaultKind, ApiOutage, DeliveryFault, DeliveryFaultKind};
pub use records::WriteError;
pub use state::{CallStats, CustomAction, Hook, Kind};

use delivery::Job;
use records::Change;
use state::State;

/// A handle on a running simulator's state. Cheap to clone.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Shared>,
}

pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub config: RwLock<SimConfig>,
    jobs: mpsc::UnboundedSender<Job>,
    pub http: reqwest::Client,
    /// Woken whenever a delivery, handshake or webhook status changes, for [`Sim::wait_until`].
    pub changed: tokio::sync::Notify,
}

/// A record written through the control API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    /// Its Clio id.
    pub id: i64,
    /// Its new etag.
    pub etag: String,
}

impl Sim {
    /// A simulator with no data. Must be called inside a tokio runtime: it spawns the task that
    /// sends webhook deliveries.
    pub fn new(config: SimConfig) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        let http = reqwest::Client::builder()
            // Deliveries treat 3xx as success, as Clio does: never follow them.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a default reqwest client always builds");
        let inner = Arc::new(Shared {
            state: Mutex::new(State::default()),
            config: RwLock::new(config),
            jobs,
            http,
            changed: tokio::sync::Notify::new(),
        });
        tokio::spawn(delivery::dispatch(Arc::downgrade(&inner), rx));
        Self { inner }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner
    }

    /// The demo firm, once seeded.
    pub fn demo(&self) -> Option<seed::DemoFirm> {
        self.inner.state.lock().demo.clone()
    }

    /// The current configuration.
    pub fn config(&self) -> SimConfig {
        self.inner.config.read().clone()
    }

    /// Changes the configuration (rate limit, token lifetime, retry scale, ...).
    pub fn configure(&self, change: impl FnOnce(&mut SimConfig)) {
        change(&mut self.inner.config.write());
    }

    /// Creates a firm's account.
    pub fn create_account(&self, name: &str) -> i64 {
        let mut state = self.inner.state.lock();
        let id = state.next_id();
        state.accounts.insert(id, name.to_owned());
        id
    }

    /// Creates a record from Clio-shaped JSON (see `docs/clio-simulator.md` for each kind's input).
    pub fn create(&self, kind: Kind, account_id: i64, input: Value) -> Result<Written, WriteError> {
        let input = object(input)?;
        self.write(|s| s.create(kind, account_id, input))
    }

    /// Changes fields of a record; webhooks see `updated` (and a matter status event).
    pub fn update(&self, kind: Kind, id: i64, patch: Value) -> Result<Written, WriteError> {
        let patch = object(patch)?;
        self.write(|s| s.update(kind, id, patch))
    }

    /// Deletes a record; webhooks see `deleted`.
    pub fn delete(&self, kind: Kind, id: i64) -> Result<(), WriteError> {
        self.write(|s| s.delete(kind, id)).map(drop)
    }

    /// Opens, pends or closes a matter (`open`, `pending`, `closed`).
    pub fn set_matter_status(&self, matter_id: i64, status: &str) -> Result<Written, WriteError> {
        self.update(
            Kind::Matter,
            matter_id,
            serde_json::json!({ "status": status }),
        )
    }

    /// Marks a bill paid in full.
    pub fn pay_bill(&self, bill_id: i64) -> Result<Written, WriteError> {
        self.update(Kind::Bill, bill_id, serde_json::json!({ "state": "paid" }))
    }

    fn write(
        &self,
        op: impl FnOnce(&mut State) -> Result<Change, WriteError>,
    ) -> Result<Written, WriteError> {
        let mut state = self.inner.state.lock();
        let change = op(&mut state)?;
        let outgoing = events::deliveries_for(&mut state, &change);
        let etag = state
            .table(change.kind)
            .and_then(|t| t.get(&change.id))
            .and_then(|r| r.data.get("etag"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        drop(state);
        for o in outgoing {
            // The dispatcher lives as long as the simulator, so this cannot fail while we exist.
            let _ = self.inner.jobs.send(Job::Deliver(o));
        }
        Ok(Written {
            id: change.id,
            etag,
        })
    }

    pub(crate) fn enqueue(&self, job: Job) {
        let _ = self.inner.jobs.send(job);
    }

    /// Makes a user's Clio role forbid these resources (`custom_fields`, `contacts`, ...): calls
    /// answer 403, and associations of those kinds come back `{"redacted": true}`.
    pub fn deny(&self, user_id: i64, resources: &[&str]) {
        let mut state = self.inner.state.lock();
        state
            .denied
            .entry(user_id)
            .or_default()
            .extend(resources.iter().map(|r| (*r).to_owned()));
    }

    /// Queues an API fault.
    pub fn inject_fault(&self, fault: ApiFault) {
        self.inner.state.lock().faults.push_api(fault);
    }

    /// Starts an outage: every call fails for its duration.
    pub fn inject_outage(&self, outage: ApiOutage) {
        self.inner.state.lock().faults.push_outage(outage);
    }

    /// Queues a delivery fault.
    pub fn inject_delivery_fault(&self, fault: DeliveryFault) {
        self.inner.state.lock().faults.push_delivery(&fault);
    }

    /// Moves the simulated clock forward (token and webhook expiry, rate windows).
    pub fn advance_clock(&self, by: Duration) {
        // Capped at a century, so simulated times stay far inside chrono's range.
        let cap = chrono::Duration::days(36_500);
        let by = chrono::Duration::from_std(by).unwrap_or(cap).min(cap);
        let mut state = self.inner.state.lock();
        state.clock_offset = (state.clock_offset + by).min(cap);
    }

    /// The simulated time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.state.lock().now()
    }

    /// Every delivery and handshake so far.
    pub fn deliveries(&self) -> Vec<DeliveryLog> {
        self.inner.state.lock().deliveries.clone()
    }

    /// Waits until `check` returns `Some`, re-checking whenever a delivery, handshake or webhook
    /// changes, for at most `timeout`; then returns the last answer of `check`.
    pub async fn wait_until<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&Sim) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            // Registered before checking, so a change between the check and the wait is not missed.
            notified.as_mut().enable();
            if let Some(found) = check(self) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return check(self);
            }
        }
    }

    /// Access tokens issued so far (code exchanges and refreshes): what a test counts refreshes by.
    pub fn access_tokens_issued(&self) -> usize {
        self.inner.state.lock().access_tokens.len()
    }

    /// Every access and refresh token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        let state = self.inner.state.lock();
        state
            .access_tokens
            .keys()
            .chain(state.refresh_tokens.keys())
            .cloned()
            .collect()
    }

    /// The user removes our app in Clio: every grant of theirs is revoked, so their access tokens
    /// answer 401 and their refresh tokens `invalid_grant`.
    pub fn revoke_grants_of(&self, user_id: i64) {
        let mut state = self.inner.state.lock();
        for grant in state.grants.values_mut().filter(|g| g.user_id == user_id) {
            grant.revoked = true;
        }
    }

    /// A user clicks custom action `action_id` on record `subject_id` (a matter for a
    /// `matters/show` action): the URL Clio sends their browser to, with a single-use nonce that
    /// expires after a minute.
    pub fn click_custom_action(
        &self,
        action_id: i64,
        user_id: i64,
        subject_id: i64,
    ) -> Result<String, WriteError> {
        let mut state = self.inner.state.lock();
        http::click_custom_action(&mut state, action_id, user_id, subject_id)
    }

    /// Someone removes a custom action inside Clio. Returns whether it existed.
    pub fn remove_custom_action(&self, id: i64) -> bool {
        self.inner.state.lock().custom_actions.remove(&id).is_some()
    }

    /// Every custom action of every account.
    pub fn custom_actions(&self) -> Vec<CustomAction> {
        self.inner
            .state
            .lock()
            .custom_actions
            .values()
            .cloned()
            .collect()
    }

    /// Clio suspends a webhook (as it does after repeated failed deliveries). Returns whether it
    /// existed.
    pub fn suspend_webhook(&self, id: i64) -> bool {
        let found = {
            let mut state = self.inner.state.lock();
            let now = state.now();
            state.hooks.get_mut(&id).map(|hook| {
                hook.status = "suspended".into();
                hook.updated_at = now;
            })
        };
        self.inner.changed.notify_waiters();
        found.is_some()
    }

    /// Every webhook, secrets included.
    pub fn webhooks(&self) -> Vec<Hook> {
        self.inner.state.lock().hooks.values().cloned().collect()
    }

    /// API calls per access token.
    pub fn calls(&self) -> HashMap<String, CallStats> {
        self.inner.state.lock().calls.clone()
    }

    /// API calls made with one access token.
    pub fn calls_for(&self, access_token: &str) -> CallStats {
        self.inner
            .state
            .lock()
            .calls
            .get(access_token)
            .cloned()
            .unwrap_or_default()
    }

    /// A live record as stored (scalars; associations as `{"id": n}`), for tests to compare with.
    pub fn get(&self, kind: Kind, id: i64) -> Option<Value> {
        let state = self.inner.state.lock();
        state
            .table(kind)?
            .get(&id)
            .filter(|r| !r.deleted)
            .map(|r| Value::Object(r.data.clone()))
    }

    /// Every live record of a kind an account has, by id, as stored.
    pub fn records(&self, kind: Kind, account_id: i64) -> Vec<(i64, Value)> {
        let state = self.inner.state.lock();
        let mut all: Vec<(i64, Value)> = state.table(kind).map_or_else(Vec::new, |t| {
            t.iter()
                .filter(|(_, r)| r.account_id == account_id && !r.deleted)
                .map(|(id, r)| (*id, Value::Object(r.data.clone())))
                .collect()
        });
        all.sort_by_key(|(id, _)| *id);
        all
    }

    /// How many live records of a kind an account has.
    pub fn count(&self, kind: Kind, account_id: i64) -> usize {
        let state = self.inner.state.lock();
        state.table(kind).map_or(0, |t| {
            t.values()
                .filter(|r| r.account_id == account_id && !r.deleted)
                .count()
        })
    }
}

fn object(v: Value) -> Result<Map<String, Value>, WriteError> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(WriteError::Invalid("expected a JSON object".into())),
    }
}

/// A simulator served over HTTP.
pub struct SimServer {
    /// Its state.
    pub sim: Sim,
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

impl SimServer {
    /// Starts serving on `addr` (port 0 picks a free port) on the current tokio runtime.
    pub async fn start(config: SimConfig, addr: SocketAddr) -> io::Result<Self> {
        Self::serve(Sim::new(config), addr).await
    }

    /// Serves an existing simulator.
    pub async fn serve(sim: Sim, addr: SocketAddr) -> io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let data = actix_web::web::Data::new(sim.clone());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .configure(http::configure)
        })
        .workers(2)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self { sim, addr, handle })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`: the value for `CLIO_BASE_URL`.
    pub fn base_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.addr))
            .expect("a socket address makes a valid URL")
    }

    /// Stops serving, finishing requests in flight.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}
