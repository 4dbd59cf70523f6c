//! The run's firms: each seeded in the simulator as the demo firm is, with a matterhook user who
//! connects it through the real OAuth flow (our API, Clio's consent page, our callback) and turns
//! every product on.

use anyhow::{bail, Context};
use clio_sim::{seed::DemoFirm, Sim};
use diesel::ExpressionMethods;
use diesel_async::RunQueryDsl;
use matterhook_store::{schema, PgPool};
use serde_json::{json, Value};

/// One firm, connected.
#[derive(Clone)]
pub struct Firm {
    /// Its number in the run (0-based).
    pub index: usize,
    /// What the simulator seeded.
    pub seeded: DemoFirm,
    /// Our user's bearer token.
    pub token: String,
    /// Our connection to it.
    pub connection_id: i64,
}

/// Seeds and connects firm `index`, with every product on.
pub async fn connect(
    sim: &Sim,
    pool: &PgPool,
    api_url: &str,
    index: usize,
) -> anyhow::Result<Firm> {
    let seeded = clio_sim::seed::demo_firm(sim).context("seeding")?;
    let (token, hash) = matterhook_crypto::issue_api_token();
    let mut conn = pool.get().await?;
    diesel::insert_into(schema::users::table)
        .values((
            schema::users::email.eq(format!("owner{index}@firm{index}.example")),
            schema::users::token_hash.eq(hash),
        ))
        .execute(&mut conn)
        .await?;
    drop(conn);
    // A browser: the connect's state is bound to its cookie.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()?;
    let answer = http
        .get(format!("{api_url}/connect/clio?region=us"))
        .bearer_auth(&token)
        .send()
        .await?;
    let authorize = location(&answer, "connect")?;
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("user_id".into(), seeded.attorney_id.to_string()));
    form.push(("decision".into(), "allow".into()));
    let consent = http.post(authorize.as_str()).form(&form).send().await?;
    let callback = location(&consent, "consent")?;
    let answer = http.get(callback.as_str()).send().await?;
    if !answer.status().is_success() {
        bail!("the callback answered {}", answer.status());
    }
    let body: Value = answer.json().await?;
    let connection_id = body["connection_id"]
        .as_i64()
        .context("the callback names the connection")?;
    let firm = Firm {
        index,
        seeded,
        token,
        connection_id,
    };
    firm.turn_everything_on(api_url).await?;
    Ok(firm)
}

fn location(answer: &reqwest::Response, step: &str) -> anyhow::Result<url::Url> {
    let to = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .with_context(|| format!("{step}: {} without a Location", answer.status()))?;
    Ok(url::Url::parse(to)?)
}

impl Firm {
    /// Referrals, review requests on close, activity writeback, the CRM feed and watches.
    async fn turn_everything_on(&self, api_url: &str) -> anyhow::Result<()> {
        let settings = json!({
            "review_requests": {"enabled": true, "triggers": ["closed"],
                                "dont_send_field": "Skip review request", "delay_days": 0},
            "writeback": {"enabled": true},
            "crm": {"enabled": true, "scope": "all"},
            "watches": {"mapping": {"Litigation": "Civil Litigation"}}
        });
        let answer = reqwest::Client::new()
            .patch(format!(
                "{api_url}/api/connections/{}/settings",
                self.connection_id
            ))
            .bearer_auth(&self.token)
            .json(&settings)
            .send()
            .await?;
        if !answer.status().is_success() {
            bail!(
                "settings answered {}: {}",
                answer.status(),
                answer.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }
}
