//! A headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`, which
//! `deploy/local/ensure-services.sh --browser` installs), for the support console's browser tests.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator};

/// A chromedriver of this test's own, and a browser session on it. Dropping it ends both.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Where screenshots go: `target/console/`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("console")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn start() -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver (deploy/local/ensure-services.sh --browser installs chromium-driver)",
            );
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,1000"],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen: try until it answers (bounded).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!(error = %e, "chromedriver not ready yet");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no browser session: {e}"),
            }
        };
        Self { client, driver }
    }

    /// Saves the page as `target/console/{name}.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
    }

    /// The text of the element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        let path = self.path().await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} on {path}: {e}"))
            .text()
            .await
            .expect("text")
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// Types `text` into the field `css` selects, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// How many elements `css` selects.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find")
            .len()
    }

    /// The page's path and query.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the page is `path` (with its query, when it has one): a click that submits a
    /// form returns before the browser has followed the answer.
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = tokio::time::Instant::now() + crate::PATIENCE;
        loop {
            let now_at = self.path().await;
            if now_at == path {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still on {now_at}, not {path}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the page's path and query contain `part`.
    pub async fn wait_for_path_containing(&self, part: &str) {
        let deadline = tokio::time::Instant::now() + crate::PATIENCE;
        loop {
            let now_at = self.path().await;
            if now_at.contains(part) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still on {now_at}, which lacks {part}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The value of the named cookie.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.client
            .get_named_cookie(name)
            .await
            .ok()
            .map(|c| c.value().to_owned())
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Signs `http` (a client with a cookie store and no redirects followed) in to the console at
/// `api` with an admin's `token`, as the login form would.
pub async fn sign_in(http: &reqwest::Client, api: &str, token: &str) {
    let login = http
        .get(format!("{api}/console/login"))
        .send()
        .await
        .expect("login page");
    let nonce = login
        .cookies()
        .find(|c| c.name() == "matterhook_console_login")
        .expect("login cookie")
        .value()
        .to_owned();
    let signed_in = http
        .post(format!("{api}/console/login"))
        .form(&[("login_csrf", nonce.as_str()), ("token", token)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 303, "signed in");
}
