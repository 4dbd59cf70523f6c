//! Recording what the broker itself dead-lettered.

use std::{future::Future, time::Duration};

use futures::StreamExt;
use lapin::{
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    },
    types::FieldTable,
    Connection, Consumer,
};
use matterhook_store::PgPool;

use super::{
    headers,
    letter::{letter, Failure},
};
use crate::{topology, BusError, Envelope};

pub(crate) async fn drain(
    pool: PgPool,
    amqp_url: &str,
    names: &topology::Names,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BusError> {
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(500);
    loop {
        let session = tokio::select! {
            () = &mut shutdown => return Ok(()),
            s = open(amqp_url, names) => s,
        };
        let (connection, mut consumer, channel, tag) = match session {
            Ok(s) => {
                backoff = Duration::from_millis(500);
                s
            }
            Err(error) => {
                tracing::warn!(error = %matterhook_telemetry::Chain(&error), "cannot reach the broker for dead letters; retrying");
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        let stopped = loop {
            tokio::select! {
                () = &mut shutdown => break true,
                next = consumer.next() => match next {
                    Some(Ok(delivery)) => settle(&pool, delivery).await,
                    Some(Err(_)) | None => break false,
                }
            }
        };
        if stopped {
            let _ = channel
                .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                .await;
            let _ = connection.close(200, "shutdown".into()).await;
            return Ok(());
        }
        tracing::warn!("lost the broker while draining dead letters; reconnecting");
    }
}

async fn open(
    amqp_url: &str,
    names: &topology::Names,
) -> Result<(Connection, Consumer, lapin::Channel, String), BusError> {
    let connection = crate::connect_supervised(amqp_url, "matterhook-dead-letters").await?;
    let channel = connection.create_channel().await?;
    topology::declare_common(&channel, names).await?;
    channel.basic_qos(8, BasicQosOptions::default()).await?;
    let tag = format!("dead-letters-{}", uuid::Uuid::new_v4().simple());
    let consumer = channel
        .basic_consume(
            names.dead_queue().as_str().into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok((connection, consumer, channel, tag))
}

async fn settle(pool: &PgPool, delivery: Delivery) {
    match record(pool, &delivery).await {
        Ok(()) => {
            let _ = delivery.ack(BasicAckOptions::default()).await;
        }
        Err(e) => {
            tracing::warn!(error = %matterhook_telemetry::Chain(&*e), "cannot record a broker dead letter now");
            // Back-pressure while the database is away, instead of spinning on the message.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    multiple: false,
                })
                .await;
        }
    }
}

async fn record(
    pool: &PgPool,
    delivery: &Delivery,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let envelope = Envelope::decode(&delivery.data).ok();
    let queue = headers::text(delivery, "x-first-death-queue").unwrap_or_else(|| "unknown".into());
    let error = format!(
        "the broker gave up after {} deliveries that were never settled (the consumer crashed or hung on it)",
        topology::DELIVERY_LIMIT
    );
    let letter = letter(
        delivery,
        envelope.as_ref(),
        &Failure {
            queue: &queue,
            reason: "delivery limit exceeded",
            error: &error,
            attempts: u32::try_from(topology::DELIVERY_LIMIT).unwrap_or(u32::MAX),
            tag: "broker",
        },
    );
    let mut conn = pool.get().await?;
    matterhook_store::dead_letters::record(&mut conn, &letter).await?;
    Ok(())
}
