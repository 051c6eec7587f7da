//! Who is calling: an API key naming a registered connection, or a maker's own Entra token (bearer
//! pass-through). Then the connection's quota: over it, the call ends here and Partner Center never sees it.
//! Every call that gets this far is answered with the quota's `RateLimit-Policy` and `RateLimit` headers.
//!
//! Both steps read one snapshot of the live configuration (see [`super::live`]), loaded once per call.
//! The admin endpoint's key is checked here too ([`admin`]), never against a connection's quota.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::Gateway;
use super::live::Snapshot;
use super::observe::CalledOn;
use crate::connection::bearer::BearerError;
use crate::connection::{CallerConnection, Lookup, X_API_KEY};
use crate::domain::ConnectionId;
use crate::error::AppError;
use crate::quota::QuotaState;
use crate::telemetry::{self, Metrics};

static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Identifies the caller and applies its connection's quota; `next` answers an admitted call.
pub async fn authenticate<F, Fut>(
    gateway: &Gateway,
    decisions: &QuotaDecisions,
    mut request: Request,
    next: F,
) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let live = gateway.live.load_full();
    let caller = match identify(gateway, &live, request.headers()).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    crate::call_record::note(|r| r.connection = Some(caller.id().shared()));
    let called_on = gateway
        .metrics
        .connection_label()
        .then(|| CalledOn(caller.id().clone()));
    let admitted = match live.quotas.check(caller.id()).await {
        Ok(admitted) => admitted,
        Err(unavailable) => {
            return AppError::QuotaUnavailable {
                retry_after_secs: unavailable.retry_after_secs,
            }
            .into_response();
        }
    };
    decisions.count(gateway, called_on.as_ref(), &admitted);
    let remaining = match &admitted {
        Ok(state) => state.remaining,
        Err(refused) => refused.state.remaining,
    };
    gateway
        .activity
        .count(registered(&caller), admitted.is_ok(), remaining);
    let mut response = match admitted {
        Ok(quota) => {
            // Shared with the handler, and its ID borrowed here rather than cloned: with many connections, each
            // reference count a call moves is a cache miss when taken and another when dropped.
            let caller = Arc::new(caller);
            request.extensions_mut().insert(Arc::clone(&caller));
            let mut response = next(request).await;
            if let Some(id) = registered(&caller)
                && (response.status().is_client_error() || response.status().is_server_error())
            {
                gateway.activity.error(id, response.status().as_u16());
            }
            describe_quota(response.headers_mut(), &quota);
            response
        }
        Err(refused) => {
            // No line of its own: the call's line says it, at DEBUG, and a summary counts it (see
            // `edge::refusals`), since a client that ignores Retry-After can be refused thousands of times a second.
            crate::call_record::note(|r| r.refused = Some(crate::call_record::Refusal::Quota));
            let mut response = AppError::QuotaExceeded {
                retry_after_secs: refused.retry_after_secs,
            }
            .into_response();
            describe_quota(response.headers_mut(), &refused.state);
            response
        }
    };
    if let Some(called_on) = called_on {
        response.extensions_mut().insert(called_on);
    }
    response
}

/// The caller's connection ID when the administrator registered it: the status page keeps a record of those
/// only.
fn registered(caller: &CallerConnection) -> Option<&ConnectionId> {
    match caller {
        CallerConnection::Registered(connection) => Some(&connection.id),
        CallerConnection::PassThrough { .. } => None,
    }
}

/// Envoy's and Kong's three answers of a limiter: within the limit, near it (at least 80 % of what can be
/// admitted at once is used, after this call), or over it (refused); as its index in [`DECISIONS`].
fn decision(admitted: &Result<QuotaState, crate::quota::Refused>) -> usize {
    match admitted {
        Err(_) => 2,
        Ok(state) if u64::from(state.remaining) * 5 <= u64::from(state.limit.capacity().get()) => 1,
        Ok(_) => 0,
    }
}

/// This gateway's handles on the quota decisions' counters, made once: recording through a handle is an atomic
/// add, where `counter!` looked the metric up in the registry on every call (see `edge::observe`). Decisions
/// labelled with their connection are not kept (one series per connection).
pub struct QuotaDecisions {
    /// One for each of [`DECISIONS`].
    counters: Option<[metrics::Counter; 3]>,
}

