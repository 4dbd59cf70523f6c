//! Publishing with publisher confirms.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions},
    BasicProperties, Channel, Confirmation, Connection,
};

use crate::BusError;

/// Why a publish was not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The broker could not be reached, or the connection dropped before the confirm.
    #[error("broker unavailable")]
    Unavailable(#[from] lapin::Error),
    /// The broker refused the message (a nack: for example a full queue with `reject-publish`).
    #[error("the broker refused the message")]
    Nacked,
    /// No queue is bound for the routing key: nothing would have kept the message.
    #[error("no queue is bound for routing key {0}")]
    Unroutable(String),
}

/// Publishes on a few confirm-mode channels, round robin. Cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    channels: Arc<[Channel]>,
    next: Arc<AtomicUsize>,
}

impl Publisher {
    /// Opens `channels` confirm-mode channels on `connection`.
    pub async fn new(connection: &Connection, channels: usize) -> Result<Self, BusError> {
        let mut opened = Vec::with_capacity(channels.max(1));
        for _ in 0..channels.max(1) {
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            opened.push(channel);
        }
        Ok(Self {
            channels: opened.into(),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// One of the channels, for declaring topology.
    pub fn channel(&self) -> &Channel {
        &self.channels[0]
    }

    /// Publishes a persistent, mandatory message and returns once the broker confirmed that a
    /// queue holds it.
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len();
        let properties = properties.with_delivery_mode(2);
        // Mandatory: an unroutable message comes back instead of vanishing.
        let options = BasicPublishOptions {
            mandatory: true,
            ..Default::default()
        };
        let confirm = self.channels[i]
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                options,
                payload,
                properties,
            )
            .await?;
        match confirm.await? {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_)) | Confirmation::Nack(Some(_)) => {
                Err(PublishError::Unroutable(routing_key.to_owned()))
            }
            Confirmation::Nack(None) => Err(PublishError::Nacked),
            // Every channel is put in confirm mode when opened, and recovery restores it.
            Confirmation::NotRequested => Err(PublishError::Nacked),
        }
    }
}
