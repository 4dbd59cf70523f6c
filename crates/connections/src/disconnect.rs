//! Disconnecting: the grant revoked, the webhooks deleted, the work stopped; everything already
//! synced, every link and every history entry kept. Connecting again resumes the same row.

use matterhook_clio::oauth::OAuthError;
use matterhook_store::connections as store;

use crate::{ConnectionError, Connections, TokenError};

/// What a disconnect did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Disconnected {
    /// The connection.
    pub connection_id: i64,
    /// Webhook subscriptions deleted.
    pub webhooks_deleted: usize,
    /// Custom actions removed from Clio.
    pub custom_actions_removed: usize,
    /// Whether Clio confirmed the revocation (false when the grant was already dead or Clio could
    /// not be reached; the tokens are forgotten either way).
    pub revoked: bool,
}

impl Connections {
    /// Disconnects a connection. With `owner`, only that user's connection is found. Disconnecting
    /// twice is harmless.
    pub async fn disconnect(
        &self,
        connection_id: i64,
        owner: Option<i64>,
    ) -> Result<Disconnected, ConnectionError> {
        let mut conn = self.pool().get().await?;
        let row = store::get(&mut conn, connection_id)
            .await?
            .filter(|row| owner.is_none_or(|user| row.user_id == user))
            .ok_or(ConnectionError::NotFound)?;
        drop(conn);
        if row.status == store::DISCONNECTED {
            return Ok(Disconnected {
                connection_id,
                webhooks_deleted: 0,
                custom_actions_removed: 0,
                revoked: false,
            });
        }
        // Webhooks and buttons first: deleting them needs the token that revoking kills.
        let webhooks_deleted = self.retire_all(connection_id, "disconnected").await?;
        let custom_actions_removed = match self.remove_custom_actions(connection_id).await {
            Ok(n) => n,
            // A disconnect is never refused for a button: the rows stay, so connecting again
            // finds and aligns them, and a click meanwhile is told the connection is gone.
            Err(e) => {
                tracing::warn!(connection = connection_id, error = %matterhook_telemetry::Chain(&e), "could not remove the custom actions from Clio");
                0
            }
        };
        let revoked = match self.token(connection_id).await {
            Ok(current) => match self
                .deps()
                .oauth
                .revoke(current.region(), current.access())
                .await
            {
                Ok(()) => true,
                Err(OAuthError::Rejected { .. }) => false,
                Err(e) => {
                    tracing::warn!(connection = connection_id, error = %matterhook_telemetry::Chain(&e), "could not revoke the grant; forgetting its tokens anyway");
                    false
                }
            },
            Err(TokenError::NeedsReauth(_) | TokenError::Disconnected(_)) => false,
            Err(e) => return Err(e.into()),
        };
        let mut conn = self.pool().get().await?;
        store::mark_disconnected(&mut conn, connection_id).await?;
        self.forget(connection_id);
        tracing::info!(
            connection = connection_id,
            webhooks_deleted,
            custom_actions_removed,
            revoked,
            "disconnected"
        );
        Ok(Disconnected {
            connection_id,
            webhooks_deleted,
            custom_actions_removed,
            revoked,
        })
    }
}
