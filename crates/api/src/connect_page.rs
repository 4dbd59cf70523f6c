//! Where a person's connect flow ends: a small page that tells the app's window and closes the
//! popup, or a redirect to the app with the outcome. API clients (no `text/html` in `Accept`)
//! keep the JSON answer.

use actix_web::{
    cookie::{time::Duration as CookieAge, Cookie, SameSite},
    http::{header, StatusCode},
    HttpRequest, HttpResponse,
};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Serialize;
use url::Url;

/// The cookie that binds a connect's OAuth state to the browser that started it.
pub(crate) const CONNECT_COOKIE: &str = "matterhook_connect";

/// How long the browser keeps it: the state's own lifetime.
const COOKIE_AGE: CookieAge = CookieAge::minutes(10);

/// Where the connect flow ends, as configured (`MATTERHOOK_APP_ORIGIN`,
/// `MATTERHOOK_APP_RETURN_URL`), and where the callback lives (the cookie's path).
#[derive(Debug, Clone)]
pub struct AppLink {
    /// The app's origin: the only one the page posts the outcome to.
    pub origin: Option<String>,
    /// Send the browser back here instead of showing the page.
    pub return_url: Option<Url>,
    /// The callback's path, as registered with Clio (the cookie is sent there only).
    pub callback_path: String,
    /// Whether the callback is served over HTTPS (the cookie is then `Secure`).
    pub secure: bool,
}

impl AppLink {
    /// From the configuration and the callback URL registered with Clio.
    pub fn new(app: &matterhook_config::AppArgs, redirect_uri: &Url) -> Self {
        Self {
            origin: app.app_origin.clone(),
            return_url: app.app_return_url.clone(),
            callback_path: redirect_uri.path().to_owned(),
            secure: redirect_uri.scheme() == "https",
        }
    }

    /// The cookie `/connect/clio` sets.
    pub(crate) fn cookie(&self, browser_state: String) -> Cookie<'static> {
        Cookie::build(CONNECT_COOKIE, browser_state)
            .path(self.callback_path.clone())
            .http_only(true)
            // Lax: sent on the top-level redirect back from Clio, not on cross-site requests.
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(COOKIE_AGE)
            .finish()
    }

    /// The same cookie, expired: the callback is the end of it, whatever the outcome.
    pub(crate) fn removal(&self) -> Cookie<'static> {
        let mut cookie = self.cookie(String::new());
        cookie.make_removal();
        cookie
    }
}

impl Default for AppLink {
    fn default() -> Self {
        Self {
            origin: None,
            return_url: None,
            callback_path: "/oauth/clio/callback".into(),
            secure: false,
        }
    }
}

/// What the flow came to, as the app and the person see it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// Connected (or reconnected).
    Connected {
        /// The connection.
        connection_id: i64,
        /// The firm.
        account_name: String,
        /// Whether it was a reconnect.
        resumed: bool,
    },
    /// Nothing was connected.
    Failed {
        /// A stable code (`access_denied`, `state_expired`, ...).
        reason: &'static str,
        /// For people.
        message: String,
    },
}

/// Whether the caller is a browser that asked for a page.
pub(crate) fn wants_page(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The answer a browser gets: a redirect to the app when one is configured, else the page.
pub(crate) fn respond(app: &AppLink, status: StatusCode, outcome: &Outcome) -> HttpResponse {
    if let Some(url) = &app.return_url {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, return_to(url, outcome).as_str()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish();
    }
    let nonce = matterhook_crypto::random_token(16);
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Only this page's own script runs; nothing loads from anywhere.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; \
                 base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            ),
        ))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(page(app.origin.as_deref(), outcome, &nonce).into_string())
}

/// `url` with the outcome added to its query.
fn return_to(url: &Url, outcome: &Outcome) -> Url {
    let mut url = url.clone();
    {
        let mut query = url.query_pairs_mut();
        match outcome {
            Outcome::Connected { connection_id, .. } => {
                query.append_pair("connect", "connected");
                query.append_pair("connection_id", &connection_id.to_string());
            }
            Outcome::Failed { reason, .. } => {
                query.append_pair("connect", "failed");
                query.append_pair("reason", reason);
            }
        }
    }
    url
}

