//! `matterhook demo connect`: connects the simulator's demo firm, until the Connections issue
//! brings the real OAuth flow through the API. Simulator only: it approves the consent page itself.

use anyhow::{bail, Context};
use chrono::Utc;
use clap::Args;
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::RunQueryDsl;
use matterhook_clio::{models::NewWebhook, oauth::OAuthApp, ClientConfig, ClioClient, Region};
use matterhook_config::{ClioArgs, DatabaseArgs, PublicArgs};
use matterhook_crypto::{random_token, Cipher};
use matterhook_store::{schema, subscriptions};
use secrecy::ExposeSecret;
use sha2::Digest;

/// What each subscription watches: the smallest `fields` that carry what changed.
const SUBSCRIPTIONS: [(&str, &[&str], &str); 3] = [
    (
        "matter",
        &[
            "created",
            "updated",
            "deleted",
            "matter_opened",
            "matter_pended",
            "matter_closed",
        ],
        "id,etag,status,updated_at",
    ),
    (
        "contact",
        &["created", "updated", "deleted"],
        "id,etag,name,primary_email_address,primary_phone_number,updated_at",
    ),
    (
        "bill",
        &["created", "updated", "deleted"],
        "id,etag,state,updated_at",
    ),
];

/// `matterhook demo connect`
#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    clio: ClioArgs,
    #[command(flatten)]
    public: PublicArgs,
    /// Our user who owns the connection.
    #[arg(long, default_value = "alice@hartleyfinch.example")]
    email: String,
}

#[derive(serde::Deserialize)]
struct DemoFirm {
    attorney_id: i64,
}

/// Connects the demo firm's attorney and subscribes to matters, contacts and bills.
pub async fn connect(args: DemoArgs) -> anyhow::Result<()> {
    let base = args.clio.clio_base_url.clone();
    if base.host_str().is_some_and(|h| h.ends_with("clio.com")) {
        bail!(
            "`demo connect` approves the consent page itself: it only runs against the simulator"
        );
    }
    args.public.validate()?;
    let cipher = Cipher::new(&args.public.encryption_key);
    let client = ClioClient::new(ClientConfig::new(base.clone()))?;
    let callback = args.public.public_url.join("/oauth/clio/callback")?;
    let oauth = OAuthApp::new(
        args.clio.clio_client_id.clone(),
        args.clio.clio_client_secret.clone(),
        callback,
        client.endpoints().clone(),
        client.http().clone(),
    );

    let firm: DemoFirm = client
        .http()
        .get(base.join("/_sim/demo")?)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
        .context("the simulator's demo firm")?;
    let state = random_token(16);
    let authorize = oauth.authorize_url(Region::Us, &state);
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("user_id".into(), firm.attorney_id.to_string()));
    form.push(("decision".into(), "allow".into()));
    let answer = client
        .http()
        .post(authorize.as_str())
        .form(&form)
        .send()
        .await?;
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .context("the consent page did not redirect")?;
    let location = url::Url::parse(location)?;
    let param = |k: &str| {
        location
            .query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    if param("state").as_deref() != Some(state.as_str()) {
        bail!("the consent redirect carried another state");
    }
    let code = param("code").context("no authorization code")?;
    let tokens = oauth.exchange_code(Region::Us, &code).await?;
    let api = client.api(Region::Us, tokens.access_token.clone());
    let me = api.who_am_i().await?;
    let account = me.account.clone().context("who_am_i without an account")?;

    let pool = matterhook_store::connect_pool(args.db.database_url.expose_secret(), 2)?;
    let mut conn = pool.get().await?;
    let email = args.email.trim().to_lowercase();
    let user_id: i64 = match schema::users::table
        .filter(schema::users::email.eq(&email))
        .select(schema::users::id)
        .first(&mut conn)
        .await
        .optional()?
    {
        Some(id) => id,
        None => {
            diesel::insert_into(schema::users::table)
                .values((
                    schema::users::email.eq(&email),
                    schema::users::token_hash.eq(sha2::Sha256::digest(random_token(32)).to_vec()),
                ))
                .returning(schema::users::id)
                .get_result(&mut conn)
                .await?
        }
    };
    use schema::connections as c;
    let connection_id: i64 = diesel::insert_into(c::table)
        .values((
            c::user_id.eq(user_id),
            c::region.eq("us"),
            c::clio_user_id.eq(me.id),
            c::clio_account_id.eq(account.id),
            c::account_name.eq(account.name.clone().unwrap_or_default()),
            c::status.eq("connected"),
        ))
        .on_conflict((c::user_id, c::region, c::clio_user_id))
        .do_update()
        .set((c::status.eq("connected"), c::updated_at.eq(Utc::now())))
        .returning(c::id)
        .get_result(&mut conn)
        .await?;
    let sealed_access = cipher.seal(
        &tokens.access_token,
        &format!("connections.access_token:{connection_id}"),
    );
    let sealed_refresh = tokens
        .refresh_token
        .as_ref()
        .map(|r| cipher.seal(r, &format!("connections.refresh_token:{connection_id}")));
    let expires = tokens
        .expires_in
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| Utc::now() + d);
    diesel::update(c::table.find(connection_id))
        .set((
            c::access_token_enc.eq(sealed_access),
            c::refresh_token_enc.eq(sealed_refresh),
            c::token_expires_at.eq(expires),
        ))
        .execute(&mut conn)
        .await?;
    println!(
        "connected {} ({}) as connection {connection_id}",
        account.name.unwrap_or_default(),
        me.name.unwrap_or_default()
    );

    for (model, events, fields) in SUBSCRIPTIONS {
        let new = subscriptions::NewSubscription {
            token: random_token(32),
            connection_id,
            model: model.into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            fields: fields.into(),
        };
        let row = subscriptions::insert(&mut conn, &new).await?;
        let url = args
            .public
            .public_url
            .join(&format!("/webhooks/clio/{}", row.token))?;
        let hook = api
            .create_webhook(&NewWebhook {
                url: url.to_string(),
                model: model.into(),
                fields: fields.into(),
                events: new.events.clone(),
                expires_at: Some(Utc::now() + chrono::Duration::days(30)),
            })
            .await
            .with_context(|| format!("creating the {model} webhook"))?;
        subscriptions::set_clio_webhook(
            &mut conn,
            row.id,
            hook.id,
            hook.expires_at.map(|t| t.with_timezone(&Utc)),
        )
        .await?;
        println!(
            "subscribed to {model} events (Clio webhook {}, subscription {})",
            hook.id, row.id
        );
    }
    Ok(())
}
