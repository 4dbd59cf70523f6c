//! A valid access token whenever one is needed.
//!
//! The current token of each connection is kept in memory while fresh. A token that expires within
//! [`Policy::refresh_margin`](crate::Policy) is refreshed first. A refresh takes the connection's
//! row lock, so however many tasks and processes need a token at once, one of them refreshes and
//! the rest read what it stored: the token version tells them it changed. A 401 leads to one
//! refresh (only if the token that failed is still the current one) and one retry. Clio refusing
//! the refresh grant marks the connection `needs_reauth` and notifies its user; callers get
//! [`TokenError::NeedsReauth`] and park their work.

use matterhook_domain::ConnectionStatus;
use matterhook_telemetry::chain;
use std::{future::Future, sync::Arc};

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use matterhook_clio::{Api, ClioError, Region};
use matterhook_store::{
    connections::{self as store, Connection},
    notifications,
};
use secrecy::SecretString;

use crate::{span, Connections};

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No such connection.
    #[error("connection {0} does not exist")]
    NotFound(i64),
    /// Clio refused the refresh (or there is nothing to refresh with): the user must connect again.
    /// Work for this connection is parked until then.
    #[error("connection {0} needs its user to connect to Clio again")]
    NeedsReauth(i64),
    /// The user disconnected.
    #[error("connection {0} is disconnected")]
    Disconnected(i64),
    /// Clio's OAuth endpoint could not be reached, or the store failed: try again later.
    #[error("could not refresh the token of connection {id}")]
    Transient {
        /// The connection.
        id: i64,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored token does not open with our key (wrong `MATTERHOOK_ENCRYPTION_KEY`?).
    #[error("the stored token of connection {0} does not open with the configured key")]
    Sealed(i64),
}

impl TokenError {
    /// Whether trying later, with nobody doing anything, may work.
    pub fn is_transient(&self) -> bool {
        matches!(self, TokenError::Transient { .. })
    }
}

/// A connection's token as this process knows it.
#[derive(Clone)]
pub(crate) struct Current {
    access: SecretString,
    version: i64,
    region: Region,
    expires_at: Option<DateTime<Utc>>,
}

impl Current {
    pub(crate) fn region(&self) -> Region {
        self.region
    }

    pub(crate) fn access(&self) -> &SecretString {
        &self.access
    }
}

/// An [`Api`] bound to a connection's current token.
#[derive(Clone)]
pub struct Authorized {
    /// The API, bound to the token.
    pub api: Api,
    /// The connection.
    pub connection_id: i64,
    /// The token's version (what a refresh after a 401 compares).
    pub version: i64,
}

enum Refreshed {
    Token(Current),
    Refused,
}

impl Connections {
    /// An API bound to the connection's current token, refreshed first if it is about to expire.
    pub async fn api(&self, connection_id: i64) -> Result<Authorized, TokenError> {
        let current = self.token(connection_id).await?;
        Ok(self.authorized(connection_id, current))
    }

    /// The connection's current token: this process's copy while fresh, else the stored one,
    /// refreshed first if it is about to expire.
    pub(crate) async fn token(&self, connection_id: i64) -> Result<Current, TokenError> {
        let cached = self.inner.tokens.lock().get(&connection_id).cloned();
        let current = match cached {
            Some(c) => c,
            None => {
                let c = self.current(&self.load(connection_id).await?)?;
                self.remember(connection_id, c.clone());
                c
            }
        };
        if self.due(current.expires_at) {
            self.refresh(connection_id, current.version).await
        } else {
            Ok(current)
        }
    }

    /// Runs `call` with the connection's token; after a 401, refreshes once and runs it once more.
    pub async fn call<T, F, Fut>(&self, connection_id: i64, call: F) -> Result<T, CallError>
    where
        F: Fn(Api) -> Fut,
        Fut: Future<Output = Result<T, ClioError>>,
    {
        let first = self.api(connection_id).await?;
        match call(first.api).await {
            Err(ClioError::Unauthorized { .. }) => {
                let second = self.refresh(connection_id, first.version).await?;
                let again = self.authorized(connection_id, second);
                Ok(call(again.api).await?)
            }
            other => Ok(other?),
        }
    }

