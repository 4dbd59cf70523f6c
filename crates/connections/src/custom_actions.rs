//! Buttons inside Clio. A connection whose settings want one has it registered as a Clio custom
//! action pointing at our landing page; turning the feature off, or disconnecting, removes it.
//! The scheduled pass re-checks each against Clio (someone may delete it there) and moves it when
//! our public address changes.
//!
//! A click sends the lawyer's browser to us with parameters anyone could forge: only
//! [`Connections::confirm_click`], Clio answering for the subject with the click's single-use
//! nonce, makes it real.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use matterhook_clio::{
    models::{NewCustomAction, Subject},
    ClioError,
};
use matterhook_domain::{settings::ConnectionSettings, ConnectionStatus, CustomActionPurpose};
use matterhook_store::{
    advisory, connections as connection_store, custom_actions as store, settings,
};
use url::Url;

use crate::{CallError, ConnectionError, Connections};

/// What aligning one connection's custom actions did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aligned {
    /// Already as wanted.
    Unchanged,
    /// Registered in Clio.
    Registered,
    /// Registered again: Clio no longer had it.
    Replaced,
    /// Pointed at our current address.
    Moved,
    /// Removed from Clio.
    Removed,
}

impl Connections {
    /// Where a click on `purpose` lands: beside our OAuth callback (the API's public address, as
    /// registered with Clio), at the purpose's path.
    pub fn landing_url(&self, purpose: CustomActionPurpose) -> Result<Url, ConnectionError> {
        // The callback is `{root}/oauth/clio/callback`: two levels up is the API's root, whatever
        // prefix a proxy puts before it.
        self.deps()
            .oauth
            .redirect_uri()
            .join(&format!("../../{}", purpose.landing_path()))
            .map_err(|e| ConnectionError::Unexpected {
                what: "the OAuth redirect URI does not make a landing URL".into(),
                source: Some(Box::new(e)),
            })
    }

    /// Brings a connection's "Send Review" button in line with its settings and status. With
    /// `check`, one Clio still lists is confirmed there (and registered again if gone). Two
    /// processes aligning one connection take turns.
    pub async fn align_custom_actions(
        &self,
        connection_id: i64,
        check: bool,
    ) -> Result<Aligned, ConnectionError> {
        let purpose = CustomActionPurpose::SendReview;
        let target = self.landing_url(purpose)?;
        let mut conn = self.pool().get().await?;
        conn.transaction::<_, ConnectionError, _>(async |conn| {
            advisory::custom_actions_turn(conn, connection_id).await?;
            let row = connection_store::get(conn, connection_id)
                .await?
                .ok_or(ConnectionError::NotFound)?;
            let wanted = row.status == ConnectionStatus::Connected
                && wants_button(conn, connection_id).await?;
            let registered = store::get(conn, connection_id, purpose).await?;
            match (wanted, registered) {
                (true, None) => {
                    self.register(conn, connection_id, purpose, &target).await?;
                    Ok(Aligned::Registered)
                }
                (true, Some(r)) if r.target_url != target.as_str() => {
                    let action = new_action(purpose, &target);
                    let moved = self
                        .call(connection_id, |api| {
                            let action = action.clone();
                            async move { api.update_custom_action(r.clio_id, &action).await }
                        })
                        .await;
                    match moved {
                        Ok(_) => {
                            store::put(
                                conn,
                                connection_id,
                                purpose,
                                r.clio_id,
                                target.as_str(),
                                self.now(),
                            )
                            .await?;
                            Ok(Aligned::Moved)
                        }
                        Err(CallError::Clio(ClioError::NotFound)) => {
                            self.register(conn, connection_id, purpose, &target).await?;
                            Ok(Aligned::Replaced)
                        }
                        Err(e) => Err(e.into()),
                    }
                }
                (true, Some(r)) if check => {
                    let seen = self
                        .call(connection_id, |api| async move {
                            api.custom_action(r.clio_id).await
                        })
                        .await;
                    match seen {
                        Ok(_) => {
                            store::mark_checked(conn, connection_id, purpose, self.now()).await?;
                            Ok(Aligned::Unchanged)
                        }
                        Err(CallError::Clio(ClioError::NotFound)) => {
                            tracing::warn!(
                                connection = connection_id,
                                custom_action = r.clio_id,
                                "the custom action is gone from Clio: registering it again"
                            );
                            self.register(conn, connection_id, purpose, &target).await?;
                            Ok(Aligned::Replaced)
                        }
                        Err(e) => Err(e.into()),
                    }
                }
                (true, Some(_)) => Ok(Aligned::Unchanged),
                (false, Some(r)) if row.status == ConnectionStatus::Connected => {
                    self.unregister(conn, connection_id, purpose, r.clio_id)
                        .await?;
                    Ok(Aligned::Removed)
                }
                // Needs reauthorization: we cannot reach Clio; a click meanwhile is told to
                // reconnect, and the button goes once the user reconnects or disconnects.
                (false, _) => Ok(Aligned::Unchanged),
            }
        })
        .await
    }

