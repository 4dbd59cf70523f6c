//! OAuth against the simulator: consent, code exchange, denial, reuse, refresh, revocation.

use clio_sim::SimConfig;
use matterhook_clio::{oauth::OAuthError, ClioError, Region};
use matterhook_e2e::{approve, query_value, World};
use secrecy::{ExposeSecret, SecretString};

#[tokio::test]
async fn the_consent_page_offers_allow_and_deny() {
    let w = World::start(SimConfig::default()).await;
    let authorize = w.oauth().authorize_url(Region::Us, "s1");
    assert_eq!(authorize.path(), "/oauth/authorize");
    let page = reqwest::get(authorize.as_str())
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains(">Allow<") && page.contains(">Deny<"),
        "{page}"
    );
    assert!(
        page.contains("Alice Hartley (Hartley &amp; Finch LLP)"),
        "users are listed, escaped"
    );
}

#[tokio::test]
async fn a_code_exchanges_once_for_tokens_that_work() {
    let w = World::start(SimConfig::default()).await;
    let oauth = w.oauth();
    let location = approve(
        &oauth.authorize_url(Region::Us, "s2"),
        w.firm.attorney_id,
        "allow",
    )
    .await;
    assert!(location.as_str().starts_with(matterhook_e2e::REDIRECT_URI));
    let code = query_value(&location, "code").expect("code");

    let tokens = oauth
        .exchange_code(Region::Us, &code)
        .await
        .expect("exchange");
    assert!(tokens.refresh_token.is_some());
    assert_eq!(
        tokens.expires_in,
        Some(std::time::Duration::from_secs(30 * 24 * 3600))
    );
    let me = w
        .client
        .api(Region::Us, tokens.access_token)
        .who_am_i()
        .await
        .expect("token works");
    assert_eq!(me.id, w.firm.attorney_id);

    let reused = oauth
        .exchange_code(Region::Us, &code)
        .await
        .expect_err("a code is single-use");
    assert!(
        matches!(reused, OAuthError::Rejected { ref error, .. } if error == "invalid_grant"),
        "{reused:?}"
    );
    assert!(reused.needs_reauthorization());
}

#[tokio::test]
async fn denial_comes_back_as_access_denied_with_the_state() {
    let w = World::start(SimConfig::default()).await;
    let location = approve(
        &w.oauth().authorize_url(Region::Us, "s3"),
        w.firm.attorney_id,
        "deny",
    )
    .await;
    assert_eq!(
        query_value(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_value(&location, "state").as_deref(), Some("s3"));
    assert_eq!(query_value(&location, "code"), None);
}

#[tokio::test]
async fn a_wrong_client_secret_is_invalid_client() {
    let w = World::start(SimConfig::default()).await;
    let location = approve(
        &w.oauth().authorize_url(Region::Us, "s4"),
        w.firm.attorney_id,
        "allow",
    )
    .await;
    let code = query_value(&location, "code").expect("code");
    let impostor = matterhook_clio::oauth::OAuthApp::new(
        w.sim.config().client_id,
        SecretString::from("wrong".to_owned()),
        url::Url::parse(matterhook_e2e::REDIRECT_URI).expect("url"),
        w.client.endpoints().clone(),
        w.client.http().clone(),
    );
    let err = impostor
        .exchange_code(Region::Us, &code)
        .await
        .expect_err("bad secret");
    assert!(
        matches!(err, OAuthError::Rejected { ref error, .. } if error == "invalid_client"),
        "{err:?}"
    );
}

#[tokio::test]
async fn refresh_tokens_are_reusable_and_may_come_back_absent() {
    let w = World::start(SimConfig {
        omit_refresh_token_on_refresh: true,
        ..SimConfig::default()
    })
    .await;
    let tokens = w.connect(w.firm.attorney_id).await;
    let refresh = tokens.refresh_token.expect("first grant has one");
    let first = w
        .oauth()
        .refresh(Region::Us, &refresh)
        .await
        .expect("refresh");
    assert!(
        first.refresh_token.is_none(),
        "Clio may omit it: the caller keeps the old one"
    );
    let second = w
        .oauth()
        .refresh(Region::Us, &refresh)
        .await
        .expect("the same refresh token works again");
    assert_ne!(
        first.access_token.expose_secret(),
        second.access_token.expose_secret()
    );
    w.client
        .api(Region::Us, second.access_token)
        .who_am_i()
        .await
        .expect("new token works");
}

#[tokio::test]
async fn revoking_kills_the_access_and_the_refresh_token() {
    let w = World::start(SimConfig::default()).await;
    let tokens = w.connect(w.firm.attorney_id).await;
    let api = w.client.api(Region::Us, tokens.access_token.clone());
    api.who_am_i().await.expect("works before");

    w.oauth()
        .revoke(Region::Us, &tokens.access_token)
        .await
        .expect("revoke");
    let err = api.who_am_i().await.expect_err("revoked");
    assert!(matches!(err, ClioError::Unauthorized { .. }), "{err:?}");
    let refresh = w
        .oauth()
        .refresh(Region::Us, &tokens.refresh_token.expect("refresh"))
        .await
        .expect_err("grant is gone");
    assert!(refresh.needs_reauthorization(), "{refresh:?}");
    let again = w
        .oauth()
        .revoke(Region::Us, &tokens.access_token)
        .await
        .expect_err("already revoked");
    assert!(
        matches!(again, OAuthError::Rejected { ref error, .. } if error == "invalid_token"),
        "{again:?}"
    );
}
