//! Webhook subscriptions that never lapse.
//!
//! Each connected connection has one subscription per model in [`SPECS`], at
//! `{public_url}/webhooks/clio/{token}`. [`Connections::maintain`] is the scheduled task's pass:
//! - a missing subscription is created (the receiver answers its handshake);
//! - one Clio still holds `pending` although the handshake secret reached us is activated;
//! - one that expires within [`Policy::renew_before`](crate::Policy) is renewed (a PATCH of
//!   `expires_at`);
//! - one Clio suspended, deleted, let expire, or never confirmed is replaced, and a sweep of its
//!   model is requested from the last time it was known healthy, so what it missed is re-read;
//! - one made under another public URL is moved make-before-break: the new one is created, and
//!   the old one deleted only once the new one has completed its handshake.

use chrono::{DateTime, Utc};
use matterhook_clio::{
    models::{NewWebhook, WebhookStatus, WebhookUpdate},
    ClioError,
};
use matterhook_crypto::random_token;
use matterhook_domain::Model;
use matterhook_store::{
    connections as connection_store,
    subscriptions::{self as store, NewSubscription, Subscription},
    sweeps,
};
use matterhook_telemetry::Chain;
use url::Url;

use crate::{span, tokens::CallError, ConnectionError, Connections, TokenError};

/// What one subscription watches.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The Clio model.
    pub model: Model,
    /// The events.
    pub events: &'static [&'static str],
    /// Every field the sync mirror holds ([`matterhook_clio::selectors`]): `updated` fires only
    /// when one of these changes. The payload stays a hint; the sync worker re-reads the record.
    pub fields: &'static str,
}

/// The subscriptions every connection has.
pub const SPECS: [Spec; 3] = [
    Spec {
        model: Model::Matter,
        events: Model::Matter.webhook_events(),
        fields: matterhook_clio::selectors::MATTER,
    },
    Spec {
        model: Model::Contact,
        events: Model::Contact.webhook_events(),
        fields: matterhook_clio::selectors::CONTACT,
    },
    Spec {
        model: Model::Bill,
        events: Model::Bill.webhook_events(),
        fields: matterhook_clio::selectors::BILL,
    },
];

/// What a maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Connections looked at.
    pub connections: usize,
    /// Subscriptions created where one was missing.
    pub created: usize,
    /// Subscriptions renewed.
    pub renewed: usize,
    /// Subscriptions activated with the handshake's secret.
    pub activated: usize,
    /// Subscriptions replaced (suspended, deleted, expired or never confirmed in Clio).
    pub replaced: usize,
    /// Subscriptions moved to the current public URL.
    pub moved: usize,
    /// Sweeps requested.
    pub sweeps: usize,
    /// What failed (the next pass tries again).
    pub errors: Vec<String>,
}

/// The subscription of `model`; none for models Clio sends no webhooks for.
fn spec(model: Model) -> Option<Spec> {
    SPECS.into_iter().find(|s| s.model == model)
}

impl From<CallError> for ConnectionError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Token(t) => ConnectionError::Token(t),
            CallError::Clio(c) => ConnectionError::Clio(c),
        }
    }
}

