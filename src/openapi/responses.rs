//! The error answers every operation can give, shared by the operations' `#[utoipa::path]` declarations.

#![allow(dead_code)]

use utoipa::IntoResponses;

use super::models::{GatewayError, PartnerCenterError, RateLimitError};

#[derive(IntoResponses)]
pub enum CommonErrors {
    /// The input is invalid (a CustomerTenantID that is not a GUID, a Size out of range, a malformed body, a parameter given twice) and the call did not reach Partner Center; or Partner Center refused the input (a continuation token it no longer knows), with its own error passed through.
    #[response(status = 400)]
    BadRequest(GatewayError),
    /// The API key or token is missing or unknown.
    #[response(
        status = 401,
        headers(("WWW-Authenticate" = String, description = "How to authenticate: the X-API-Key header."))
    )]
    Unauthorized(GatewayError),
    /// Partner Center refused the call, for example because the connection is app-only and the operation needs a user.
    #[response(status = 403)]
    Forbidden(PartnerCenterError),
    /// The connection's quota of calls is spent, or Partner Center throttled the partner.
    #[response(
        status = 429,
        headers(("Retry-After" = i32, description = "Seconds to wait before trying again."))
    )]
    TooManyRequests(RateLimitError),
    /// Partner Center failed (its own error, passed through after the gateway's retries).
    #[response(status = 500)]
    InternalServerError(GatewayError),
    /// Partner Center could not be reached or answered something that is not JSON.
    #[response(status = 502)]
    BadGateway(GatewayError),
    /// Partner Center has been failing or the gateway is at capacity, so the call was held back.
    #[response(
        status = 503,
        headers(("Retry-After" = i32, description = "Seconds to wait before trying again."))
    )]
    ServiceUnavailable(GatewayError),
    /// Partner Center did not answer in time.
    #[response(status = 504)]
    GatewayTimeout(GatewayError),
}

/// The answer of an operation about one customer when Partner Center does not know that customer.
#[derive(IntoResponses)]
pub enum CustomerErrors {
    /// Partner Center does not know this customer (code 60003).
    #[response(status = 404)]
    NotFound(PartnerCenterError),
}

/// A trigger's answers, in the polling contract of Logic Apps and Power Automate.
#[derive(IntoResponses)]
pub enum TriggerAnswers {
    /// New records, oldest first; the flow runs once for each.
    #[response(
        status = 200,
        headers(
            ("Location" = String, description = "Where the next poll goes: this trigger with its new state."),
            ("Retry-After" = i32, description = "Seconds to wait before the next poll; 0 when more records are waiting.")
        )
    )]
    New(super::models::AuditRecordBatch),
    /// Nothing new since the last poll (or this is the first poll, which starts from now).
    #[response(
        status = 202,
        headers(
            ("Location" = String, description = "Where the next poll goes: this trigger with its new state."),
            ("Retry-After" = i32, description = "Seconds to wait before the next poll; 0 when more records are waiting.")
        )
    )]
    NothingNew,
}
