//! The HTTP side: one pooled client, pacing, and classifying Clio's answers.

use std::{sync::Arc, time::Duration};

use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use url::Url;

use crate::{
    pacing::{Pacer, RateInfo, TokenKey},
    Api, ClioError, Endpoints, Region, API_VERSION,
};

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where Clio (or the simulator) lives.
    pub endpoints: Endpoints,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The longest a call waits for its token's rate window before failing with
    /// [`ClioError::RateLimited`] instead.
    pub max_pacing_wait: Duration,
    /// Told of every call's outcome and pacing wait (a service's metrics); none by default.
    pub observer: Option<Arc<dyn CallObserver>>,
}

/// Watches the client's calls, for metrics. Called inline on every call: keep it cheap.
pub trait CallObserver: Send + Sync + std::fmt::Debug {
    /// A call waited this long for its token's rate window (zero when it did not wait).
    fn paced(&self, waited: Duration);
    /// Clio answered with this HTTP status.
    fn answered(&self, status: u16);
    /// The call got no answer (connection refused, reset, timed out).
    fn unanswered(&self);
}

impl ClientConfig {
    /// Defaults: 30 s timeout, wait up to 2 minutes for a rate window.
    pub fn new(base: Url) -> Self {
        Self {
            endpoints: Endpoints::new(base),
            timeout: Duration::from_secs(30),
            max_pacing_wait: Duration::from_secs(120),
            observer: None,
        }
    }
}

/// One per process: the connection pool and every token's rate budget. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClioClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    pacer: Pacer,
}

/// The answer to a conditional GET.
#[derive(Debug, Clone, PartialEq)]
pub enum Conditional<T> {
    /// The record changed (or no etag was sent).
    Modified {
        /// The record.
        value: T,
        /// Its `ETag` header.
        etag: Option<String>,
    },
    /// 304: the etag sent is still current.
    NotModified,
}

impl ClioClient {
    /// Builds the client.
    pub fn new(config: ClientConfig) -> Result<Self, ClioError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10))
            // Never follow a redirect with a bearer token attached.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("matterhook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClioError::unexpected_because("cannot build the HTTP client", e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                pacer: Pacer::default(),
            }),
        })
    }

    /// The endpoints this client talks to.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.config.endpoints
    }

    /// The underlying HTTP client (shared with OAuth calls).
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The REST API of one region, as the holder of `access_token`.
    pub fn api(&self, region: Region, access_token: SecretString) -> Api {
        Api::new(
            self.clone(),
            self.endpoints().api_base(region),
            access_token,
        )
    }

    /// Sends a request paced for `token`, and classifies the answer: 2xx and 304 come back as the
    /// response, anything else as the matching [`ClioError`].
    pub(crate) async fn send(
        &self,
        token: &SecretString,
        request: RequestBuilder,
    ) -> Result<Response, ClioError> {
        let observer = self.inner.config.observer.as_deref();
        let asked = std::time::Instant::now();
        let permit = self
            .inner
            .pacer
            .acquire(token_key(token), self.inner.config.max_pacing_wait)
            .await
            .map_err(|retry_after| ClioError::RateLimited { retry_after })?;
        if let Some(o) = observer {
            o.paced(asked.elapsed());
        }
        let response = request
            .bearer_auth(token.expose_secret())
            .header("X-API-VERSION", API_VERSION)
            .send()
            .await
            .map_err(|e| {
                if let Some(o) = observer {
                    o.unanswered();
                }
                ClioError::Network(e)
            })?;
        let status = response.status();
        if let Some(o) = observer {
            o.answered(status.as_u16());
        }
        let info = RateInfo::from_headers(response.headers());
        permit.finish(&info, status == StatusCode::TOO_MANY_REQUESTS);
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        Err(classify(status, info, response).await)
    }

    /// The request builder for `method` on `url`.
    pub(crate) fn request(&self, method: reqwest::Method, url: Url) -> RequestBuilder {
        self.inner.http.request(method, url)
    }
}

fn token_key(token: &SecretString) -> TokenKey {
    Sha256::digest(token.expose_secret().as_bytes()).into()
}

async fn classify(status: StatusCode, info: RateInfo, response: Response) -> ClioError {
    let body = response.bytes().await.unwrap_or_default();
    let (kind, message) = error_body(&body);
    match status.as_u16() {
        401 => ClioError::Unauthorized { code: kind },
        403 => ClioError::Forbidden { message },
        404 => ClioError::NotFound,
        412 => ClioError::PreconditionFailed,
        429 => ClioError::RateLimited {
            retry_after: info
                .retry_after
                .or(info.reset_in)
                .unwrap_or(Duration::from_secs(60)),
        },
        s if s >= 500 => ClioError::Server { status: s },
        s => ClioError::Rejected {
            status: s,
            kind,
            message,
        },
    }
}

/// Reads either of Clio's error shapes: `{"error":{"type","message"}}` for the API, and
/// `{"error":"invalid_token","error_description":...}` for OAuth.
fn error_body(body: &[u8]) -> (String, String) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (
            String::new(),
            String::from_utf8_lossy(body).chars().take(200).collect(),
        );
    };
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    match value.get("error") {
        Some(serde_json::Value::Object(e)) => (
            e.get("type").map(text).unwrap_or_default(),
            e.get("message").map(text).unwrap_or_default(),
        ),
        Some(code @ serde_json::Value::String(_)) => (
            text(code),
            value.get("error_description").map(text).unwrap_or_default(),
        ),
        _ => (String::new(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::error_body;

    #[test]
    fn reads_both_error_shapes() {
        let api = br#"{"error":{"type":"ArgumentError","message":"bad field"}}"#;
        assert_eq!(
            error_body(api),
            ("ArgumentError".into(), "bad field".into())
        );
        let oauth = br#"{"error":"invalid_token","error_description":"expired"}"#;
        assert_eq!(
            error_body(oauth),
            ("invalid_token".into(), "expired".into())
        );
        assert_eq!(error_body(b"oops").1, "oops");
    }
}
