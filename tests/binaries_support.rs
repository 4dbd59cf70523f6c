//! The real binaries as processes, for tests of what every binary must do (answer its health,
//! readiness and metrics endpoints). They are built by `cargo build --bins`, which `make test`
//! runs before the tests.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
};

/// A binary of the workspace, started with its configuration in the environment; killed when
/// dropped.
pub struct Service {
    /// The binary's name.
    pub name: &'static str,
    /// Where its `/healthz`, `/readyz` and `/metrics` are.
    pub base_url: String,
    child: Child,
}

/// Where cargo put the workspace's binaries: beside this test's own executable's directory.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --bins` first (make test does)",
        path.display()
    );
    path
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Service {
    /// Starts `name` with `env`, its listener (the variable `addr_var`) on a free port.
    pub fn start(name: &'static str, addr_var: &str, env: &[(&str, String)]) -> Self {
        let port = free_port();
        let mut command = Command::new(binary(name));
        command
            .env(addr_var, format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("the binary starts");
        Self {
            name,
            base_url: format!("http://127.0.0.1:{port}"),
            child,
        }
    }

    /// GET `path`: the status and the body.
    pub async fn get(&self, path: &str) -> Option<(u16, String)> {
        let response = reqwest::get(format!("{}{path}", self.base_url))
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.text().await.ok()?))
    }

    /// Waits until `/readyz` answers `status`; its body then.
    pub async fn ready_is(&self, status: u16) -> Option<serde_json::Value> {
        self.ready_within(status, crate::PATIENCE).await
    }

    /// [`Service::ready_is`], waiting up to `patience` (a worker reconnecting after an outage
    /// waits out its backoff, up to 30 s).
    pub async fn ready_within(
        &self,
        status: u16,
        patience: std::time::Duration,
    ) -> Option<serde_json::Value> {
        ready_within(&self.base_url, status, patience).await
    }
}

/// Waits up to `patience` until the service at `base_url` answers `/readyz` with `status`; the
/// body then.
pub async fn ready_within(
    base_url: &str,
    status: u16,
    patience: std::time::Duration,
) -> Option<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Ok(response) = reqwest::get(format!("{base_url}/readyz")).await {
            if response.status().as_u16() == status {
                return response.json().await.ok();
            }
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