    /// Removes every custom action of a connection from Clio (before a disconnect revokes the
    /// token that can). Returns how many went.
    pub(crate) async fn remove_custom_actions(
        &self,
        connection_id: i64,
    ) -> Result<usize, ConnectionError> {
        let mut conn = self.pool().get().await?;
        conn.transaction::<_, ConnectionError, _>(async |conn| {
            advisory::custom_actions_turn(conn, connection_id).await?;
            let all = store::of_connection(conn, connection_id).await?;
            for r in &all {
                self.unregister(conn, connection_id, r.purpose, r.clio_id)
                    .await?;
            }
            Ok(all.len())
        })
        .await
    }

    /// Asks Clio whether a click was real: reads `subject` with the click's nonce, with the
    /// token of `connection_id` (the connection of the Clio user who clicked). A forged, reused
    /// or expired nonce is Clio's 403.
    pub async fn confirm_click(
        &self,
        connection_id: i64,
        subject: Subject,
        nonce: &str,
    ) -> Result<(), CallError> {
        self.call(connection_id, |api| async move {
            api.confirm_custom_action_click(&subject, nonce).await
        })
        .await
    }

    async fn register(
        &self,
        conn: &mut AsyncPgConnection,
        connection_id: i64,
        purpose: CustomActionPurpose,
        target: &Url,
    ) -> Result<(), ConnectionError> {
        let action = new_action(purpose, target);
        let made = self
            .call(connection_id, |api| {
                let action = action.clone();
                async move { api.create_custom_action(&action).await }
            })
            .await?;
        store::put(
            conn,
            connection_id,
            purpose,
            made.id,
            target.as_str(),
            self.now(),
        )
        .await?;
        tracing::info!(
            connection = connection_id,
            custom_action = made.id,
            purpose = %purpose,
            "custom action registered in Clio"
        );
        Ok(())
    }

    async fn unregister(
        &self,
        conn: &mut AsyncPgConnection,
        connection_id: i64,
        purpose: CustomActionPurpose,
        clio_id: i64,
    ) -> Result<(), ConnectionError> {
        match self
            .call(connection_id, |api| async move {
                api.delete_custom_action(clio_id).await
            })
            .await
        {
            // Already gone from Clio: what we wanted.
            Ok(()) | Err(CallError::Clio(ClioError::NotFound)) => {}
            Err(e) => return Err(e.into()),
        }
        store::remove(conn, connection_id, purpose).await?;
        tracing::info!(
            connection = connection_id,
            custom_action = clio_id,
            purpose = %purpose,
            "custom action removed from Clio"
        );
        Ok(())
    }
}

fn new_action(purpose: CustomActionPurpose, target: &Url) -> NewCustomAction {
    NewCustomAction {
        label: purpose.label().to_owned(),
        target_url: target.as_str().to_owned(),
        ui_reference: purpose.ui_reference().to_owned(),
    }
}

/// Whether the connection's settings want the "Send Review" button. A document that no longer
/// reads wants nothing (the API refuses such documents; only a hand edit makes one).
async fn wants_button(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
) -> Result<bool, ConnectionError> {
    let Some(document) = settings::get(conn, connection_id).await? else {
        return Ok(false);
    };
    Ok(ConnectionSettings::parse(&document)
        .map(|s| s.review_requests.wants_send_review_button())
        .unwrap_or(false))
}
