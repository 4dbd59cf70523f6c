//! Load generators against the receiver.

use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use crate::{receiver::Setup, Phase};

fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client")
}

async fn send(http: &reqwest::Client, url: &str, body: &(String, String)) -> bool {
    http.post(url)
        .header("Content-Type", "application/json")
        .header("X-Hook-Signature", &body.1)
        .body(body.0.clone())
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// `concurrency` requests in flight at all times, for `run`.
pub async fn closed_loop(setup: &Setup, concurrency: usize, run: Duration) -> Phase {
    let http = client(concurrency);
    let deadline = Instant::now() + run;
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (http, url, bodies) = (http.clone(), setup.url.clone(), setup.bodies.clone());
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new(3).expect("histogram");
                let (mut errors, mut i) = (0, worker);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if send(&http, &url, &bodies[i % bodies.len()]).await {
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
/// request's scheduled time.
pub async fn open_loop(setup: &Setup, rate: u64, run: Duration) -> Phase {
    let http = client(256);
    let started = Instant::now();
    let total = rate * run.as_secs();
    let tasks: Vec<_> = (0..total)
        .map(|i| {
            let scheduled = started + Duration::from_secs_f64(i as f64 / rate as f64);
            let (http, url, bodies) = (http.clone(), setup.url.clone(), setup.bodies.clone());
            tokio::spawn(async move {
                tokio::time::sleep_until(scheduled).await;
                let mut hist = Histogram::<u64>::new(3).expect("histogram");
                let ok = send(&http, &url, &bodies[i as usize % bodies.len()]).await;
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