impl Connections {
    /// Our public base URL, as webhooks should point at it now.
    fn public_base(&self) -> String {
        self.deps()
            .public_url
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    fn delivery_url(&self, token: &str) -> Result<Url, ConnectionError> {
        Url::parse(&format!("{}/webhooks/clio/{token}", self.public_base())).map_err(|e| {
            ConnectionError::Unexpected {
                what: "the public URL does not make a webhook URL".into(),
                source: Some(Box::new(e)),
            }
        })
    }

    /// Creates each missing subscription of a connection. Returns what failed, per model.
    pub async fn ensure_subscriptions(
        &self,
        connection_id: i64,
    ) -> Result<Vec<String>, ConnectionError> {
        let mut report = Report::default();
        self.maintain_connection(connection_id, &mut report, false)
            .await?;
        Ok(report.errors)
    }

    /// One pass of the scheduled task over every connected connection (see the module doc).
    pub async fn maintain(&self) -> Result<Report, ConnectionError> {
        let mut conn = self.pool().get().await?;
        let connections =
            connection_store::list(&mut conn, Some(connection_store::CONNECTED)).await?;
        drop(conn);
        let mut report = Report::default();
        for c in connections {
            report.connections += 1;
            if let Err(e) = self.maintain_connection(c.id, &mut report, true).await {
                report
                    .errors
                    .push(format!("connection {}: {}", c.id, Chain(&e)));
            }
        }
        Ok(report)
    }

    /// Replaces one subscription now, whatever its state (`matterhook subscriptions recreate`).
    pub async fn recreate(&self, subscription_id: i64) -> Result<Subscription, ConnectionError> {
        let mut conn = self.pool().get().await?;
        let sub = store::get(&mut conn, subscription_id)
            .await?
            .ok_or(ConnectionError::NotFound)?;
        drop(conn);
        let mut report = Report::default();
        self.replace(&sub, "recreated by an operator", &mut report)
            .await
    }

    async fn maintain_connection(
        &self,
        connection_id: i64,
        report: &mut Report,
        check: bool,
    ) -> Result<(), ConnectionError> {
        let mut conn = self.pool().get().await?;
        let live = store::live(&mut conn, connection_id).await?;
        drop(conn);
        let base = self.public_base();
        for spec in SPECS {
            let (current, old): (Vec<&Subscription>, Vec<&Subscription>) = live
                .iter()
                .filter(|s| s.model == spec.model)
                .partition(|s| s.public_url == base);
            if current.is_empty() {
                match self.create(connection_id, spec).await {
                    Ok(_) => report.created += 1,
                    Err(e) => report.errors.push(format!(
                        "creating the {} subscription of connection {connection_id}: {}",
                        spec.model,
                        Chain(&e)
                    )),
                }
            }
            if !check {
                continue;
            }
            for sub in current {
                if let Err(e) = self.check(sub, report).await {
                    report
                        .errors
                        .push(format!("subscription {}: {}", sub.id, Chain(&e)));
                }
            }
            if old.is_empty() {
                continue;
            }
            // Moved only once a subscription at the current URL has completed its handshake
            // (re-read: the one just created may have completed it since).
            let mut conn = self.pool().get().await?;
            let confirmed = store::live(&mut conn, connection_id)
                .await?
                .into_iter()
                .any(|s| {
                    s.model == spec.model && s.public_url == base && s.status == store::ACTIVE
                });
            drop(conn);
            for sub in old {
                let outcome = if confirmed {
                    // Deliveries Clio was still retrying to the old URL (its schedule spans about
                    // an hour) die with it: sweep that window.
                    let since = self.now() - chrono::Duration::hours(2);
                    self.retire_and_sweep(sub, &format!("moved to {base}"), since, report)
                        .await
                        .map(|()| report.moved += 1)
                } else {
                    // Keep it delivering (and unexpired) until the new one is confirmed.
                    self.check(sub, report).await
                };
                if let Err(e) = outcome {
                    report
                        .errors
                        .push(format!("subscription {}: {}", sub.id, Chain(&e)));
                }
            }
        }
        Ok(())
    }

    /// Creates a subscription: our row first (so a handshake arriving before Clio's answer finds
    /// it), then the webhook in Clio.
    async fn create(
        &self,
        connection_id: i64,
        spec: Spec,
    ) -> Result<Subscription, ConnectionError> {
        let new = NewSubscription {
            token: random_token(32),
            connection_id,
            model: spec.model,
            events: spec.events.iter().map(|e| (*e).to_owned()).collect(),
            fields: spec.fields.into(),
            public_url: self.public_base(),
        };
        let mut conn = self.pool().get().await?;
        let row = store::insert(&mut conn, &new).await?;
        drop(conn);
        let hook = NewWebhook {
            url: self.delivery_url(&row.token)?.to_string(),
            model: spec.model.as_str().to_owned(),
            fields: spec.fields.into(),
            events: new.events.clone(),
            expires_at: Some(self.now() + span(self.policy().webhook_lifetime)),
        };
        let created = self
            .call(connection_id, |api| {
                let hook = hook.clone();
                async move { api.create_webhook(&hook).await }
            })
            .await;
        let mut conn = self.pool().get().await?;
        let created = match created {
            Ok(created) => created,
            Err(e) => {
                store::mark_deleted(
                    &mut conn,
                    row.id,
                    &format!("creation failed: {}", Chain(&e)),
                )
                .await?;
                return Err(e.into());
            }
        };
        let expires_at = created
            .expires_at
            .map(|t| t.with_timezone(&Utc))
            .or(hook.expires_at);
        let row =
            store::set_clio_webhook(&mut conn, row.id, created.id, expires_at, self.now()).await?;
        tracing::info!(
            connection = connection_id,
            subscription = row.id,
            webhook = created.id,
            model = %spec.model,
            "created a webhook"
        );
        Ok(row)
    }

    /// Looks at one subscription in Clio and does what it needs.
    async fn check(&self, sub: &Subscription, report: &mut Report) -> Result<(), ConnectionError> {
        let now = self.now();
        let Some(webhook_id) = sub.clio_webhook_id else {
            // Our row exists but Clio's create never answered: replace it after the grace period.
            if now - sub.created_at > span(self.policy().handshake_grace) {
                self.replace(sub, "never created in Clio", report).await?;
            }
            return Ok(());
        };
        let hook = match self
            .call(sub.connection_id, |api| async move {
                api.webhook(webhook_id).await
            })
            .await
        {
            Ok(hook) => {
                // Clio accepted the grant: the daily probe need not ask again.
                let mut conn = self.pool().get().await?;
                connection_store::mark_verified(&mut conn, sub.connection_id, now).await?;
                hook
            }
            Err(CallError::Clio(ClioError::NotFound)) => {
                self.replace(sub, "deleted in Clio", report).await?;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let expires_at = hook.expires_at.map(|t| t.with_timezone(&Utc));
        if expires_at.is_some_and(|at| at <= now) {
            self.replace(sub, "expired in Clio", report).await?;
            return Ok(());
        }
        match hook.status {
            Some(WebhookStatus::Suspended) => {
                self.replace(sub, "suspended by Clio", report).await?;
                return Ok(());
            }
            Some(WebhookStatus::Pending) => {
                if self.activate(sub, webhook_id).await? {
                    report.activated += 1;
                } else if now - sub.created_at > span(self.policy().handshake_grace) {
                    self.replace(sub, "no handshake arrived", report).await?;
                    return Ok(());
                } else {
                    return Ok(());
                }
            }
            _ => {}
        }
        let renew_by = now + span(self.policy().renew_before);
        let expires_at = if expires_at.is_none_or(|at| at < renew_by) {
            let update = WebhookUpdate {
                expires_at: Some(now + span(self.policy().webhook_lifetime)),
                ..WebhookUpdate::default()
            };
            let renewed = self
                .call(sub.connection_id, |api| {
                    let update = update.clone();
                    async move { api.update_webhook(webhook_id, &update, None).await }
                })
                .await?;
            report.renewed += 1;
            tracing::info!(
                subscription = sub.id,
                webhook = webhook_id,
                "renewed a webhook"
            );
            renewed
                .expires_at
                .map(|t| t.with_timezone(&Utc))
                .or(update.expires_at)
        } else {
            expires_at
        };
        let mut conn = self.pool().get().await?;
        store::set_checked(&mut conn, sub.id, expires_at, now).await?;
        Ok(())
    }

    /// Confirms a pending webhook with the secret its handshake brought, if it reached us.
    async fn activate(&self, sub: &Subscription, webhook_id: i64) -> Result<bool, ConnectionError> {
        let Some(sealed) = &sub.secret_enc else {
            return Ok(false);
        };
        let secret = self
            .deps()
            .cipher
            .open(sealed, &store::secret_context(sub.id))
            .map_err(|_| {
                ConnectionError::unexpected(format!(
                    "the secret of subscription {} does not open",
                    sub.id
                ))
            })?;
        self.call(sub.connection_id, |api| {
            let secret = secret.clone();
            async move { api.activate_webhook(webhook_id, &secret).await }
        })
        .await?;
        tracing::info!(
            subscription = sub.id,
            webhook = webhook_id,
            "activated a webhook"
        );
        Ok(true)
    }

    /// Replaces a subscription that stopped (or may have stopped) delivering: deleted here and in
    /// Clio, created anew, and a sweep of its model requested from when it was last known healthy.
    async fn replace(
        &self,
        sub: &Subscription,
        reason: &str,
        report: &mut Report,
    ) -> Result<Subscription, ConnectionError> {
        tracing::warn!(
            subscription = sub.id,
            connection = sub.connection_id,
            reason,
            "replacing a webhook"
        );
        let since = sub.checked_at.unwrap_or(sub.created_at);
        self.retire_and_sweep(sub, reason, since, report).await?;
        let spec = spec(sub.model)
            .ok_or_else(|| ConnectionError::unexpected(format!("no webhooks for {}", sub.model)))?;
        let created = self.create(sub.connection_id, spec).await?;
        report.replaced += 1;
        Ok(created)
    }

    /// Retires a subscription and asks for a sweep of its model since `since`: what it may have
    /// missed.
    async fn retire_and_sweep(
        &self,
        sub: &Subscription,
        reason: &str,
        since: DateTime<Utc>,
        report: &mut Report,
    ) -> Result<(), ConnectionError> {
        self.retire(sub, reason).await?;
        let mut conn = self.pool().get().await?;
        sweeps::request(
            &mut conn,
            sub.connection_id,
            sub.model,
            since,
            &format!("webhook gap: {reason}"),
        )
        .await?;
        report.sweeps += 1;
        Ok(())
    }

    /// Deletes a subscription's webhook in Clio (already gone is fine) and marks it deleted, so its
    /// URL answers 410 from then on.
    async fn retire(&self, sub: &Subscription, reason: &str) -> Result<(), ConnectionError> {
        if let Some(webhook_id) = sub.clio_webhook_id {
            match self
                .call(sub.connection_id, |api| async move {
                    api.delete_webhook(webhook_id).await
                })
                .await
            {
                Ok(()) | Err(CallError::Clio(ClioError::NotFound)) => {}
                // Without a token the webhook cannot be deleted; its URL answers 410, which makes
                // Clio disable it.
                Err(CallError::Token(TokenError::NeedsReauth(_) | TokenError::Disconnected(_))) => {
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut conn = self.pool().get().await?;
        store::mark_deleted(&mut conn, sub.id, reason).await?;
        Ok(())
    }

    /// Deletes every live subscription of a connection (disconnect).
    pub(crate) async fn retire_all(
        &self,
        connection_id: i64,
        reason: &str,
    ) -> Result<usize, ConnectionError> {
        let mut conn = self.pool().get().await?;
        let live = store::live(&mut conn, connection_id).await?;
        drop(conn);
        for sub in &live {
            self.retire(sub, reason).await?;
        }
        Ok(live.len())
    }
}
