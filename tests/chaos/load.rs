//! Steady load: each firm's clients go through a case's life, one step at a time, spread over the
//! run. Changes in Clio (the simulator) reach us as webhooks; the API calls are what the products'
//! users do. A step whose API call fails (the API is being killed) is tried again on a later tick,
//! with the same Idempotency-Key where the API takes one.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use clio_sim::{Kind, Sim};
use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::firms::Firm;

/// A case's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// A new contact in Clio.
    Contact,
    /// A referral for that client, through our API.
    Referral,
    /// A matter opened for the client in Clio (the referral links itself).
    Matter,
    /// The contact's phone changes in Clio.
    ContactChange,
    /// A call logged through our API, written back to Clio.
    Activity,
    /// The matter goes pending.
    Pending,
    /// The matter imported as a watch, through our API.
    Watch,
    /// The matter's description changes in Clio (the watch follows).
    Describe,
    /// A bill for the matter.
    Bill,
    /// The matter closes (a review request; the referral is won).
    Close,
    /// The bill is paid (a thank-you draft).
    Pay,
    /// Nothing left.
    Done,
}

impl Step {
    fn next(self) -> Self {
        use Step::*;
        match self {
            Contact => Referral,
            Referral => Matter,
            Matter => ContactChange,
            ContactChange => Activity,
            Activity => Pending,
            Pending => Watch,
            Watch => Describe,
            Describe => Bill,
            Bill => Close,
            Close => Pay,
            Pay | Done => Done,
        }
    }
}

/// One client's case, and what the run did for it.
#[derive(Debug, Clone)]
pub struct Case {
    /// Firm number.
    pub firm: usize,
    /// Case number within the firm.
    pub number: usize,
    /// The next step.
    pub step: Step,
    /// When the next step may run.
    next_at: Instant,
    /// The Clio contact.
    pub contact_id: Option<i64>,
    /// Our referral.
    pub referral_id: Option<i64>,
    /// The Clio matter.
    pub matter_id: Option<i64>,
    /// Our activity.
    pub activity_id: Option<i64>,
    /// Whether the matter was imported as a watch.
    pub watched: bool,
    /// The Clio bill.
    pub bill_id: Option<i64>,
    /// API calls that failed and were tried again.
    pub retries: u32,
}

impl Case {
    /// The words that make this case's records unique.
    pub fn tag(&self) -> String {
        format!("F{}C{}", self.firm, self.number)
    }

    /// The subject of its activity (Clio's note reads `Call: <subject>`).
    pub fn activity_subject(&self) -> String {
        format!("Intake call {}", self.tag())
    }

    /// The client's email.
    pub fn email(&self) -> String {
        format!("client.{}@chaos.example", self.tag().to_lowercase())
    }
}

/// What the load did, shared with the run.
#[derive(Default)]
pub struct Record {
    /// Every case of every firm.
    pub cases: Mutex<Vec<Case>>,
    /// Changes made in Clio.
    pub clio_changes: std::sync::atomic::AtomicU64,
    /// API calls answered 2xx.
    pub api_calls: std::sync::atomic::AtomicU64,
    /// API calls that failed (tried again later).
    pub api_failures: std::sync::atomic::AtomicU64,
}

/// How far apart one case's steps are: long enough for its last change to be seen.
const STEP_GAP: Duration = Duration::from_millis(1500);

