//! (a) The broker's own limit.

use std::{sync::Arc, time::Duration};

use hdrhistogram::Histogram;
use lapin::{
    options::{QueueDeclareOptions, QueueDeleteOptions},
    types::{AMQPValue, FieldTable},
    BasicProperties,
};
use matterhook_bus::Publisher;
use tokio::time::Instant;

use crate::Phase;

/// How the raw publishes reach their queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The default exchange (the queue's name as routing key): the cheapest route.
    Default,
    /// A durable direct exchange with one binding: the receiver's route.
    Direct,
}

/// Persistent, confirmed publishes to a quorum queue from `concurrency` tasks for `run`, along
/// `route`.
pub async fn measure(
    amqp_url: &str,
    concurrency: usize,
    run: Duration,
    route: Route,
) -> anyhow::Result<Phase> {
    let connection = matterhook_bus::connect(amqp_url, "bench-broker").await?;
    let publisher = Publisher::new(&connection, 4).await?;
    let queue = format!(
        "mhbench-raw-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    // Both phases cap their queue alike, so a long run does not turn into a broker memory test.
    args.insert(
        "x-max-length".into(),
        AMQPValue::LongLongInt(crate::receiver::QUEUE_CAP),
    );
    let admin = connection.create_channel().await?;
    admin
        .queue_declare(queue.as_str().into(), QueueDeclareOptions::durable(), args)
        .await?;
    let (exchange, key) = match route {
        Route::Default => (String::new(), queue.clone()),
        Route::Direct => {
            let exchange = format!("{queue}.x");
            admin
                .exchange_declare(
                    exchange.as_str().into(),
                    lapin::ExchangeKind::Direct,
                    lapin::options::ExchangeDeclareOptions {
                        durable: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            admin
                .queue_bind(
                    queue.as_str().into(),
                    exchange.as_str().into(),
                    "clio.contact.updated".into(),
                    lapin::options::QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            (exchange, "clio.contact.updated".to_owned())
        }
    };
    // The receiver's envelopes are about this size.
    let payload = Arc::new(vec![b'x'; 600]);
    let deadline = Instant::now() + run;
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (publisher, exchange, key, payload) = (
                publisher.clone(),
                exchange.clone(),
                key.clone(),
                payload.clone(),
            );
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new(3).expect("histogram");
                let mut errors = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match publisher
                        .publish(&exchange, &key, &payload, BasicProperties::default())
                        .await
                    {
                        Ok(()) => hist
                            .record(t.elapsed().as_micros() as u64)
                            .expect("in range"),
                        Err(_) => errors += 1,
                    }
                }
                (hist, errors)
            })
        })
        .collect();
    let mut latency = Histogram::<u64>::new(3)?;
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await?;
        latency.add(h)?;
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if route == Route::Direct {
        let _ = admin
            .exchange_delete(
                exchange.as_str().into(),
                lapin::options::ExchangeDeleteOptions::default(),
            )
            .await;
    }
    let _ = admin
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
    let _ = connection.close(200, "done".into()).await;
    Ok(Phase {
        per_s: latency.len() as f64 / elapsed,
        latency,
        errors,
    })
}
