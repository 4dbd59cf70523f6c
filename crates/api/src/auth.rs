//! Bearer tokens.

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use matterhook_store::users;

use crate::{error::ApiError, Deps};

use matterhook_crypto::hash_token;

/// The request's `Authorization: Bearer` token, trimmed.
pub(crate) fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Their user id.
    pub id: i64,
    /// Their email (recorded as the actor of what they do).
    pub email: String,
    /// May use `/admin`.
    pub is_admin: bool,
}

/// An authenticated admin.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).map(str::to_owned);
        let deps = req.app_data::<web::Data<Deps>>().cloned();
        Box::pin(async move {
            let (Some(token), Some(deps)) = (token, deps) else {
                return Err(ApiError::Unauthorized);
            };
            let mut conn = deps.pool.get().await?;
            let user = users::by_token_hash(&mut conn, &hash_token(&token))
                .await?
                .ok_or(ApiError::Unauthorized)?;
            Ok(Caller {
                id: user.id,
                email: user.email,
                is_admin: user.is_admin,
            })
        })
    }
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            if caller.is_admin {
                Ok(Admin(caller))
            } else {
                Err(ApiError::Forbidden)
            }
        })
    }
}
