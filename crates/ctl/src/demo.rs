//! `matterhook demo connect`: connects the simulator's demo firm through the real OAuth flow, as a
//! lawyer would: our API's `/connect/clio`, the simulator's consent page (approved here, as the
//! firm's attorney), Clio's redirect to our callback. Simulator only.

use anyhow::{bail, Context};
use clap::Args;
use matterhook_config::{ClioArgs, DatabaseArgs};
use reqwest::{header::LOCATION, redirect::Policy, StatusCode};
use secrecy::ExposeSecret;
use url::Url;

/// `matterhook demo connect`
#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    clio: ClioArgs,
    /// Our API's base URL.
    #[arg(
        long,
        env = "MATTERHOOK_API_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    api_url: Url,
    /// Our user who connects (created if missing; given a new API token, printed).
    #[arg(long, default_value = "alice@hartleyfinch.example")]
    email: String,
}

#[derive(serde::Deserialize)]
struct DemoFirm {
    attorney_id: i64,
}

fn location(answer: &reqwest::Response, step: &str) -> anyhow::Result<Url> {
    if answer.status() != StatusCode::FOUND && answer.status() != StatusCode::SEE_OTHER {
        bail!("{step}: expected a redirect, got {}", answer.status());
    }
    let to = answer
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .with_context(|| format!("{step}: a redirect without a Location"))?;
    Url::parse(to).with_context(|| format!("{step}: Location {to:?}"))
}

/// Connects the demo firm's attorney for `--email`, through the API.
pub async fn connect(args: DemoArgs) -> anyhow::Result<()> {
    let base = args.clio.clio_base_url.clone();
    if base.host_str().is_some_and(|h| h.ends_with("clio.com")) {
        bail!(
            "`demo connect` approves the consent page itself: it only runs against the simulator"
        );
    }
    let pool = matterhook_store::connect_pool(args.db.database_url.expose_secret(), 1)?;
    let (email, token, _) = crate::users::issue(&pool, &args.email, true).await?;
    // Keeps the cookie that binds the connect to this "browser", as a person's browser would.
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()?;

    let start = http
        .get(args.api_url.join("/connect/clio?region=us")?)
        .bearer_auth(&token)
        .send()
        .await
        .context("calling the API's /connect/clio (is matterhook-api running?)")?;
    let authorize = location(&start, "/connect/clio")?;

    let firm: DemoFirm = http
        .get(base.join("/_sim/demo")?)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
        .context("the simulator's demo firm")?;
    let mut consent: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    consent.push(("user_id".into(), firm.attorney_id.to_string()));
    consent.push(("decision".into(), "allow".into()));
    let approved = http.post(authorize.as_str()).form(&consent).send().await?;
    let callback = location(&approved, "the consent page")?;

    let answer = http
        .get(callback)
        .send()
        .await
        .context("following Clio's redirect to our callback")?;
    let status = answer.status();
    let body: serde_json::Value = answer.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("the callback answered {status}: {body}");
    }
    println!(
        "connected {} as connection {} ({})",
        body["account_name"].as_str().unwrap_or_default(),
        body["connection_id"],
        if body["resumed"] == true {
            "resumed"
        } else {
            "new"
        },
    );
    if let Some(errors) = body["subscription_errors"]
        .as_array()
        .filter(|e| !e.is_empty())
    {
        println!("subscriptions not created yet (the scheduler retries): {errors:?}");
    }
    println!("API token for {email} (admin): {token}");
    Ok(())
}
