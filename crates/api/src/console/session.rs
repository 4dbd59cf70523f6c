//! Signing in to the console: an admin's API token, exchanged once for a session cookie.
//!
//! - The cookie (`matterhook_console`) is `HttpOnly` (no script reads it), `SameSite=Strict`
//!   (no other site's page sends it), scoped to `/console`, `Secure` when the API is served over
//!   HTTPS, and ends after [`SESSION_HOURS`]. The database keeps only its SHA-256.
//! - Every action is a POST carrying the session's CSRF token ([`Action`] checks it before any
//!   handler runs), and is refused when its `Origin` names another site.
//! - The login form itself carries a token bound to a short-lived cookie (double submit), so no
//!   other site can sign a browser in to an account of its choosing.

use actix_web::{
    cookie::{time::Duration as CookieAge, Cookie, SameSite},
    dev::Payload,
    http::{header, Method},
    web, FromRequest, HttpRequest, HttpResponse,
};
use chrono::Utc;
use matterhook_crypto::{hash_token, random_token};
use matterhook_store::{console_sessions, users};
use maud::html;

use super::{error::ConsoleError, form::Fields, layout};
use crate::Deps;

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "matterhook_console";
/// The login form's own cookie (double submit).
const LOGIN_COOKIE: &str = "matterhook_console_login";
/// How long a session lasts from sign-in.
pub(crate) const SESSION_HOURS: i64 = 8;

/// The signed-in admin behind a console request.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleAdmin {
    /// Their email: the actor recorded on what they do.
    pub email: String,
    /// The token their forms must carry.
    pub csrf: String,
    token_hash: String,
}

fn session_hash(token: &str) -> String {
    hex::encode(hash_token(token))
}

/// Compares in time independent of where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl FromRequest for ConsoleAdmin {
    type Error = ConsoleError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let page = req.method() == Method::GET;
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let deps = req.app_data::<web::Data<Deps>>().cloned();
        Box::pin(async move {
            let (Some(token), Some(deps)) = (token, deps) else {
                return Err(ConsoleError::SignIn { page });
            };
            let token_hash = session_hash(&token);
            let mut conn = deps.pool.get().await?;
            let session = console_sessions::find(&mut conn, &token_hash, Utc::now())
                .await?
                .ok_or(ConsoleError::SignIn { page })?;
            if !session.is_admin {
                return Err(ConsoleError::Forbidden(
                    "this account is no longer an admin",
                ));
            }
            Ok(ConsoleAdmin {
                email: session.email,
                csrf: session.csrf_token,
                token_hash,
            })
        })
    }
}

/// Whether the request's `Origin`, when it has one, is this server (browsers send it on every
/// POST; a form on another site names that site).
fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = req.connection_info().host().to_owned();
    url::Url::parse(origin)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            })
        })
        .is_some_and(|o| o == host)
}

/// A console action: a signed-in admin's POSTed form whose CSRF token is their session's and
/// whose origin is this server. Handlers that change anything take this, so none can forget it.
pub(crate) struct Action {
    /// Who.
    pub admin: ConsoleAdmin,
    /// The form's fields.
    pub form: Fields,
}

impl FromRequest for Action {
    type Error = ConsoleError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let admin = ConsoleAdmin::from_request(req, payload);
        let body = web::Bytes::from_request(req, payload);
        let same_origin = same_origin(req);
        Box::pin(async move {
            let admin = admin.await?;
            let body = body.await.map_err(|e| {
                ConsoleError::BadRequest(format!("the form could not be read: {e}"))
            })?;
            let form = Fields::parse(&body);
            let sent = form.one("csrf").unwrap_or_default();
            if !same_origin || !same(sent, &admin.csrf) {
                return Err(ConsoleError::Forbidden(
                    "this form is not from your console session (reload the page and try again)",
                ));
            }
            Ok(Action { admin, form })
        })
    }
}

/// The session cookie, as set at sign-in or (with an empty value) removed at sign-out.
fn session_cookie(deps: &Deps, value: String, age: CookieAge) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(deps.app.secure)
        .max_age(age)
        .finish()
}

fn login_page(deps: &Deps, problem: Option<&str>) -> HttpResponse {
    let nonce = random_token(24);
    let cookie = Cookie::build(LOGIN_COOKIE, nonce.clone())
        .path(super::LOGIN_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(deps.app.secure)
        .max_age(CookieAge::minutes(30))
        .finish();
    let body = layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in to the support console" }
            @if let Some(problem) = problem { p.error { (problem) } }
            form method="post" action=(super::LOGIN_PATH) {
                input type="hidden" name="login_csrf" value=(nonce);
                p {
                    label for="token" { "Admin API token" } br;
                    input #token type="password" name="token" size="60" autocomplete="off" required;
                }
                p.muted { "The token "  code { "matterhook users add --admin" } " printed. The session lasts "
                    (SESSION_HOURS) " hours." }
                button.primary type="submit" { "Sign in" }
            }
        },
    );
    let status = if problem.is_some() {
        actix_web::http::StatusCode::UNAUTHORIZED
    } else {
        actix_web::http::StatusCode::OK
    };
    HttpResponse::build(status)
        .cookie(cookie)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// `GET /console/login`.
pub(crate) async fn login_form(deps: web::Data<Deps>) -> HttpResponse {
    login_page(&deps, None)
}

/// `POST /console/login`: an admin's token for a session.
pub(crate) async fn login(
    req: HttpRequest,
    deps: web::Data<Deps>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form = Fields::parse(&body);
    let nonce = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_owned());
    let sent = form.one("login_csrf").unwrap_or_default();
    if !same_origin(&req) || nonce.is_none_or(|n| !same(&n, sent)) {
        return Err(ConsoleError::Forbidden(
            "this sign-in form is not from this console (reload the page and try again)",
        ));
    }
    let token = form.one("token").unwrap_or_default().trim();
    let mut conn = deps.pool.get().await?;
    let user = if token.is_empty() {
        None
    } else {
        users::by_token_hash(&mut conn, &hash_token(token)).await?
    };
    let Some(user) = user.filter(|u| u.is_admin) else {
        tracing::info!("console sign-in refused");
        return Ok(login_page(&deps, Some("That token is not an admin's.")));
    };
    let now = Utc::now();
    console_sessions::purge_ended(&mut conn, now).await?;
    let session = random_token(32);
    console_sessions::open(
        &mut conn,
        &session_hash(&session),
        user.id,
        &random_token(32),
        now + chrono::Duration::hours(SESSION_HOURS),
    )
    .await?;
    tracing::info!(user = user.id, "console session opened");
    let mut login_cookie = Cookie::build(LOGIN_COOKIE, "")
        .path(super::LOGIN_PATH)
        .finish();
    login_cookie.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(session_cookie(
            &deps,
            session,
            CookieAge::hours(SESSION_HOURS),
        ))
        .cookie(login_cookie)
        .insert_header((header::LOCATION, super::HOME_PATH))
        .finish())
}

/// `POST /console/logout`.
pub(crate) async fn logout(
    action: Action,
    deps: web::Data<Deps>,
) -> Result<HttpResponse, ConsoleError> {
    let mut conn = deps.pool.get().await?;
    console_sessions::close(&mut conn, &action.admin.token_hash).await?;
    let mut cookie = session_cookie(&deps, String::new(), CookieAge::ZERO);
    cookie.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, super::LOGIN_PATH))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }
}
