//! What our app registers in a firm's Clio: webhook subscriptions and custom actions (buttons),
//! and the confirmation of a custom action's click.

use futures::Stream;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use super::Api;
use crate::{
    models::{CustomAction, NewCustomAction, NewWebhook, Subject, Webhook, WebhookUpdate},
    ClioError, Fields, Query,
};

impl Api {
    /// The fields we read back on webhooks.
    pub fn webhook_fields() -> Fields {
        Fields::new().with([
            "id",
            "etag",
            "url",
            "fields",
            "model",
            "events",
            "status",
            "expires_at",
            "created_at",
            "updated_at",
        ])
    }

    /// Every webhook of this token's app.
    pub fn webhooks(&self) -> impl Stream<Item = Result<Webhook, ClioError>> + Send + 'static {
        self.list(
            "webhooks.json",
            Query::new().fields(&Self::webhook_fields()),
        )
    }

    /// One webhook.
    pub async fn webhook(&self, id: i64) -> Result<Webhook, ClioError> {
        self.get(
            &format!("webhooks/{id}.json"),
            &Query::new().fields(&Self::webhook_fields()),
        )
        .await
    }

    /// Creates a webhook. Clio sends the handshake to its URL, possibly before this returns.
    pub async fn create_webhook(&self, webhook: &NewWebhook) -> Result<Webhook, ClioError> {
        self.post(
            "webhooks.json",
            &Query::new().fields(&Self::webhook_fields()),
            webhook,
        )
        .await
    }

    /// Changes a webhook (renewal is a new `expires_at`).
    pub async fn update_webhook(
        &self,
        id: i64,
        update: &WebhookUpdate,
        if_match: Option<&str>,
    ) -> Result<Webhook, ClioError> {
        self.patch(
            &format!("webhooks/{id}.json"),
            &Query::new().fields(&Self::webhook_fields()),
            update,
            if_match,
        )
        .await
    }

    /// Deletes a webhook.
    pub async fn delete_webhook(&self, id: i64) -> Result<(), ClioError> {
        self.delete(&format!("webhooks/{id}.json")).await
    }

    /// Confirms a webhook whose handshake we could not answer in time, with the secret it carried.
    pub async fn activate_webhook(&self, id: i64, secret: &SecretString) -> Result<(), ClioError> {
        let url = self.url(&format!("webhooks/{id}/activate.json"), &Query::new())?;
        let request = self
            .client
            .request(Method::PUT, url)
            .header("X-Hook-Secret", secret.expose_secret());
        self.client.send(&self.token, request).await.map(drop)
    }

    /// The fields we read back on custom actions.
    fn custom_action_fields() -> Fields {
        Fields::new().with([
            "id",
            "etag",
            "label",
            "target_url",
            "ui_reference",
            "created_at",
            "updated_at",
        ])
    }

    /// One custom action.
    pub async fn custom_action(&self, id: i64) -> Result<CustomAction, ClioError> {
        self.get(
            &format!("custom_actions/{id}.json"),
            &Query::new().fields(&Self::custom_action_fields()),
        )
        .await
    }

    /// Registers a custom action (needs the app's `custom_actions` permission).
    pub async fn create_custom_action(
        &self,
        action: &NewCustomAction,
    ) -> Result<CustomAction, ClioError> {
        self.post(
            "custom_actions.json",
            &Query::new().fields(&Self::custom_action_fields()),
            action,
        )
        .await
    }

    /// Changes a custom action (a new label or target).
    pub async fn update_custom_action(
        &self,
        id: i64,
        action: &NewCustomAction,
    ) -> Result<CustomAction, ClioError> {
        self.patch(
            &format!("custom_actions/{id}.json"),
            &Query::new().fields(&Self::custom_action_fields()),
            action,
            None,
        )
        .await
    }

    /// Removes a custom action.
    pub async fn delete_custom_action(&self, id: i64) -> Result<(), ClioError> {
        self.delete(&format!("custom_actions/{id}.json")).await
    }

    /// Asks Clio whether a click on a custom action was real: reads its subject with the click's
    /// single-use nonce. Clio answers 403 ([`ClioError::Forbidden`]) for a wrong, reused or
    /// expired nonce, or a subject the click was not made on.
    pub async fn confirm_custom_action_click(
        &self,
        subject: &Subject,
        nonce: &str,
    ) -> Result<(), ClioError> {
        let query = Query::new()
            .fields(&Fields::new().with(["id"]))
            .param("custom_action_nonce", nonce);
        self.get::<serde_json::Value>(&subject.path(), &query)
            .await
            .map(drop)
    }
}
