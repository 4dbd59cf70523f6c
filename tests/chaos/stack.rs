//! Every matterhook binary as a process of its own, on ports fixed for the run (a restarted
//! binary comes back where Clio and the others expect it), logging to `target/chaos/<name>.log`.

use std::{
    fs::OpenOptions,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use matterhook_e2e::binaries::free_port;

/// A binary of the workspace: beside this one (`target/<profile>/`).
fn binary(name: &str) -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is missing: cargo build --bins first", path.display()),
        ))
    }
}

/// One binary: how to start it, and its process while it runs.
pub struct Process {
    /// The binary's name (`matterhook-worker-sync`, ...).
    pub name: &'static str,
    /// Where its `/readyz` is.
    pub base_url: String,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Process {
    fn start(&mut self) -> std::io::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut command = Command::new(binary(self.name)?);
        command
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.child = Some(command.spawn()?);
        Ok(())
    }

    /// `kill -9`: no shutdown, no flush, no goodbye to the broker.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether it exited on its own (a crash: the run fails).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }
}

/// The whole stack's processes.
pub struct Stack {
    /// In start order: the receiver first (Clio's handshakes need it), the scheduler last.
    pub processes: Vec<Process>,
    /// The API's address.
    pub api_url: String,
}

/// The worker binaries, each on its own queue.
pub const WORKERS: [&str; 8] = [
    "matterhook-worker-journal",
    "matterhook-worker-sync",
    "matterhook-worker-matching",
    "matterhook-worker-status",
    "matterhook-worker-review",
    "matterhook-worker-crm",
    "matterhook-worker-watches",
    "matterhook-worker-writeback",
];

impl Stack {
    /// Starts every binary against `database_url`, the broker under `prefix`, and the simulator
    /// at `clio_url`; logs under `logs`.
    pub async fn start(
        database_url: &str,
        prefix: &str,
        clio_url: &str,
        logs: &Path,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(logs)?;
        let receiver_port = free_port();
        let api_port = free_port();
        let receiver_url = format!("http://127.0.0.1:{receiver_port}");
        let api_url = format!("http://127.0.0.1:{api_port}");
        let common: Vec<(String, String)> = [
            ("DATABASE_URL", database_url.to_owned()),
            ("AMQP_URL", matterhook_test_support::amqp_url()),
            ("MATTERHOOK_AMQP_PREFIX", prefix.to_owned()),
            ("CLIO_BASE_URL", clio_url.to_owned()),
            ("MATTERHOOK_PUBLIC_URL", receiver_url.clone()),
            (
                "CLIO_REDIRECT_URI",
                format!("{api_url}/oauth/clio/callback"),
            ),
            ("RUST_LOG", "warn,matterhook=info".to_owned()),
            // Faster than production, so that a run of minutes sees every mechanism work:
            // sweeps every minute, the scheduler every 5 s, writeback retries after 2 s.
            ("MATTERHOOK_SYNC_SWEEP_TICK_SECS", "5".to_owned()),
            ("MATTERHOOK_SYNC_SWEEP_INTERVAL_SECS", "60".to_owned()),
            ("NO_COLOR", "1".to_owned()),
            ("MATTERHOOK_SCHEDULER_INTERVAL_SECS", "5".to_owned()),
            // Writeback's retries must outlast Clio's 20 s outage, as production's 10 s do.
            ("MATTERHOOK_WRITEBACK_BACKOFF_MS", "2000".to_owned()),
            ("MATTERHOOK_WATCHES_SCHEDULE_SECS", "30".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let process = |name: &'static str, addr_var: &str, port: u16| {
            let mut env = common.clone();
            env.push((addr_var.to_owned(), format!("127.0.0.1:{port}")));
            Process {
                name,
                base_url: format!("http://127.0.0.1:{port}"),
                env,
                log: logs.join(format!("{name}.log")),
                child: None,
            }
        };
        let mut processes = vec![
            process(
                "matterhook-receiver",
                "MATTERHOOK_RECEIVER_ADDR",
                receiver_port,
            ),
            process("matterhook-api", "MATTERHOOK_API_ADDR", api_port),
        ];
        for name in WORKERS {
            processes.push(process(name, "MATTERHOOK_HEALTH_ADDR", free_port()));
        }
        processes.push(process(
            "matterhook-scheduler",
            "MATTERHOOK_HEALTH_ADDR",
            free_port(),
        ));
        let mut stack = Self { processes, api_url };
        for i in 0..stack.processes.len() {
            stack.processes[i].start()?;
            stack.wait_ready(i).await?;
        }
        Ok(stack)
    }

    async fn wait_ready(&self, i: usize) -> anyhow::Result<()> {
        let p = &self.processes[i];
        matterhook_e2e::binaries::ready_within(&p.base_url, 200, Duration::from_secs(60))
            .await
            .map(drop)
            .ok_or_else(|| anyhow::anyhow!("{} did not become ready", p.name))
    }

    /// The process named `name`.
    pub fn index_of(&self, name: &str) -> usize {
        self.processes
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| panic!("no process {name}"))
    }

    /// `kill -9` of `name`, then, after `down`, the same binary started again; ready again.
    pub async fn kill_and_restart(&mut self, name: &str, down: Duration) -> anyhow::Result<()> {
        let i = self.index_of(name);
        self.processes[i].kill();
        tokio::time::sleep(down).await;
        self.processes[i].start()?;
        self.wait_ready(i).await
    }

    /// Any process that exited without being killed: a crash.
    pub fn crashed(&mut self) -> Vec<String> {
        self.processes
            .iter_mut()
            .filter_map(|p| p.exited().map(|s| format!("{} exited: {s}", p.name)))
            .collect()
    }

    /// Waits until every process answers `/readyz` 200 (after a broker or database restart).
    pub async fn all_ready(&self) -> anyhow::Result<()> {
        for i in 0..self.processes.len() {
            self.wait_ready(i).await?;
        }
        Ok(())
    }

    /// Stops everything.
    pub fn stop(&mut self) {
        for p in self.processes.iter_mut().rev() {
            p.kill();
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Deletes the run's queues and exchanges.
pub async fn delete_namespace(prefix: &str) {
    let names = matterhook_bus::topology::Names::new(prefix);
    let Ok(broker) = lapin::Connection::connect(
        &matterhook_test_support::amqp_url(),
        lapin::ConnectionProperties::default(),
    )
    .await
    else {
        return;
    };
    matterhook_e2e::ingest::delete_namespace(&broker, &names, &matterhook_bus::topology::WORKERS)
        .await;
}
