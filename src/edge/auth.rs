//! Who is calling: an API key naming a registered connection, or a maker's own Entra token (bearer
//! pass-through). Then the connection's quota: over it, the call ends here and Partner Center never sees it.
//! Every call that gets this far is answered with the quota's `RateLimit-Policy` and `RateLimit` headers.

pub mod bearer;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;

use crate::connections::X_API_KEY;
use crate::error::AppError;
use crate::gateway::{CallerConnection, Gateway};
use crate::quota::QuotaState;
use crate::tokens::AccessToken;

static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

pub async fn authenticate(
    State(gateway): State<Gateway>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match identify(&gateway, request.headers()).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    let quota = match gateway.quotas.admit(caller.id()) {
        Ok(state) => state,
        Err(refused) => {
            tracing::info!(connection = %caller.id(), retry_after = refused.retry_after_secs, "over quota");
            let mut response = AppError::QuotaExceeded {
                retry_after_secs: refused.retry_after_secs,
            }
            .into_response();
            describe_quota(response.headers_mut(), &refused.state);
            return response;
        }
    };
    request.extensions_mut().insert(Arc::new(caller));
    let mut response = next.run(request).await;
    describe_quota(response.headers_mut(), &quota);
    response
}

fn describe_quota(headers: &mut HeaderMap, state: &QuotaState) {
    headers.insert(RATELIMIT_POLICY.clone(), state.policy.clone());
    headers.insert(RATELIMIT.clone(), state.header());
}

/// `X-API-Key` wins when both are sent: a connection the administrator registered is the more specific claim.
async fn identify(gateway: &Gateway, headers: &HeaderMap) -> Result<CallerConnection, AppError> {
    if let Some(key) = headers.get(&X_API_KEY) {
        return match gateway.registry.by_api_key(key.as_bytes()) {
            Some(connection) => Ok(CallerConnection::Registered(Arc::clone(connection))),
            None => Err(AppError::Unauthorized(
                "The X-API-Key is not the key of any connection.".into(),
            )),
        };
    }
    let Some(authorization) = headers.get(header::AUTHORIZATION) else {
        return Err(AppError::Unauthorized(
            "Send the connection's API key in X-API-Key, or your Entra token for Partner Center in Authorization: Bearer."
                .into(),
        ));
    };
    let token = bearer_token(authorization).ok_or_else(|| {
        AppError::Unauthorized("The Authorization header must be \"Bearer <token>\".".into())
    })?;
    match gateway.bearer.validate(token).await {
        Ok(validated) => Ok(CallerConnection::PassThrough {
            id: validated.connection,
            token: AccessToken::forwarded(SecretString::from(token)),
        }),
        Err(bearer::BearerError::Invalid(message)) => Err(AppError::Unauthorized(message.into())),
        Err(bearer::BearerError::KeysUnavailable(cause)) => Err(AppError::KeysUnavailable(cause)),
    }
}

fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
