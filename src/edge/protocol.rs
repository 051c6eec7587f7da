//! What HTTP itself requires of a request before any route reads it: exactly one `Host`, and one that names a
//! host (RFC 9112 §3.2: "A server MUST respond with a 400 … to any request message that contains more than one
//! Host header field line or a Host header field with an invalid field value"). hyper accepts both, and the
//! gateway builds links from the Host it is given: a second Host, or one that names no host, would otherwise
//! reach a `nextLink` or the served connector definition.

use axum::http::{HeaderMap, header};

use super::forwarded::is_host;
use crate::error::AppError;

/// Refuses a request with two `Host` lines, or one that [`is_host`] does not accept, with the gateway's JSON 400.
/// A request without `Host` (HTTP/1.0, or HTTP/2's `:authority`) is left to the routes.
pub fn one_valid_host(headers: &HeaderMap) -> Result<(), AppError> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let first = hosts.next();
    if hosts.next().is_some() {
        return Err(AppError::bad_request(
            "InvalidHost",
            "The request has more than one Host header; send one.",
        ));
    }
    if let Some(host) = first
        && !host.to_str().is_ok_and(is_host)
    {
        return Err(AppError::bad_request(
            "InvalidHost",
            "The Host header is not a host name or address with an optional port from 1 to 65535.",
        ));
    }
    Ok(())
}
