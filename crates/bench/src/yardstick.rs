//! The yardstick (`../shared/bench/ingest-limit`): a minimal receiver of the same design (actix,
//! HMAC, parse, persistent publish to a quorum queue, 200 after the confirm), built from a copy of
//! its sources and run beside ours under the same load in the same run. Absolute rates on this
//! machine swing between runs; the ratio of ours to it within one run does not.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use anyhow::Context;

use crate::load::Target;

/// Its secret (the yardstick's default).
const SECRET: &str = "limit-secret";

/// A running yardstick.
pub struct Yardstick {
    /// Where to send its load.
    pub target: Target,
    child: tokio::process::Child,
    queue: String,
    amqp_url: String,
}

impl Yardstick {
    /// Builds the yardstick from `sources` (copied first, so the shared folder is never written)
    /// with its own target directory under `build_dir`, and starts it on a free port, publishing
    /// to a queue of its own. `bodies` are re-signed with its secret.
    pub async fn start(
        sources: &Path,
        build_dir: &Path,
        amqp_url: &str,
        bodies: &[(bytes::Bytes, String)],
    ) -> anyhow::Result<Self> {
        // Outside our workspace: cargo would take a copy under it for a member.
        let copy =
            std::env::temp_dir().join(format!("matterhook-yardstick-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&copy);
        copy_dir(sources, &copy).context("copying the yardstick's sources")?;
        let status = tokio::process::Command::new("cargo")
            .args(["build", "--release", "--quiet", "--manifest-path"])
            .arg(copy.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", build_dir.join("target"))
            .status()
            .await
            .context("running cargo for the yardstick")?;
        let _ = std::fs::remove_dir_all(&copy);
        anyhow::ensure!(status.success(), "the yardstick did not build");
        let bin: PathBuf = build_dir.join("target/release/ingest-limit");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let queue = format!(
            "mhbench-yardstick-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let child = tokio::process::Command::new(bin)
            .env("PORT", port.to_string())
            .env("WORKERS", "2")
            .env("SECRET", SECRET)
            .env("AMQP_URL", amqp_url)
            .env("QUEUE", &queue)
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting the yardstick")?;
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let mut up = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::ensure!(up, "the yardstick did not start listening");
        let bodies = bodies
            .iter()
            .map(|(body, _)| (body.clone(), clio_sim::sign(SECRET, body)))
            .collect();
        Ok(Self {
            target: Target {
                addr,
                path: "/hook".into(),
                bodies: Arc::new(bodies),
            },
            child,
            queue,
            amqp_url: amqp_url.to_owned(),
        })
    }

    /// Empties its queue, so one phase's backlog does not weigh on the next.
    pub async fn settle(&self) -> anyhow::Result<()> {
        let connection = matterhook_bus::connect(&self.amqp_url, "bench-yardstick").await?;
        let channel = connection.create_channel().await?;
        channel
            .queue_purge(
                self.queue.as_str().into(),
                lapin::options::QueuePurgeOptions::default(),
            )
            .await?;
        let _ = connection.close(200, "settled".into()).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        Ok(())
    }

    /// Stops it and deletes its queue.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        if let Ok(connection) = matterhook_bus::connect(&self.amqp_url, "bench-yardstick").await {
            if let Ok(channel) = connection.create_channel().await {
                let _ = channel
                    .queue_delete(
                        self.queue.as_str().into(),
                        lapin::options::QueueDeleteOptions::default(),
                    )
                    .await;
            }
            let _ = connection.close(200, "done".into()).await;
        }
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        // Never a build of its own that a previous run left behind.
        if name == "target" {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            copy_dir(&path, &to.join(&name))?;
        } else {
            std::fs::copy(&path, to.join(&name))?;
        }
    }
    Ok(())
}
