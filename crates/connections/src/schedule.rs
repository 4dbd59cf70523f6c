//! The scheduled task's pass: tokens refreshed ahead of expiry, subscriptions maintained, old
//! OAuth states purged. However many schedulers run, one pass runs at a time (an advisory lock).

use matterhook_store::{advisory, connections as connection_store, oauth_states};
use matterhook_telemetry::chain;

use crate::{hooks, span, ConnectionError, Connections};

/// What a pass did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PassReport {
    /// Tokens refreshed ahead of expiry.
    pub tokens_refreshed: usize,
    /// Connections whose refresh Clio refused (now `needs_reauth`).
    pub needs_reauth: usize,
    /// The subscriptions' part.
    pub subscriptions: hooks::Report,
    /// OAuth states purged.
    pub states_purged: usize,
    /// Token refreshes that failed for now.
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
        let mut conn = self.pool().get().await?;
        report.states_purged =
            oauth_states::purge(&mut conn, self.now() - chrono::Duration::days(1)).await?;
        Ok(report)
    }
}
