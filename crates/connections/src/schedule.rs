//! The scheduled task's pass: tokens refreshed ahead of expiry, subscriptions maintained, old
//! OAuth states purged. However many schedulers run, one pass runs at a time (an advisory lock).

use matterhook_clio::ClioError;
use matterhook_store::{advisory, connections as connection_store, oauth_states};
use matterhook_telemetry::chain;

use crate::{
    custom_actions::Aligned, hooks, span, CallError, ConnectionError, Connections, TokenError,
};

/// What a pass did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PassReport {
    /// Tokens refreshed ahead of expiry.
    pub tokens_refreshed: usize,
    /// Connections whose refresh Clio refused (now `needs_reauth`).
    pub needs_reauth: usize,
    /// Grants probed because Clio had not accepted them for a day, and found alive.
    pub grants_verified: usize,
    /// Of the probed, grants Clio no longer honours (revoked inside Clio): now `needs_reauth`,
    /// their users notified.
    pub grants_revoked: usize,
    /// The subscriptions' part.
    pub subscriptions: hooks::Report,
    /// The custom actions' part.
    pub custom_actions: CustomActionsReport,
    /// OAuth states purged.
    pub states_purged: usize,
    /// Token refreshes that failed for now.
    pub errors: Vec<String>,
}

/// What a pass did to custom actions.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CustomActionsReport {
    /// Registered where wanted and missing.
    pub registered: usize,
    /// Registered again because Clio no longer had them.
    pub replaced: usize,
    /// Pointed at our current address.
    pub moved: usize,
    /// Removed where no longer wanted.
    pub removed: usize,
    /// What failed (the next pass tries again).
    pub errors: Vec<String>,
}

impl Connections {
    /// One pass, unless another scheduler is in the middle of one (then `None`).
    pub async fn scheduled_pass(&self) -> Result<Option<PassReport>, ConnectionError> {
        // The lock is held by this session: keep the connection until the pass is over.
        let mut lock = self.pool().get().await?;
        let took = advisory::try_scheduler_pass(&mut lock).await?;
        if !took {
            return Ok(None);
        }
        let pass = self.pass().await;
        // Closing the session would release it too; a failed unlock only delays the next pass.
        let _ = advisory::end_scheduler_pass(&mut lock).await;
        pass.map(Some)
    }

    async fn pass(&self) -> Result<PassReport, ConnectionError> {
        let mut report = PassReport::default();
        let ahead = self.policy().refresh_ahead;
        let mut conn = self.pool().get().await?;
        let expiring = connection_store::expiring(&mut conn, self.now() + span(ahead)).await?;
        drop(conn);
        for (id, version) in expiring {
            // Unless another process refreshed it meanwhile (the version moved), this refreshes.
            match self.refresh(id, version).await {
                Ok(_) => report.tokens_refreshed += 1,
                Err(crate::TokenError::NeedsReauth(_)) => report.needs_reauth += 1,
                Err(e) => report.errors.push(chain(&e)),
            }
        }
        report.subscriptions = self.maintain().await?;
        report.custom_actions = self.align_all_custom_actions().await?;
        // After the subscriptions' checks: each call they made proved its grant alive.
        self.probe_grants(&mut report).await?;
        let mut conn = self.pool().get().await?;
        report.states_purged =
            oauth_states::purge(&mut conn, self.now() - chrono::Duration::days(1)).await?;
        Ok(report)
    }

    /// Every connected connection's custom actions, aligned and checked against Clio.
    async fn align_all_custom_actions(&self) -> Result<CustomActionsReport, ConnectionError> {
        let mut conn = self.pool().get().await?;
        let connected =
            connection_store::list(&mut conn, Some(connection_store::CONNECTED)).await?;
        drop(conn);
        let mut report = CustomActionsReport::default();
        for c in connected {
            match self.align_custom_actions(c.id, true).await {
                Ok(Aligned::Unchanged) => {}
                Ok(Aligned::Registered) => report.registered += 1,
                Ok(Aligned::Replaced) => report.replaced += 1,
                Ok(Aligned::Moved) => report.moved += 1,
                Ok(Aligned::Removed) => report.removed += 1,
                Err(e) => report
                    .errors
                    .push(format!("connection {}: {}", c.id, chain(&e))),
            }
        }
        Ok(report)
    }

    /// One cheap call (`who_am_i`) per connection Clio has not accepted for a day, oldest first,
    /// within the pass's allowance and each token's rate budget (the client paces; a call that
    /// would wait too long fails and waits for the next pass). A revoked grant fails its refresh,
    /// which marks the connection `needs_reauth` and notifies its user, as any refused refresh
    /// does.
    async fn probe_grants(&self, report: &mut PassReport) -> Result<(), ConnectionError> {
        let policy = self.policy();
        let mut conn = self.pool().get().await?;
        let due = connection_store::unverified_since(
            &mut conn,
            self.now() - span(policy.verify_every),
            policy.probes_per_pass,
        )
        .await?;
        drop(conn);
        for id in due {
            match self
                .call(id, |api| async move { api.who_am_i().await })
                .await
            {
                Ok(_) => {
                    let mut conn = self.pool().get().await?;
                    connection_store::mark_verified(&mut conn, id, self.now()).await?;
                    report.grants_verified += 1;
                }
                Err(CallError::Token(TokenError::NeedsReauth(_))) => {
                    tracing::warn!(
                        connection = id,
                        "Clio no longer honours this grant: needs reauthorization"
                    );
                    report.grants_revoked += 1;
                }
                // Disconnected meanwhile: nothing to probe.
                Err(CallError::Token(TokenError::Disconnected(_) | TokenError::NotFound(_))) => {}
                Err(e @ CallError::Clio(ClioError::RateLimited { .. })) => {
                    // Its budget is spent for now: the next pass probes it.
                    tracing::debug!(connection = id, error = %chain(&e), "probe deferred");
                }
                Err(e) => report.errors.push(chain(&e)),
            }
        }
        Ok(())
    }
}
