//! The one error type at the HTTP edge and its one status mapping.
//!
//! The gateway's own errors are JSON `{"statusCode","code","message","correlationId"}`. Causes of 5xx answers are
//! logged here and never returned. Partner Center's own error answers are not errors of ours: they travel as
//! [`AppError::Upstream`] and reach the caller unchanged, status, body and all, so makers see Partner Center's codes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::correlation;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Invalid caller input; never reaches Partner Center.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The caller did not send its whole request body within `server.body_timeout_ms`.
    #[error("request body timed out")]
    RequestTimeout,
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
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::KeysUnavailable(_)
            | AppError::CircuitOpen { .. }
            | AppError::Overloaded
            | AppError::QuotaUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
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
        let (code, message): (&str, &str) = match &self {
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
                note(format!("call refused: {upstream} circuit open"));
                (
                    "UpstreamUnavailable",
                    "Partner Center has been failing, so the gateway is holding calls back; retry after Retry-After seconds.",
                )
            }
            AppError::Overloaded => {
                note("call refused: gateway overloaded".into());
                (
                    "Overloaded",
                    "The gateway is at capacity; retry after Retry-After seconds.",
                )
            }
            AppError::QuotaUnavailable { .. } => {
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
    let body = format!(
        r#"{{"statusCode":429,"message":"Rate limit is exceeded. Try again in {retry_after_secs} seconds."}}"#
    );
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
