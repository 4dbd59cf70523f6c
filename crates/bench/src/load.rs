//! Load generators against the receiver.
//!
//! Each request is sent on its own HTTP/1.1 keep-alive connection (hyper's connection-level
//! client, no pool), with its body and signature prepared before the clock starts: the load
//! generator shares the two cores with the broker and the receiver, so what it spends per request
//! is taken from what it measures.

use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::{client::conn::http1::SendRequest, Request};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use crate::Phase;

/// Where the load goes: an address, the delivery path and the signed bodies to send.
#[derive(Clone)]
pub struct Target {
    /// The server's address.
    pub addr: std::net::SocketAddr,
    /// The delivery path.
    pub path: String,
    /// Signed bodies: (body, signature).
    pub bodies: std::sync::Arc<Vec<(Bytes, String)>>,
}

/// One keep-alive connection to the receiver.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    path: String,
    host: String,
}

impl Connection {
    async fn open(setup: &Target) -> Option<Self> {
        let stream = tokio::net::TcpStream::connect(setup.addr).await.ok()?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(connection);
        Some(Self {
            sender,
            path: setup.path.clone(),
            host: setup.addr.to_string(),
        })
    }

    /// Sends one signed delivery; whether it got a 2xx.
    async fn send(&mut self, body: &(Bytes, String)) -> bool {
        if self.sender.ready().await.is_err() {
            return false;
        }
        let Ok(request) = Request::post(self.path.as_str())
            .header("host", self.host.as_str())
            .header("content-type", "application/json")
            .header("x-hook-signature", body.1.as_str())
            .body(Full::new(body.0.clone()))
        else {
            return false;
        };
        match self.sender.send_request(request).await {
            Ok(response) => {
                let ok = response.status().is_success();
                // Read the body to the end so the connection can carry the next request.
                ok && response.into_body().collect().await.is_ok()
            }
            Err(_) => false,
        }
    }
}

/// `concurrency` requests in flight at all times, for `run`.
pub async fn closed_loop(setup: &Target, concurrency: usize, run: Duration) -> Phase {
    let mut connections = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        if let Some(c) = Connection::open(setup).await {
            connections.push(c);
        }
    }
    let deadline = Instant::now() + run;
    let started = Instant::now();
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(worker, mut connection)| {
            let bodies = setup.bodies.clone();
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new(3).expect("histogram");
                let (mut errors, mut i) = (0, worker);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if connection.send(&bodies[i % bodies.len()]).await {
                        hist.record(t.elapsed().as_micros() as u64)
                            .expect("in range");
                    } else {
                        errors += 1;
                    }
                    i += concurrency;
                }
                (hist, errors)
            })
        })
        .collect();
    collect(tasks, started).await
}

/// A request every 1/`rate` s for `run`, whatever the answers do; latency counts from each
/// request's scheduled time. Requests are spread over a fixed set of connections; a request
/// whose connection is still busy waits for it, and that wait counts.
pub async fn open_loop(setup: &Target, rate: u64, run: Duration) -> Phase {
    const CONNECTIONS: usize = 256;
    let mut connections = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        if let Some(c) = Connection::open(setup).await {
            connections.push(tokio::sync::Mutex::new(c));
        }
    }
    let connections = std::sync::Arc::new(connections);
    let started = Instant::now();
    let total = rate * run.as_secs();
    let tasks: Vec<_> = (0..total)
        .map(|i| {
            let scheduled = started + Duration::from_secs_f64(i as f64 / rate as f64);
            let (connections, bodies) = (connections.clone(), setup.bodies.clone());
            tokio::spawn(async move {
                tokio::time::sleep_until(scheduled).await;
                let mut hist = Histogram::<u64>::new(3).expect("histogram");
                let ok = match connections.get(i as usize % connections.len().max(1)) {
                    Some(c) => {
                        c.lock()
                            .await
                            .send(&bodies[i as usize % bodies.len()])
                            .await
                    }
                    None => false,
                };
                if ok {
                    hist.record(scheduled.elapsed().as_micros() as u64)
                        .expect("in range");
                }
                (hist, u64::from(!ok))
            })
        })
        .collect();
    collect(tasks, started).await
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<(Histogram<u64>, u64)>>,
    started: Instant,
) -> Phase {
    let mut latency = Histogram::<u64>::new(3).expect("histogram");
    let mut errors = 0;
    for t in tasks {
        if let Ok((h, e)) = t.await {
            let _ = latency.add(h);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    Phase {
        per_s: latency.len() as f64 / elapsed,
        latency,
        errors,
    }
}