/// The `decision` label's values, which [`decision`] indexes.
const DECISIONS: [&str; 3] = ["within_limit", "near_limit", "over_limit"];

impl QuotaDecisions {
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            counters: metrics.register(|| {
                DECISIONS.map(|decision| {
                    metrics::counter!(telemetry::QUOTA_DECISIONS, "decision" => decision)
                })
            }),
        }
    }

    fn count(
        &self,
        gateway: &Gateway,
        called_on: Option<&CalledOn>,
        admitted: &Result<QuotaState, crate::quota::Refused>,
    ) {
        let decision = decision(admitted);
        match called_on {
            Some(CalledOn(id)) => gateway.metrics.record(|| {
                metrics::counter!(
                    telemetry::QUOTA_DECISIONS,
                    "decision" => DECISIONS[decision],
                    "connection" => id.to_string(),
                )
                .increment(1)
            }),
            None => {
                if let Some(counters) = &self.counters {
                    counters[decision].increment(1);
                }
            }
        }
    }
}

/// `RateLimit-Policy` and `RateLimit` as in the IETF httpapi ratelimit-headers draft. Written into a buffer on
/// the stack: every answered call carries both.
fn describe_quota(headers: &mut HeaderMap, state: &QuotaState) {
    headers.insert(
        RATELIMIT_POLICY.clone(),
        connection_item(
            (b'q', state.limit.calls().get().into()),
            (b'w', state.limit.period_secs().get()),
        ),
    );
    headers.insert(
        RATELIMIT.clone(),
        connection_item((b'r', state.remaining.into()), (b't', state.reset_secs)),
    );
}

/// `"connection";a=1;b=2`: the one item, with its two parameters, each header of the draft has.
fn connection_item((a, a_value): (u8, u64), (b, b_value): (u8, u64)) -> HeaderValue {
    const NAME: &[u8] = b"\"connection\"";
    // The name, two parameters of a letter, `;` and `=` each, and two numbers of at most 20 digits.
    let mut text = [0u8; NAME.len() + 2 * (3 + 20)];
    let mut numbers = (itoa::Buffer::new(), itoa::Buffer::new());
    let mut len = 0;
    for piece in [
        NAME,
        &[b';', a, b'='],
        numbers.0.format(a_value).as_bytes(),
        &[b';', b, b'='],
        numbers.1.format(b_value).as_bytes(),
    ] {
        text[len..len + piece.len()].copy_from_slice(piece);
        len += piece.len();
    }
    HeaderValue::from_bytes(&text[..len]).expect("digits and ASCII make a valid header value")
}

/// `X-API-Key` wins when both are sent: a connection the administrator registered is the more specific claim.
/// Either given twice is refused: which of two keys or tokens the caller meant is not the gateway's to guess,
/// and a proxy that adds its own next to the caller's must not have the first one used silently.
async fn identify(
    gateway: &Gateway,
    live: &Snapshot,
    headers: &HeaderMap,
) -> Result<CallerConnection, AppError> {
    once(headers, &X_API_KEY)?;
    once(headers, &header::AUTHORIZATION)?;
    if let Some(key) = headers.get(&X_API_KEY) {
        return match live
            .registry
            .by_api_key(key.as_bytes(), gateway.clock.now_utc())
        {
            Lookup::Valid(connection) => Ok(CallerConnection::Registered(Arc::clone(connection))),
            Lookup::Expired { opens, expired } => {
                tracing::info!(connection = %opens.id, %expired, "expired API key refused");
                Err(expired_key(expired))
            }
            Lookup::Unknown => Err(AppError::Unauthorized(
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
            authorization: forwarded_authorization(authorization, token),
        }),
        Err(BearerError::Invalid(message)) => Err(AppError::Unauthorized(message.into())),
        Err(BearerError::KeysUnavailable(cause)) => Err(AppError::KeysUnavailable(cause)),
    }
}

/// Checks the admin endpoint's key. With no admin key configured the endpoint is off, and answers as a path that
/// does not exist.
pub fn admin(gateway: &Gateway, headers: &HeaderMap) -> Result<(), AppError> {
    let live = gateway.live.load();
    if live.admin_keys.is_empty() {
        return Err(AppError::NotFound);
    }
    once(headers, &X_API_KEY)?;
    let Some(key) = headers.get(&X_API_KEY) else {
        return Err(AppError::Unauthorized(
            "Send an admin key in X-API-Key.".into(),
        ));
    };
    match live
        .admin_keys
        .lookup(key.as_bytes(), gateway.clock.now_utc())
    {
        Lookup::Valid(()) => Ok(()),
        Lookup::Expired { expired, .. } => {
            tracing::info!(%expired, "expired admin key refused");
            Err(expired_key(expired))
        }
        Lookup::Unknown => Err(AppError::Unauthorized(
            "The X-API-Key is not an admin key.".into(),
        )),
    }
}

/// Refuses a credential header sent more than once.
fn once(headers: &HeaderMap, name: &HeaderName) -> Result<(), AppError> {
    if headers.get_all(name).iter().nth(1).is_some() {
        let name = if name == X_API_KEY {
            "X-API-Key"
        } else {
            "Authorization"
        };
        return Err(AppError::bad_request(
            "DuplicateHeader",
            format!("The {name} header is sent more than once; send one."),
        ));
    }
    Ok(())
}

fn expired_key(expired: time::OffsetDateTime) -> AppError {
    let when = expired
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| expired.to_string());
    AppError::Unauthorized(
        format!("The X-API-Key expired at {when}; ask the gateway's administrator for a new key.")
            .into(),
    )
}

