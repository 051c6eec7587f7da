//! Error bodies shaped like the ones Partner Center returns, so the gateway's
//! error mapping is tested against realistic input.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug)]
pub(super) struct PcError {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
}

impl PcError {
    /// The classic `{code, description, data, source}` envelope.
    fn classic(status: StatusCode, code: u32, description: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({
                "code": code,
                "description": description.into(),
                "data": [],
                "source": "PartnerFD",
            }),
            retry_after: None,
        }
    }

    pub(super) fn bad_request(description: impl Into<String>) -> Self {
        Self::classic(StatusCode::BAD_REQUEST, 400, description)
    }

    pub(super) fn unauthorized(description: impl Into<String>) -> Self {
        Self::classic(StatusCode::UNAUTHORIZED, 401, description)
    }

    pub(super) fn app_only_forbidden() -> Self {
        Self::classic(
            StatusCode::FORBIDDEN,
            403,
            "This operation requires App+User authentication; app-only (client credentials) tokens are not supported.",
        )
    }

    /// Partner Center refuses every App+User call whose token was obtained without multifactor
    /// authentication: 401 with error code 900421 (enforced from April 2026; Microsoft's "Mandating
    /// multifactor authentication (MFA) for your partner tenant" and its partner-blog briefing name the status
    /// and the code). Neither shows the body, so it is the classic envelope every other 401 of Partner Center
    /// uses, with that code, and a description of ours.
    pub(super) fn mfa_required() -> Self {
        Self::classic(
            StatusCode::UNAUTHORIZED,
            900421,
            "Multifactor authentication is required: App+User calls need an access token whose 'amr' claim includes 'mfa'. Sign in again with MFA.",
        )
    }

    pub(super) fn customer_not_found() -> Self {
        Self::classic(StatusCode::NOT_FOUND, 60003, "Customer tenant not found.")
    }

    pub(super) fn unknown_path(path: &str) -> Self {
        Self::classic(
            StatusCode::NOT_FOUND,
            404,
            format!("No resource was found that matches the request URI '{path}'."),
        )
    }

    pub(super) fn method_not_allowed(method: &str) -> Self {
        Self::classic(
            StatusCode::METHOD_NOT_ALLOWED,
            405,
            format!("The requested resource does not support HTTP method '{method}'."),
        )
    }

    /// Copied from Microsoft's documentation of the MCA confirmation API;
    /// newer errors use this richer envelope and no `data`/`source`.
    pub(super) fn agreement_already_exists() -> Self {
        Self {
            status: StatusCode::CONFLICT,
            body: json!({
                "code": 600061,
                "message": "A partner confirmed agreement already exists for the customer.",
                "description": "A partner confirmed agreement already exists for the customer.",
                "errorName": "PartnerConfirmedAgreementAlreadyExists",
                "isRetryable": false,
                "parameters": {},
                "errorMessageExtended": "InternalErrorCode=600061",
            }),
            retry_after: None,
        }
    }

    /// The front door's throttling answer, which is not a Partner Center envelope.
    pub(super) fn throttled(seconds: u64) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: json!({
                "statusCode": 429,
                "message": format!("Rate limit is exceeded. Try again in {seconds} seconds."),
            }),
            retry_after: Some(seconds),
        }
    }
}

impl IntoResponse for PcError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
