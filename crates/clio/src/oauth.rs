//! OAuth 2.0 with Clio: the authorization-code grant, refresh, and revocation.
//!
//! Built on the `oauth2` crate. Clio reads client credentials from the form body, answers
//! `token_type: "bearer"`, may omit a new refresh token on refresh (keep the old one), and revokes
//! with a non-standard `POST /oauth/deauthorize` that wants the token both in the form and as bearer.

use std::time::Duration;

use oauth2::{
    basic::BasicClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    RedirectUrl, RefreshToken, RequestTokenError, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{Endpoints, Region};

/// Our Clio app's credentials and callback.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    client_id: String,
    client_secret: SecretString,
    redirect_uri: Url,
    endpoints: Endpoints,
    http: reqwest::Client,
}

/// What a successful grant returns.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// The bearer token for API calls.
    pub access_token: SecretString,
    /// A new refresh token, when Clio sent one.
    pub refresh_token: Option<SecretString>,
    /// Lifetime of the access token, as Clio stated it.
    pub expires_in: Option<Duration>,
}

/// A failed OAuth call.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// Clio refused: `invalid_grant` (code used, expired, or refresh token revoked),
    /// `invalid_client`, ...
    #[error("Clio refused the grant: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// The OAuth error code.
        error: String,
        /// Clio's explanation.
        description: Option<String>,
    },
    /// Clio could not be reached.
    #[error("could not reach Clio's OAuth endpoint")]
    Network(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Clio's OAuth endpoint failed (5xx).
    #[error("Clio's OAuth endpoint answered {0}")]
    Server(u16),
    /// An answer we cannot read.
    #[error("unexpected answer from Clio's OAuth endpoint: {what}")]
    Unexpected {
        /// What was wrong.
        what: String,
        /// The cause, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl OAuthError {
    /// Whether trying again later may succeed: Clio unreachable, or an answer that is not an OAuth
    /// answer at all (what an outage page or a 5xx from a proxy looks like), as opposed to a
    /// refusal.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            OAuthError::Network(_) | OAuthError::Server(_) | OAuthError::Unexpected { .. }
        )
    }

    /// Whether the grant itself is dead (the user must connect again), as opposed to a passing fault.
    pub fn needs_reauthorization(&self) -> bool {
        matches!(self, OAuthError::Rejected { error, .. } if error == "invalid_grant" || error == "invalid_token" || error == "unauthorized_client")
    }
}

impl OAuthApp {
    /// An app with these credentials, whose callback is `redirect_uri`.
    pub fn new(
        client_id: String,
        client_secret: SecretString,
        redirect_uri: Url,
        endpoints: Endpoints,
        http: reqwest::Client,
    ) -> Self {
        Self {
            client_id,
            client_secret,
            redirect_uri,
            endpoints,
            http,
        }
    }

    fn client(
        &self,
        region: Region,
    ) -> oauth2::Client<
        oauth2::basic::BasicErrorResponse,
        oauth2::basic::BasicTokenResponse,
        oauth2::basic::BasicTokenIntrospectionResponse,
        oauth2::StandardRevocableToken,
        oauth2::basic::BasicRevocationErrorResponse,
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    > {
        BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                self.client_secret.expose_secret().to_owned(),
            ))
            .set_auth_uri(AuthUrl::from_url(self.endpoints.authorize_url(region)))
            .set_token_uri(TokenUrl::from_url(self.endpoints.token_url(region)))
            .set_redirect_uri(RedirectUrl::from_url(self.redirect_uri.clone()))
            .set_auth_type(AuthType::RequestBody)
    }

    /// Our callback, as registered with the Clio app: the API's public address.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// The URL to send the user to. A refusal comes back to the callback as `error=access_denied`.
    pub fn authorize_url(&self, region: Region, state: &str) -> Url {
        let state = state.to_owned();
        let (url, _) = self
            .client(region)
            .authorize_url(move || CsrfToken::new(state))
            .add_extra_param("redirect_on_decline", "true")
            .url();
        url
    }

    /// Exchanges an authorization code for tokens.
    pub async fn exchange_code(&self, region: Region, code: &str) -> Result<TokenSet, OAuthError> {
        let answer = self
            .client(region)
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .request_async(&self.http)
            .await;
        token_set(answer)
    }

    /// Gets a fresh access token. Clio's refresh tokens do not expire and may be reused.
    pub async fn refresh(
        &self,
        region: Region,
        refresh_token: &SecretString,
    ) -> Result<TokenSet, OAuthError> {
        let token = RefreshToken::new(refresh_token.expose_secret().to_owned());
        let answer = self
            .client(region)
            .exchange_refresh_token(&token)
            .request_async(&self.http)
            .await;
        token_set(answer)
    }

    /// Revokes the grant behind `access_token` (`POST /oauth/deauthorize`).
    pub async fn revoke(
        &self,
        region: Region,
        access_token: &SecretString,
    ) -> Result<(), OAuthError> {
        let token = access_token.expose_secret();
        let response = self
            .http
            .post(self.endpoints.deauthorize_url(region))
            .bearer_auth(token)
            .form(&[("token", token)])
            .send()
            .await
            .map_err(|e| OAuthError::Network(Box::new(e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if status.is_server_error() {
            return Err(OAuthError::Server(status.as_u16()));
        }
        Err(OAuthError::Rejected {
            error: body["error"].as_str().unwrap_or("unknown").to_owned(),
            description: body["error_description"].as_str().map(str::to_owned),
        })
    }
}

type TokenAnswer = Result<
    oauth2::basic::BasicTokenResponse,
    RequestTokenError<oauth2::HttpClientError<reqwest::Error>, oauth2::basic::BasicErrorResponse>,
>;

fn token_set(answer: TokenAnswer) -> Result<TokenSet, OAuthError> {
    match answer {
        Ok(t) => Ok(TokenSet {
            access_token: SecretString::from(t.access_token().secret().to_owned()),
            refresh_token: t
                .refresh_token()
                .map(|r| SecretString::from(r.secret().to_owned())),
            expires_in: t.expires_in(),
        }),
        Err(RequestTokenError::ServerResponse(e)) => Err(OAuthError::Rejected {
            error: e.error().as_ref().to_owned(),
            description: e.error_description().cloned(),
        }),
        Err(RequestTokenError::Request(e)) => Err(OAuthError::Network(Box::new(e))),
        Err(RequestTokenError::Parse(e, _)) => Err(OAuthError::Unexpected {
            what: "a token answer that does not parse".into(),
            source: Some(Box::new(e)),
        }),
        Err(RequestTokenError::Other(what)) => Err(OAuthError::Unexpected { what, source: None }),
    }
}
