//! The state every handler shares and the few steps every operation takes: who is calling, what they asked,
//! fetch the connection's token, call Partner Center, and turn the answer into the caller's response.

pub mod activity;
pub mod auth;
pub mod body;
pub mod call_log;
mod customer_path;
pub mod forwarded;
pub mod live;
pub mod observe;
pub mod operation;
pub mod paging;
pub mod polling;
pub mod protocol;
pub mod refusals;

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::clock::Clock;
use crate::connection::CallerConnection;
use crate::connection::bearer::BearerValidator;
use crate::correlation;
use crate::error::AppError;
use crate::readiness::Readiness;
use crate::telemetry::Metrics;
use crate::upstream::breaker::Admission;
use crate::upstream::tokens::TokenSource;
use crate::upstream::{CallContext, PartnerCenter, Reply, UpstreamRequest};
pub use customer_path::{CustomerPath, Plain};
use forwarded::{TrustedProxies, is_host};
use live::{Live, Reloads};
use paging::{Page, PageShape, with_next_link};

#[derive(Clone)]
pub struct Gateway(Arc<Inner>);

pub struct Inner {
    /// The connections, their keys and quotas, and the admin keys: what a reload swaps (see [`live`]).
    pub live: Live,
    /// How the admin endpoint asks for a reload.
    pub reloads: Reloads,
    /// Keys' expiry dates are judged on it.
    pub clock: Clock,
    pub tokens: Arc<TokenSource>,
    pub bearer: BearerValidator,
    pub admission: Admission,
    pub partner_center: PartnerCenter,
    pub readiness: Arc<Readiness>,
    /// `server.public_base_url` without its trailing slash.
    pub public_base_url: Option<String>,
    /// `https` when the gateway terminates TLS itself. A server sees only the origin-form request target, never
    /// the scheme, so links built from the Host header need it from here.
    pub scheme: &'static str,
    /// `server.trusted_proxies`, `server.forwarded_header` and `server.forwarded_fields`: whose forwarding
    /// header, and which of its fields, name the scheme and host of links.
    pub trusted_proxies: TrustedProxies,
    pub max_body_bytes: usize,
    pub body_timeout: std::time::Duration,
    pub metrics: Metrics,
    /// Recent quota decisions and errors, for the status page.
    pub activity: activity::Activity,
    /// What the status page names as the upstream: Partner Center's base URL, or the embedded sandbox.
    pub upstream: String,
    /// The polling triggers' signing key and pace (see [`polling`]).
    pub triggers: crate::triggers::Triggers,
}

impl Deref for Gateway {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Gateway {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// Calls Partner Center on the caller's connection with that connection's own token.
    pub async fn call(
        &self,
        caller: &CallerConnection,
        ctx: &CallContext,
        request: UpstreamRequest<'_>,
    ) -> Result<Reply, AppError> {
        // Boxed: the token cache's and the client's futures are kilobytes, and unboxed they would make every
        // handler's future as large, copied each time axum and tower move or box it.
        Box::pin(self.call_unboxed(caller, ctx, request)).await
    }

    async fn call_unboxed(
        &self,
        caller: &CallerConnection,
        ctx: &CallContext,
        request: UpstreamRequest<'_>,
    ) -> Result<Reply, AppError> {
        let _turn = self.admission.enter().await?;
        match caller {
            CallerConnection::Registered(connection) => {
                let token = self.tokens.token(connection).await?;
                let reply = self.partner_center.send(&token, ctx, request).await;
                if let Ok(reply) = &reply {
                    self.tokens.answered(connection, &token, reply.status).await;
                }
                reply
            }
            CallerConnection::PassThrough { authorization, .. } => {
                self.partner_center
                    .send_with(authorization, ctx, request)
                    .await
            }
        }
    }

    /// A read whose answer reaches the caller unchanged, as most operations are.
    pub async fn get_json(
        &self,
        caller: &CallerConnection,
        ctx: &CallContext,
        path: String,
    ) -> Result<Response, AppError> {
        json(self.call(caller, ctx, UpstreamRequest::get(path)).await?)
    }
}

static JSON: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// A successful answer passes through with its status; Partner Center's error answers become
/// [`AppError::Upstream`] and pass through too. Anything that is not JSON is a fault of the upstream.
pub fn checked(reply: Reply) -> Result<Reply, AppError> {
    let is_json = |body: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    if reply.status.is_success() {
        return Ok(reply);
    }
    if reply.status.is_client_error() || reply.status.is_server_error() {
        if reply.body.is_empty() || is_json(&reply.body) {
            return Err(AppError::Upstream {
                status: reply.status,
                content_type: reply.content_type,
                retry_after: reply.retry_after,
                body: reply.body,
            });
        }
        return Err(AppError::BadGateway(format!(
            "Partner Center answered {} with a body that is not JSON",
            reply.status
        )));
    }
    Err(AppError::BadGateway(format!(
        "Partner Center answered {}",
        reply.status
    )))
}

/// The answer of an operation whose body reaches the caller unchanged.
pub fn json(reply: Reply) -> Result<Response, AppError> {
    let reply = checked(reply)?;
    if serde_json::from_slice::<serde::de::IgnoredAny>(&reply.body).is_err() {
        return Err(AppError::BadGateway(format!(
            "Partner Center answered {} with a body that is not JSON",
            reply.status
        )));
    }
    Ok(json_response(reply.status, reply.body))
}

/// The answer of a paged operation: Partner Center's page in `shape`, with a `nextLink` when `next_link` makes
/// one.
pub fn paged(
    reply: Reply,
    shape: PageShape,
    next_link: impl FnOnce(&Page) -> Option<String>,
) -> Result<Response, AppError> {
    let reply = checked(reply)?;
    let page = Page::parse(&reply.body).map_err(|e| {
        AppError::BadGateway(format!(
            "Partner Center answered {} with a page that is not JSON: {e}",
            reply.status
        ))
    })?;
    let link = next_link(&page);
    let body = match (shape, link) {
        (PageShape::Value, link) => page.value_page(link.as_deref()),
        (PageShape::Items, Some(link)) => with_next_link(&reply.body, &link).ok_or_else(|| {
            AppError::BadGateway("Partner Center answered a page that is not a JSON object".into())
        })?,
        (PageShape::Items, None) => reply.body.clone(),
    };
    Ok(json_response(reply.status, body))
}

pub fn json_response(status: axum::http::StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, JSON.clone())], body).into_response()
}