/// The `Authorization` header that forwards the maker's `token`, `Bearer <token>`: the caller's own header when
/// it already reads so (a clone shares its bytes: a token is a kilobyte or two, which a fresh header would copy
/// twice and check once more), else made from the token.
fn forwarded_authorization(sent: &HeaderValue, token: &str) -> HeaderValue {
    let mut value = match sent.as_bytes().strip_prefix(b"Bearer ") {
        Some(rest) if rest == token.as_bytes() => sent.clone(),
        _ => HeaderValue::try_from(format!("Bearer {token}"))
            .expect("a token read from a header value is one"),
    };
    value.set_sensitive(true);
    value
}

fn bearer_token(value: &HeaderValue) -> Option<&str> {
    // No header value holds a control character other than a tab (hyper and `HeaderValue` refuse them), so an
    // ASCII one is what `to_str` accepts: checked a word at a time, where `to_str` checks each byte of a token
    // a kilobyte or two long.
    let bytes = value.as_bytes();
    let value = match bytes.is_ascii() {
        true => std::str::from_utf8(bytes).ok()?,
        false => return None,
    };
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
    fn a_makers_token_is_forwarded_as_bearer_and_the_token_whatever_the_header_looked_like() {
        for sent in ["Bearer eyJ.a.b", "bearer eyJ.a.b", "BEARER   eyJ.a.b  "] {
            let sent = HeaderValue::from_static(sent);
            let token = bearer_token(&sent).unwrap();
            let forwarded = forwarded_authorization(&sent, token);
            assert_eq!(forwarded, "Bearer eyJ.a.b");
            assert!(forwarded.is_sensitive());
        }
    }

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

    #[test]
    fn near_limit_starts_at_80_percent_used_of_what_can_be_admitted_at_once() {
        let state = |calls: u32, strict: bool, remaining: u32| {
            let limit = QuotaLimit::new(
                NonZeroU32::new(calls).unwrap(),
                NonZeroU64::new(60).unwrap(),
                strict,
            )
            .unwrap();
            Ok(QuotaState {
                limit,
                remaining,
                reset_secs: 0,
            })
        };
        assert_eq!(DECISIONS[decision(&state(100, false, 21))], "within_limit");
        assert_eq!(DECISIONS[decision(&state(100, false, 20))], "near_limit");
        assert_eq!(DECISIONS[decision(&state(100, false, 0))], "near_limit");
        // A strict window admits half at once: 80 % of those 50 used leaves 10.
        assert_eq!(DECISIONS[decision(&state(100, true, 11))], "within_limit");
        assert_eq!(DECISIONS[decision(&state(100, true, 10))], "near_limit");
        let refused = crate::quota::Refused {
            retry_after_secs: 1,
            state: state(100, false, 0).unwrap(),
        };
        assert_eq!(DECISIONS[decision(&Err(refused))], "over_limit");
    }
}