/// What a person reads, for each outcome.
fn wording(outcome: &Outcome) -> (String, String) {
    match outcome {
        Outcome::Connected {
            account_name,
            resumed,
            ..
        } => (
            if *resumed {
                format!("{account_name} is connected again")
            } else {
                format!("{account_name} is connected")
            },
            "matterhook now keeps your Clio data in step. You can close this window.".into(),
        ),
        Outcome::Failed { reason, message } => ("Clio was not connected".into(), {
            let advice = match *reason {
                "access_denied" => "You declined access on Clio's page, so nothing was connected.",
                "state_expired" => {
                    "This connect link expired (it lasts 10 minutes). Start again from the app."
                }
                "state_used" => "This connect link was already used. Start again from the app.",
                "unknown_state" | "missing_state" => {
                    "This link did not come from matterhook. Start again from the app."
                }
                "other_browser" => {
                    "This connect was started in another browser. Start again in this one."
                }
                "clio_unavailable" => "Clio could not be reached. Try again in a minute.",
                _ => "",
            };
            if advice.is_empty() {
                format!("{message}. Start again from the app.")
            } else {
                advice.to_owned()
            }
        }),
    }
}

fn page(origin: Option<&str>, outcome: &Outcome, nonce: &str) -> Markup {
    let (title, detail) = wording(outcome);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2933}" }
            }
            body {
                h1 { (title) }
                p { (detail) }
                @if let Some(origin) = origin {
                    script nonce=(nonce) { (PreEscaped(notify_opener(origin, outcome))) }
                }
            }
        }
    }
}

/// The script that tells the opener (the app, at `origin` only) and closes the popup.
fn notify_opener(origin: &str, outcome: &Outcome) -> String {
    let message = serde_json::json!({"type": "matterhook:clio-connect", "result": outcome});
    format!(
        "if (window.opener) {{ window.opener.postMessage({}, {}); window.close(); }}",
        script_json(&message),
        script_json(&serde_json::Value::String(origin.to_owned()))
    )
}

/// JSON safe inside a `<script>` element: nothing in it can end the element or open a comment.
fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(message: &str) -> Outcome {
        Outcome::Failed {
            reason: "clio_refused",
            message: message.into(),
        }
    }

    #[test]
    fn the_page_posts_to_the_app_origin_only() {
        let page = page(
            Some("https://app.example.com"),
            &Outcome::Connected {
                connection_id: 7,
                account_name: "Hartley & Finch".into(),
                resumed: false,
            },
            "n",
        )
        .into_string();
        assert!(page.contains(r#"postMessage({"result":{"account_name":"Hartley \u0026 Finch","connection_id":7,"outcome":"connected","resumed":false},"type":"matterhook:clio-connect"}, "https://app.example.com")"#), "{page}");
        assert!(!page.contains("'*'") && !page.contains("\"*\""));
        assert!(
            page.contains("<h1>Hartley &amp; Finch is connected</h1>"),
            "{page}"
        );
    }

    #[test]
    fn without_an_app_origin_the_page_posts_nothing() {
        let page = page(None, &failed("x"), "n").into_string();
        assert!(!page.contains("postMessage"), "{page}");
    }

    #[test]
    fn clio_text_cannot_break_out_of_the_page() {
        let evil = "</script><script>alert(1)</script>";
        let page = page(Some("https://app.example.com"), &failed(evil), "n").into_string();
        assert!(!page.contains("<script>alert"), "{page}");
        assert_eq!(page.matches("</script>").count(), 1, "{page}");
    }

    #[test]
    fn the_return_url_carries_the_outcome() {
        let base = Url::parse("https://app.example.com/settings?tab=clio").expect("url");
        let to = return_to(&base, &failed("x"));
        assert_eq!(
            to.as_str(),
            "https://app.example.com/settings?tab=clio&connect=failed&reason=clio_refused"
        );
    }
}