    /// Refreshes the token unless someone else already replaced version `seen` with a fresh one.
    pub(crate) async fn refresh(
        &self,
        connection_id: i64,
        seen: i64,
    ) -> Result<Current, TokenError> {
        let turn = Arc::clone(
            self.inner
                .refreshing
                .lock()
                .entry(connection_id)
                .or_default(),
        );
        let _turn = turn.lock().await;
        if let Some(c) = self.inner.tokens.lock().get(&connection_id) {
            if c.version > seen && !self.due(c.expires_at) {
                return Ok(c.clone());
            }
        }
        let mut conn = self
            .pool()
            .get()
            .await
            .map_err(|e| transient(connection_id, e))?;
        let outcome = conn
            .transaction::<_, TxError, _>(async |conn| {
                let row = store::lock(conn, connection_id)
                    .await?
                    .ok_or(TokenError::NotFound(connection_id))?;
                let current = self.current(&row)?;
                if current.version != seen && !self.due(current.expires_at) {
                    return Ok(Refreshed::Token(current));
                }
                let refresh_token = match &row.refresh_token_enc {
                    Some(sealed) => self
                        .deps()
                        .cipher
                        .open(sealed, &store::refresh_context(row.id))
                        .map_err(|_| TokenError::Sealed(row.id))?,
                    None => {
                        self.refused(conn, &row, "no refresh token is stored")
                            .await?;
                        return Ok(Refreshed::Refused);
                    }
                };
                match self
                    .deps()
                    .oauth
                    .refresh(current.region, &refresh_token)
                    .await
                {
                    Ok(set) => {
                        let cipher = &self.deps().cipher;
                        let access = cipher.seal(&set.access_token, &store::access_context(row.id));
                        let refresh = set
                            .refresh_token
                            .as_ref()
                            .map(|r| cipher.seal(r, &store::refresh_context(row.id)));
                        let expires_at = set.expires_in.map(|d| self.now() + span(d));
                        let version = store::store_tokens(
                            conn,
                            row.id,
                            &access,
                            refresh.as_deref(),
                            expires_at,
                        )
                        .await?;
                        tracing::info!(connection = row.id, version, "refreshed the access token");
                        Ok(Refreshed::Token(Current {
                            access: set.access_token,
                            version,
                            region: current.region,
                            expires_at,
                        }))
                    }
                    Err(e) if e.needs_reauthorization() => {
                        self.refused(conn, &row, &chain(&e)).await?;
                        Ok(Refreshed::Refused)
                    }
                    Err(e) => Err(TxError::Token(transient(connection_id, e))),
                }
            })
            .await;
        match outcome {
            Ok(Refreshed::Token(current)) => {
                self.remember(connection_id, current.clone());
                Ok(current)
            }
            Ok(Refreshed::Refused) => {
                self.forget(connection_id);
                Err(TokenError::NeedsReauth(connection_id))
            }
            Err(TxError::Token(e)) => Err(e),
            Err(TxError::Database(e)) => Err(transient(connection_id, e)),
        }
    }

    /// Forgets this process's copy of a connection's token (after a disconnect or a reconnect).
    pub fn forget(&self, connection_id: i64) {
        self.inner.tokens.lock().remove(&connection_id);
    }

    async fn refused(
        &self,
        conn: &mut matterhook_store::AsyncPgConnection,
        row: &Connection,
        why: &str,
    ) -> Result<(), diesel::result::Error> {
        tracing::warn!(
            connection = row.id,
            reason = why,
            "refresh refused: the connection needs its user to connect again"
        );
        store::mark_needs_reauth(conn, row.id, why).await?;
        notifications::notify(
            conn,
            row.user_id,
            row.id,
            notifications::NEEDS_REAUTH,
            &format!(
                "Clio no longer accepts matterhook's access to {} ({why}). Connect again to resume; nothing is lost meanwhile.",
                row.account_name
            ),
        )
        .await
    }

    fn due(&self, expires_at: Option<DateTime<Utc>>) -> bool {
        expires_at.is_some_and(|at| at - self.now() < span(self.policy().refresh_margin))
    }

    async fn load(&self, connection_id: i64) -> Result<Connection, TokenError> {
        let mut conn = self
            .pool()
            .get()
            .await
            .map_err(|e| transient(connection_id, e))?;
        store::get(&mut conn, connection_id)
            .await
            .map_err(|e| transient(connection_id, e))?
            .ok_or(TokenError::NotFound(connection_id))
    }

    /// The row's token, if the connection is usable.
    fn current(&self, row: &Connection) -> Result<Current, TokenError> {
        match row.status {
            ConnectionStatus::Connected => {}
            ConnectionStatus::NeedsReauth => return Err(TokenError::NeedsReauth(row.id)),
            ConnectionStatus::Disconnected => return Err(TokenError::Disconnected(row.id)),
        }
        let sealed = row
            .access_token_enc
            .as_ref()
            .ok_or(TokenError::NeedsReauth(row.id))?;
        let access = self
            .deps()
            .cipher
            .open(sealed, &store::access_context(row.id))
            .map_err(|_| TokenError::Sealed(row.id))?;
        let region = row.region.parse().map_err(|_| TokenError::Sealed(row.id))?;
        Ok(Current {
            access,
            version: row.token_version,
            region,
            expires_at: row.token_expires_at,
        })
    }

    fn remember(&self, connection_id: i64, current: Current) {
        let mut tokens = self.inner.tokens.lock();
        let newer = tokens
            .get(&connection_id)
            .is_none_or(|known| known.version <= current.version);
        if newer {
            tokens.insert(connection_id, current);
        }
    }

    fn authorized(&self, connection_id: i64, current: Current) -> Authorized {
        Authorized {
            api: self.client().api(current.region, current.access),
            connection_id,
            version: current.version,
        }
    }
}

/// A Clio call made through [`Connections::call`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No usable token.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The call itself failed.
    #[error(transparent)]
    Clio(#[from] ClioError),
}

/// A failure that may pass: the store or Clio's OAuth endpoint.
fn transient(id: i64, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> TokenError {
    TokenError::Transient {
        id,
        source: e.into(),
    }
}

enum TxError {
    Token(TokenError),
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Database(e)
    }
}

impl From<TokenError> for TxError {
    fn from(e: TokenError) -> Self {
        Self::Token(e)
    }
}
