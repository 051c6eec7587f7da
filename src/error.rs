//! The one error type at the HTTP edge and its one status mapping.
//!
//! The gateway's own errors are JSON `{"statusCode","code","message","correlationId"}`. Causes of 5xx answers are
//! logged here and never returned. Partner Center's own error answers are not errors of ours: they travel as
//! [`AppError::Upstream`] and reach the caller unchanged, status, body and all, so makers see Partner Center's codes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use uuid::Uuid;

use crate::call_record::Refusal;
use crate::correlation;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Invalid caller input; never reaches Partner Center.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The caller did not send its whole request body within `server.body_timeout_ms`.
    #[error("request body timed out")]
    RequestTimeout,
    /// A declared request body larger than `server.max_body_bytes`: refused before any of it is read.
    #[error("request body over {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// A request target longer than `server.max_uri_bytes`.
    #[error("request target over {limit} bytes")]
    UriTooLong { limit: usize },
    /// A request head (request line and headers) larger than `server.max_header_bytes`.
    #[error("request head over {limit} bytes")]
    HeadersTooLarge { limit: usize },
    /// A request line or header that is not HTTP/1.1, refused by the HTTP parser.
    #[error("malformed request")]
    MalformedRequest,
    /// Missing or unknown credentials.
    #[error("{0}")]
    Unauthorized(std::borrow::Cow<'static, str>),
    /// A bearer token cannot be judged because its issuer's signing keys cannot be fetched.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
    /// An upstream's circuit breaker is open: it has been failing, so calls are refused at once for a while.
    #[error("{upstream} circuit open")]
    CircuitOpen {
        upstream: &'static str,
        retry_after_secs: u64,
    },
    /// Too many calls in flight and waiting: the call is refused rather than queued without bound.
    #[error("overloaded")]
    Overloaded,
    /// The request body's `Content-Type` is not JSON, or its `Content-Encoding` is one the gateway does not
    /// decode (`encoding`: then the answer names the only coding it reads, RFC 7694).
    #[error("{message}")]
    UnsupportedMediaType { message: String, encoding: bool },
    #[error("no route")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The connection's quota is spent; answered the way the Power Platform front door does.
    #[error("quota exceeded")]
    QuotaExceeded { retry_after_secs: u64 },
    /// The shared quota count (Redis) cannot decide right now and `redis.fail_open` is off.
    #[error("quota count unavailable")]
    QuotaUnavailable { retry_after_secs: u64 },
    /// Partner Center (or the token authority) could not be reached or answered something unusable.
    #[error("bad gateway: {0}")]
    BadGateway(String),
    /// The token authority refused the connection's own credentials; only the administrator can fix that.
    #[error("credentials refused: {0}")]
    CredentialsRefused(String),
    /// Partner Center's answer was larger than `upstream.max_response_bytes`; the rest of it was not read.
    #[error("upstream answer over {limit} bytes")]
    UpstreamTooLarge { limit: usize },
    #[error("upstream timeout: {0}")]
    GatewayTimeout(String),
    /// Partner Center's own error answer, passed through byte for byte.
    #[error("partner center answered {status}")]
    Upstream {
        status: StatusCode,
        content_type: Option<HeaderValue>,
        retry_after: Option<HeaderValue>,
        body: Bytes,
    },
    /// A reload found the configuration file invalid: the configuration error's text, for the administrator
    /// who asked; the running configuration is unchanged.
    #[error("invalid configuration: {0}")]
    InvalidConfiguration(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } | AppError::MalformedRequest => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            AppError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            AppError::UpstreamTooLarge { .. } => StatusCode::BAD_GATEWAY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::KeysUnavailable(_)
            | AppError::CircuitOpen { .. }
            | AppError::Overloaded
            | AppError::QuotaUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadGateway(_) | AppError::CredentialsRefused(_) => StatusCode::BAD_GATEWAY,
            AppError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            AppError::Upstream { status, .. } => *status,
            AppError::InvalidConfiguration(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code and message of the refusals whose message names a limit.
    fn over_limit(&self) -> Option<(&'static str, String)> {
        Some(match self {
            AppError::PayloadTooLarge { limit } => (
                "BodyTooLarge",
                format!("The request body is larger than {limit} bytes."),
            ),
            AppError::UriTooLong { limit } => (
                "UriTooLong",
                format!("The request's path and query are longer than {limit} bytes."),
            ),
            AppError::HeadersTooLarge { limit } => (
                "HeadersTooLarge",
                format!("The request's headers are larger than {limit} bytes in all."),
            ),
            AppError::MalformedRequest => (
                "MalformedRequest",
                "The request is not valid HTTP/1.1: check its first line and its headers."
                    .to_owned(),
            ),
            AppError::UpstreamTooLarge { limit } => (
                "UpstreamAnswerTooLarge",
                format!(
                    "Partner Center's answer is larger than the gateway accepts ({limit} bytes); ask for a smaller page."
                ),
            ),
            _ => return None,
        })
    }

    /// The status and JSON body of a refusal written below the router, where hyper refuses a request it cannot
    /// parse (see `startup::conn_io`): no call exists there, so the correlation ID is the one given.
    pub(crate) fn json_below_router(&self, correlation_id: Uuid) -> (StatusCode, Vec<u8>) {
        let (code, message) = self.over_limit().unwrap_or((
            "InternalError",
            "The gateway failed unexpectedly.".to_owned(),
        ));
        let body = ErrorBody {
            status_code: self.status().as_u16(),
            code,
            message: &message,
            correlation_id: correlation_id.to_string(),
        };
        (
            self.status(),
            serde_json::to_vec(&body).expect("the error body serializes"),
        )
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    status_code: u16,
    code: &'a str,
    message: &'a str,
    correlation_id: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let limited = self.over_limit();
        let (code, message): (&str, &str) = match &self {
            AppError::PayloadTooLarge { .. }
            | AppError::UriTooLong { .. }
            | AppError::HeadersTooLarge { .. }
            | AppError::MalformedRequest
            | AppError::UpstreamTooLarge { .. } => {
                if let AppError::UpstreamTooLarge { limit } = &self {
                    note(format!("partner center answered more than {limit} bytes"));
                }
                let (code, message) = limited.as_ref().expect("over_limit covers these");
                (code, message.as_str())
            }
            AppError::BadRequest { code, message } => (code, message),
            AppError::Unauthorized(message) => ("Unauthorized", message.as_ref()),
            AppError::RequestTimeout => (
                "RequestTimeout",
                "The request body did not arrive in time; send it again, whole.",
            ),
            AppError::KeysUnavailable(cause) => {
                note(format!("token issuer's signing keys unavailable: {cause}"));
                (
                    "TokenValidationUnavailable",
                    "The gateway cannot fetch the token issuer's signing keys right now; try again shortly.",
                )
            }
            AppError::CircuitOpen { upstream, .. } => {
                refused(Refusal::CircuitOpen);
                note(format!("call refused: {upstream} circuit open"));
                (
                    "UpstreamUnavailable",
                    "Partner Center has been failing, so the gateway is holding calls back; retry after Retry-After seconds.",
                )
            }
            AppError::Overloaded => {
                refused(Refusal::Overloaded);
                note("call refused: gateway overloaded".into());
                (
                    "Overloaded",
                    "The gateway is at capacity; retry after Retry-After seconds.",
                )
            }
            AppError::UnsupportedMediaType { message, .. } => ("UnsupportedMediaType", message),
            AppError::QuotaUnavailable { .. } => {
                refused(Refusal::QuotaUnavailable);
                note("call refused: the shared quota count is unavailable".into());
                (
                    "QuotaUnavailable",
                    "The gateway cannot reach its shared quota count right now; retry after Retry-After seconds.",
                )
            }
            AppError::NotFound => ("NotFound", "No operation matches this method and path."),
            AppError::MethodNotAllowed => {
                ("MethodNotAllowed", "This path does not accept this method.")
            }
            AppError::QuotaExceeded { retry_after_secs } => {
                return quota_exceeded(*retry_after_secs);
            }
            AppError::Upstream {
                status,
                content_type,
                retry_after,
                body,
            } => {
                let mut response = (*status, body.clone()).into_response();
                let headers = response.headers_mut();
                if let Some(ct) = content_type {
                    headers.insert(header::CONTENT_TYPE, ct.clone());
                }
                if let Some(ra) = retry_after {
                    headers.insert(header::RETRY_AFTER, ra.clone());
                }
                return response;
            }
            AppError::BadGateway(cause) => {
                note(format!("partner center unusable: {cause}"));
                (
                    "BadGateway",
                    "Partner Center could not be reached or answered something that is not JSON.",
                )
            }
            AppError::CredentialsRefused(cause) => {
                note(format!("connection credentials refused: {cause}"));
                (
                    "ConnectionCredentialsRefused",
                    "The token authority refused this connection's credentials; the gateway's administrator must renew them.",
                )
            }
            AppError::GatewayTimeout(cause) => {
                note(format!("partner center timed out: {cause}"));
                ("GatewayTimeout", "Partner Center did not answer in time.")
            }
            AppError::InvalidConfiguration(problem) => ("InvalidConfiguration", problem.as_str()),
            AppError::Internal(cause) => {
                note(format!("internal error: {cause}"));
                ("InternalError", "The gateway failed unexpectedly.")
            }
        };
        let body = ErrorBody {
            status_code: status.as_u16(),
            code,
            message,
            correlation_id: correlation::current()
                .map(|id| id.to_string())
                .unwrap_or_default(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match &self {
            AppError::CircuitOpen {
                retry_after_secs, ..
            } => Some((*retry_after_secs).max(1)),
            AppError::Overloaded => Some(1),
            AppError::QuotaUnavailable { retry_after_secs } => Some((*retry_after_secs).max(1)),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let AppError::UnsupportedMediaType { encoding: true, .. } = &self {
            response.headers_mut().insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            // Both ways in: a registered connection's API key, or the maker's own Entra token.
            let headers = response.headers_mut();
            headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    r#"ApiKey realm="partner-center-gateway", header="X-API-Key""#,
                ),
            );
            headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    r#"Bearer realm="partner-center-gateway", error="invalid_token""#,
                ),
            );
        }
        response
    }
}

/// The platform's own over-quota answer, so a flow's retry policy treats the gateway like the original connector.
fn quota_exceeded(retry_after_secs: u64) -> Response {
    // Written without the formatting machinery: a client that ignores Retry-After gets this thousands of times
    // a second.
    const START: &str = r#"{"statusCode":429,"message":"Rate limit is exceeded. Try again in "#;
    const END: &str = r#" seconds."}"#;
    let mut secs = itoa::Buffer::new();
    let secs = secs.format(retry_after_secs);
    let mut body = String::with_capacity(START.len() + secs.len() + END.len());
    body.push_str(START);
    body.push_str(secs);
    body.push_str(END);
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::RETRY_AFTER, HeaderValue::from(retry_after_secs)),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body,
    )
        .into_response()
}

/// The cause of an error of the gateway's own goes into the call's log line (see [`crate::call_record`]), the one
/// place that says what happened to a call.
fn note(cause: String) {
    crate::call_record::note(|r| r.error = Some(cause));
}

/// A refusal is summarised in the log rather than written one line per call (see `edge::refusals`).
fn refused(kind: Refusal) {
    crate::call_record::note(|r| r.refused = Some(kind));
}