/// Runs `firm`'s load at `per_second` steps until `until`.
pub async fn run(
    sim: Sim,
    firm: Arc<Firm>,
    api_url: String,
    per_second: f64,
    until: Instant,
    record: Arc<Record>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let ctx = Ctx {
        sim,
        firm,
        api_url,
        http,
        record,
    };
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cases: Vec<Case> = Vec::new();
    while Instant::now() < until {
        tick.tick().await;
        let now = Instant::now();
        let ready = cases
            .iter()
            .position(|c| c.step != Step::Done && c.next_at <= now);
        let i = match ready {
            Some(i) => i,
            None => {
                cases.push(Case {
                    firm: ctx.firm.index,
                    number: cases.len(),
                    step: Step::Contact,
                    next_at: now,
                    contact_id: None,
                    referral_id: None,
                    matter_id: None,
                    activity_id: None,
                    watched: false,
                    bill_id: None,
                    retries: 0,
                });
                cases.len() - 1
            }
        };
        let case = &mut cases[i];
        match ctx.advance(case).await {
            Ok(()) => case.step = case.step.next(),
            Err(e) => {
                tracing::debug!(case = %case.tag(), step = ?case.step, error = %e, "tried again later");
                case.retries += 1;
                ctx.record
                    .api_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        case.next_at = Instant::now() + STEP_GAP;
    }
    ctx.record.cases.lock().extend(cases);
}

struct Ctx {
    sim: Sim,
    firm: Arc<Firm>,
    api_url: String,
    http: reqwest::Client,
    record: Arc<Record>,
}

impl Ctx {
    fn changed(&self) {
        self.record
            .clio_changes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Value) -> anyhow::Result<Value> {
        self.api_with(method, path, body, None).await
    }

    async fn api_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api_url))
            .bearer_auth(&self.firm.token);
        if !body.is_null() {
            request = request.json(&body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let answer = request.send().await?;
        let status = answer.status();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!("{path} answered {status}: {body}");
        }
        self.record
            .api_calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(body)
    }

    async fn advance(&self, case: &mut Case) -> anyhow::Result<()> {
        let account = self.firm.seeded.account_id;
        let attorney = self.firm.seeded.attorney_id;
        match case.step {
            Step::Contact => {
                let written = self.sim.create(
                    Kind::Contact,
                    account,
                    json!({"type": "Person", "first_name": "Client", "last_name": case.tag(),
                        "email_addresses": [{"address": case.email(), "primary": true, "name": "Work"}],
                        "phone_numbers": [{"number": format!("+1 617 555 {:04}", case.number % 10_000), "primary": true, "name": "Mobile"}]}),
                )?;
                case.contact_id = Some(written.id);
                self.changed();
            }
            Step::Referral => {
                // The API may have created it before its answer was lost: look first.
                let existing = self
                    .api(reqwest::Method::GET, "/api/referrals?limit=20", Value::Null)
                    .await?;
                let needle = format!("\"{}\"", case.tag());
                let found = existing
                    .as_array()
                    .and_then(|items| items.iter().find(|r| r.to_string().contains(&needle)))
                    .and_then(|r| r["id"].as_i64());
                let id = match found {
                    Some(id) => id,
                    None => self
                        .api(
                            reqwest::Method::POST,
                            "/api/referrals",
                            json!({"direction": "received", "partner_name": format!("Partner {}", self.firm.index),
                                "partner_email": format!("partner{}@partners.example", self.firm.index),
                                "client_first_name": "Client", "client_last_name": case.tag(),
                                "client_email": case.email(),
                                "commission": {"kind": "percentage", "value": "10"}}),
                        )
                        .await?["id"]
                        .as_i64()
                        .ok_or_else(|| anyhow::anyhow!("a referral without an id"))?,
                };
                case.referral_id = Some(id);
            }
            Step::Matter => {
                let contact = case.contact_id.expect("contact first");
                let written = self.sim.create(
                    Kind::Matter,
                    account,
                    json!({"client": {"id": contact}, "status": "Open",
                        "description": format!("Case {}", case.tag()),
                        "responsible_attorney": {"id": attorney},
                        "practice_area": {"id": 501, "name": "Litigation"}}),
                )?;
                case.matter_id = Some(written.id);
                self.changed();
            }
            Step::ContactChange => {
                self.sim.update(
                    Kind::Contact,
                    case.contact_id.expect("contact"),
                    json!({"phone_numbers": [{"number": format!("+1 415 555 {:04}", case.number % 10_000), "primary": true, "name": "Mobile"}]}),
                )?;
                self.changed();
            }
            Step::Activity => {
                let answer = self
                    .api_with(
                        reqwest::Method::POST,
                        "/api/activities",
                        json!({"connection_id": self.firm.connection_id,
                            "contact_id": case.contact_id.expect("contact"),
                            "matter_id": case.matter_id,
                            "type": "call", "direction": "outbound",
                            "subject": case.activity_subject(),
                            "body": "Discussed the case.",
                            "occurred_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
                        Some(&format!("chaos-{}", case.tag())),
                    )
                    .await?;
                case.activity_id = answer["id"].as_i64();
            }
            Step::Pending => {
                self.sim
                    .set_matter_status(case.matter_id.expect("matter"), "Pending")?;
                self.changed();
            }
            Step::Watch => {
                let matter = case.matter_id.expect("matter");
                let answer = self
                    .api(
                        reqwest::Method::POST,
                        "/api/watches/import",
                        json!({"connection_id": self.firm.connection_id, "matter_ids": [matter]}),
                    )
                    .await?;
                // Not yet in the mirror (the sync stage is behind a fault): try again later.
                if answer["unknown"].as_array().is_some_and(|u| !u.is_empty()) {
                    anyhow::bail!("matter {matter} not in the mirror yet");
                }
                case.watched = true;
            }
            Step::Describe => {
                self.sim.update(
                    Kind::Matter,
                    case.matter_id.expect("matter"),
                    json!({"description": format!("Case {} (amended)", case.tag())}),
                )?;
                self.changed();
            }
            Step::Bill => {
                let written = self.sim.create(
                    Kind::Bill,
                    account,
                    json!({"client": {"id": case.contact_id.expect("contact")},
                        "matters": [{"id": case.matter_id.expect("matter")}],
                        "total": 1000.0 + case.number as f64, "state": "awaiting_payment"}),
                )?;
                case.bill_id = Some(written.id);
                self.changed();
            }
            Step::Close => {
                self.sim
                    .set_matter_status(case.matter_id.expect("matter"), "Closed")?;
                self.changed();
            }
            Step::Pay => {
                self.sim.pay_bill(case.bill_id.expect("bill"))?;
                self.changed();
            }
            Step::Done => {}
        }
        Ok(())
    }
}
