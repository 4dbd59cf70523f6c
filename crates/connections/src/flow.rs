//! The OAuth connect flow: [`Connections::start`] hands out the URL of Clio's consent page with a
//! single-use `state`; [`Connections::finish`] takes the callback.

use matterhook_clio::Region;
use matterhook_crypto::{hash_token, random_token};
use matterhook_store::{
    connections::{self as store, ClioIdentity},
    notifications,
    oauth_states::{self, StateCheck},
    sweeps,
};
use matterhook_telemetry::chain;
use url::Url;

use matterhook_domain::Model;

use crate::{span, ConnectionError, Connections};

/// What Clio's redirect to our callback carried.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Callback {
    /// The authorization code, on consent.
    pub code: Option<String>,
    /// The state we handed out.
    pub state: Option<String>,
    /// `access_denied` when the user declined.
    pub error: Option<String>,
    /// Clio's explanation of `error`.
    pub error_description: Option<String>,
    /// The state the browser holds (the cookie [`Started::browser_state`] set): a callback
    /// carrying a state is honoured only in the browser that started it.
    pub browser_state: Option<String>,
}

/// A connect started: where to send the user, and what their browser must keep until the
/// callback (as a cookie), so that a consent link sent to someone else cannot connect their Clio
/// account to this user.
#[derive(Debug, Clone)]
pub struct Started {
    /// Clio's consent page.
    pub url: Url,
    /// The value the browser keeps.
    pub browser_state: String,
}

/// Why a callback stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// No `state` parameter.
    #[error("the callback carried no state")]
    MissingState,
    /// A state we never issued.
    #[error("this connect link was not issued by matterhook")]
    UnknownState,
    /// A state already used.
    #[error("this connect link was already used; start again")]
    StateUsed,
    /// A state issued too long ago.
    #[error("this connect link expired; start again")]
    StateExpired,
    /// The browser did not start this connect (no cookie, or another one's).
    #[error("this connect link was started in another browser; start again here")]
    OtherBrowser,
    /// The user declined on Clio's consent page.
    #[error("access to Clio was declined")]
    Denied,
    /// Clio reported another error.
    #[error("Clio refused: {0}")]
    Refused(String),
    /// Neither a code nor an error.
    #[error("the callback carried no authorization code")]
    MissingCode,
    /// Exchanging the code or reading who connected failed.
    #[error(transparent)]
    Failed(#[from] ConnectionError),
}

/// Every failure below the flow's own checks is a [`ConnectionError`].
macro_rules! failed_from {
    ($($source:ty),*) => {$(
        impl From<$source> for FlowError {
            fn from(e: $source) -> Self {
                FlowError::Failed(e.into())
            }
        }
    )*};
}
failed_from!(
    diesel::result::Error,
    diesel_async::pooled_connection::deadpool::PoolError,
    matterhook_clio::oauth::OAuthError,
    matterhook_clio::ClioError
);

impl FlowError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            FlowError::MissingState => "missing_state",
            FlowError::UnknownState => "unknown_state",
            FlowError::StateUsed => "state_used",
            FlowError::StateExpired => "state_expired",
            FlowError::OtherBrowser => "other_browser",
            FlowError::Denied => "access_denied",
            FlowError::Refused(_) => "clio_refused",
            FlowError::MissingCode => "missing_code",
            FlowError::Failed(_) => "connect_failed",
        }
    }
}

/// A connection made (or resumed) by a callback.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Connected {
    /// The connection.
    pub connection_id: i64,
    /// Whether it existed before (a reconnect: same row, same history).
    pub resumed: bool,
    /// The firm.
    pub account_name: String,
    /// The Clio user.
    pub clio_user_name: Option<String>,
    /// Subscriptions that could not be created now; the scheduled task retries them.
    pub subscription_errors: Vec<String>,
}

impl Connections {
    /// Starts a connect for `user_id` in `region`: the URL of Clio's consent page, carrying a fresh
    /// single-use state that only this user's callback can use, for [`Policy::state_ttl`](crate::Policy).
    pub async fn start(&self, user_id: i64, region: Region) -> Result<Started, ConnectionError> {
        let state = random_token(32);
        let mut conn = self.pool().get().await?;
        oauth_states::insert(
            &mut conn,
            &hash_token(&state),
            user_id,
            region.code(),
            self.now() + span(self.policy().state_ttl),
        )
        .await?;
        Ok(Started {
            url: self.deps().oauth.authorize_url(region, &state),
            browser_state: state,
        })
    }