impl<S: Send + Sync> FromRequestParts<S> for CallContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        // The headers the gateway reads and turns into Partner Center's. HTTP lets a value carry obs-text
        // (bytes over 0x7F), which no locale or correlation ID contains: refused, so a mangled or hostile value
        // is the caller's clear 400 rather than something silently dropped.
        for name in [
            &header::ACCEPT_LANGUAGE,
            &correlation::X_MS_CLIENT_TRACKING_ID,
            &correlation::X_MS_CORRELATION_ID,
        ] {
            for value in parts.headers.get_all(name) {
                if !value
                    .as_bytes()
                    .iter()
                    .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
                {
                    return Err(AppError::bad_request(
                        "InvalidHeader",
                        format!("The {name} header must be ASCII text."),
                    ));
                }
            }
        }
        Ok(CallContext {
            correlation_id: correlation::current().unwrap_or_else(uuid::Uuid::new_v4),
            locale: parts.headers.get(header::ACCEPT_LANGUAGE).and_then(locale),
            operation: parts
                .extensions
                .get::<observe::Operation>()
                .map_or("unknown", |operation| operation.0),
            trace: crate::trace_context::current(),
        })
    }
}

/// Partner Center's `X-Locale` takes one locale; `Accept-Language` lists several with weights. The first is the
/// caller's preference. A value that is not a plain language tag is ignored rather than refused: it is a hint.
fn locale(accept_language: &HeaderValue) -> Option<HeaderValue> {
    let first = accept_language
        .to_str()
        .ok()?
        .split([',', ';'])
        .next()?
        .trim();
    let ok = (2..=35).contains(&first.len())
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| HeaderValue::from_str(first).ok()).flatten()
}

/// The connection the authentication layer named for this call.
pub struct Caller(pub Arc<CallerConnection>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<Arc<CallerConnection>>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| {
                AppError::Internal("operation routed without the authentication layer".into())
            })
    }
}

/// An operation's path parameters, as the caller sent them (percent-decoded), for newtypes to parse.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathParams(value)),
            Err(_) => Err(AppError::bad_request(
                "InvalidPath",
                "A path parameter is not valid UTF-8.",
            )),
        }
    }
}

/// The query string as key/value pairs. Keys match case-insensitively (makers type `size` as often as `Size`),
/// and a key given twice is refused, even when one of the two is empty (`Size=&Size=5`): which of the two the
/// caller meant is not ours to guess.
///
/// Every query parameter of every operation is optional, and an empty value (`Size=`) means the parameter is
/// absent: it is what a flow sends for an optional input mapped to an empty variable, and the original
/// connector passed it on as nothing. The documents say so once for all of them (`allowEmptyValue`, added in
/// [`crate::openapi::document::finish`]).
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn single(&self, key: &str) -> Result<Option<&str>, AppError> {
        let mut found = self.0.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key));
        let first = found.next();
        if found.next().is_some() {
            return Err(AppError::bad_request(
                "DuplicateParameter",
                format!("{key} is given more than once."),
            ));
        }
        Ok(first.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or("");
        Ok(QueryParams(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

/// Where `nextLink`s (and the served connector definition) point: the configured public base URL; else the
/// scheme and host a trusted proxy reports in the configured header (see [`crate::edge::forwarded`]); else the
/// gateway's own scheme and the `Host` the caller used, which must be a host name or address with an optional
/// port ([`is_host`]).
pub struct LinkBase(pub String);

impl FromRequestParts<Gateway> for LinkBase {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, gateway: &Gateway) -> Result<Self, AppError> {
        if let Some(base) = &gateway.public_base_url {
            return Ok(LinkBase(base.clone()));
        }
        let forwarded = gateway
            .trusted_proxies
            .forwarded(parts)?
            .unwrap_or_default();
        let scheme = forwarded.proto.unwrap_or(gateway.scheme);
        if let Some(host) = forwarded.host {
            return Ok(LinkBase(format!("{scheme}://{host}")));
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .filter(|h| is_host(h))
            .ok_or_else(|| {
                AppError::bad_request(
                    "InvalidHost",
                    "The Host header is missing or not a host name.",
                )
            })?;
        Ok(LinkBase(format!("{scheme}://{host}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_takes_the_first_plain_tag() {
        assert_eq!(
            locale(&HeaderValue::from_static("pt-BR,pt;q=0.9,en;q=0.8")).unwrap(),
            "pt-BR"
        );
        assert_eq!(locale(&HeaderValue::from_static("en-US")).unwrap(), "en-US");
        assert!(locale(&HeaderValue::from_static("*")).is_none());
        assert!(locale(&HeaderValue::from_static("e")).is_none());
    }
}
