//! Who is calling: an API key naming a registered connection, or a maker's own Entra token (bearer
//! pass-through). Then the connection's quota: over it, the call ends here and Partner Center never sees it.
//! Every call that gets this far is answered with the quota's `RateLimit-Policy` and `RateLimit` headers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;

use super::Gateway;
use crate::connection::bearer::BearerError;
use crate::connection::{AccessToken, CallerConnection, X_API_KEY};
use crate::error::AppError;
use crate::quota::QuotaState;

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
    crate::call_record::note(|r| r.connection = Some(caller.id().to_string()));
    let quota = match gateway.quotas.admit(caller.id()) {
        Ok(state) => state,
        Err(refused) => {
            // No line of its own: the call's line says it, at DEBUG (see `edge::call_log`), since a client
            // that ignores Retry-After can be refused thousands of times a second.
            crate::call_record::note(|r| r.over_quota = true);
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

/// `RateLimit-Policy` and `RateLimit` as in the IETF httpapi ratelimit-headers draft.
fn describe_quota(headers: &mut HeaderMap, state: &QuotaState) {
    let value = |text: String| {
        HeaderValue::try_from(text).expect("digits and ASCII make a valid header value")
    };
    headers.insert(
        RATELIMIT_POLICY.clone(),
        value(format!(
            "\"connection\";q={};w={}",
            state.limit.calls().get(),
            state.limit.period_secs().get()
        )),
    );
    headers.insert(
        RATELIMIT.clone(),
        value(format!(
            "\"connection\";r={};t={}",
            state.remaining, state.reset_secs
        )),
    );
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
        Err(BearerError::Invalid(message)) => Err(AppError::Unauthorized(message.into())),
        Err(BearerError::KeysUnavailable(cause)) => Err(AppError::KeysUnavailable(cause)),
    }
}

fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use std::num::{NonZeroU32, NonZeroU64};

    use super::*;
    use crate::quota::QuotaLimit;

    #[test]
    fn quota_headers_carry_the_policy_and_the_state() {
        let mut headers = HeaderMap::new();
        let state = QuotaState {
            limit: QuotaLimit::new(
                NonZeroU32::new(100).unwrap(),
                NonZeroU64::new(60).unwrap(),
                false,
            )
            .unwrap(),
            remaining: 0,
            reset_secs: 20,
        };
        describe_quota(&mut headers, &state);
        assert_eq!(headers["ratelimit-policy"], "\"connection\";q=100;w=60");
        assert_eq!(headers["ratelimit"], "\"connection\";r=0;t=20");
    }
}