    /// Finishes a connect: checks and uses the state, exchanges the code, reads who connected,
    /// stores the connection with its tokens sealed, and subscribes to its webhooks. A bad state
    /// or a refusal stores nothing.
    pub async fn finish(&self, callback: &Callback) -> Result<Connected, FlowError> {
        let state = callback
            .state
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or(FlowError::MissingState)?;
        let mut conn = self.pool().get().await?;
        // Used whatever comes next: a state never works twice, even after a refusal.
        let (user_id, region) =
            match oauth_states::consume(&mut conn, &hash_token(state), self.now()).await? {
                StateCheck::Valid { user_id, region } => (user_id, region),
                StateCheck::Unknown => return Err(FlowError::UnknownState),
                StateCheck::Used => return Err(FlowError::StateUsed),
                StateCheck::Expired => return Err(FlowError::StateExpired),
            };
        drop(conn);
        // Only in the browser that started it: a consent link someone else follows (sent to them,
        // say) must not connect their Clio account to this user. The state is spent either way.
        // Compared by hash: equal lengths, no early exit on the first differing byte.
        let same_browser = callback
            .browser_state
            .as_deref()
            .is_some_and(|b| hash_token(b) == hash_token(state));
        if !same_browser {
            return Err(FlowError::OtherBrowser);
        }
        match callback.error.as_deref() {
            Some("access_denied") => return Err(FlowError::Denied),
            Some(other) => {
                let description = callback.error_description.as_deref().unwrap_or("");
                return Err(FlowError::Refused(
                    format!("{other} {description}").trim().to_owned(),
                ));
            }
            None => {}
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(FlowError::MissingCode)?;
        let region: Region = region
            .parse()
            .map_err(
                |e: matterhook_clio::UnknownRegion| ConnectionError::Unexpected {
                    what: "the OAuth state's region".into(),
                    source: Some(Box::new(e)),
                },
            )?;

        let tokens = self.deps().oauth.exchange_code(region, code).await?;
        let me = self
            .client()
            .api(region, tokens.access_token.clone())
            .who_am_i()
            .await?;
        let account = me
            .account
            .ok_or_else(|| ConnectionError::unexpected("Clio's who_am_i has no account"))?;
        let who = ClioIdentity {
            user_id,
            region: region.code().to_owned(),
            clio_user_id: me.id,
            clio_user_name: me.name.clone(),
            clio_account_id: account.id,
            account_name: account.name.clone().unwrap_or_default(),
            time_zone: me
                .time_zone
                .clone()
                .filter(|z| z.parse::<chrono_tz::Tz>().is_ok()),
        };

        let cipher = self.deps().cipher.clone();
        let expires_at = tokens.expires_in.map(|d| self.now() + span(d));
        let mut conn = self.pool().get().await?;
        let (connection_id, resumed) = {
            use diesel_async::AsyncConnection;
            conn.transaction::<_, diesel::result::Error, _>(async |conn| {
                let (id, before) = store::upsert_connected(conn, &who).await?;
                let access = cipher.seal(&tokens.access_token, &store::access_context(id));
                let refresh = tokens
                    .refresh_token
                    .as_ref()
                    .map(|r| cipher.seal(r, &store::refresh_context(id)));
                store::store_tokens(conn, id, &access, refresh.as_deref(), expires_at).await?;
                notifications::resolve(conn, id, notifications::NEEDS_REAUTH).await?;
                // Resume where it left off: whatever changed while it was not connected is swept.
                if let Some(before) = before.as_ref().filter(|b| b.status != store::CONNECTED) {
                    let since = before
                        .last_synced_at
                        .or(before.disconnected_at)
                        .unwrap_or(before.updated_at);
                    for model in Model::WEBHOOK {
                        sweeps::request(conn, id, model, since, "reconnected").await?;
                    }
                    // The sweep catches up the mirror; a colleague's connection may have kept
                    // it current, so the products catch up for this user from when they
                    // disconnected (a connection waiting for reauthorization kept receiving).
                    if let Some(disconnected_at) = before.disconnected_at {
                        crate::resumed::announce(conn, id, &who, disconnected_at).await?;
                    }
                }
                Ok((id, before.is_some()))
            })
            .await?
        };
        drop(conn);
        self.forget(connection_id);
        tracing::info!(connection = connection_id, resumed, "connected to Clio");

        let subscription_errors = match self.ensure_subscriptions(connection_id).await {
            Ok(errors) => errors,
            Err(e) => vec![chain(&e)],
        };
        Ok(Connected {
            connection_id,
            resumed,
            account_name: who.account_name,
            clio_user_name: who.clio_user_name,
            subscription_errors,
        })
    }
}
