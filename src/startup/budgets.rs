//! The request budgets checked on the head alone, before any handler runs or any body is read: a declared body
//! over `server.max_body_bytes` (413, with no `100 Continue` first), a target over `server.max_uri_bytes`
//! (414), and, on a connection taken from the probes' reserve (see `serve`), anything but a probe (503).

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// Set on the requests of a connection taken past `server.max_connections`.
#[derive(Debug, Clone, Copy)]
pub struct ProbesOnly;

/// What the probes' reserve answers: a liveness or readiness check costs next to nothing and must not fail only
/// because the gateway is full.
const PROBES: [&str; 2] = ["/healthz", "/readyz"];

#[derive(Debug, Clone, Copy)]
pub struct RequestBudgets {
    pub max_body_bytes: usize,
    pub max_uri_bytes: usize,
}

impl RequestBudgets {
    /// What the head alone refuses, if anything. The answer is to go out with `Connection: close`
    /// ([`closing`]).
    pub fn refusal(&self, request: &Request) -> Option<AppError> {
        if request.extensions().get::<ProbesOnly>().is_some()
            && !PROBES.contains(&request.uri().path())
        {
            Some(AppError::Overloaded)
        } else if request
            .uri()
            .path_and_query()
            .is_some_and(|target| target.as_str().len() > self.max_uri_bytes)
        {
            Some(AppError::UriTooLong {
                limit: self.max_uri_bytes,
            })
        } else if declared_length(request).is_some_and(|length| length > self.max_body_bytes) {
            // Answered without touching the body, so hyper sends no `100 Continue` and closes the connection
            // rather than read what the client may still send.
            Some(AppError::PayloadTooLarge {
                limit: self.max_body_bytes,
            })
        } else {
            None
        }
    }
}

/// A refusal of [`RequestBudgets::refusal`] answered, closing the connection.
pub fn closing(error: AppError) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `Content-Length`, which hyper has already checked is one valid number when present.
fn declared_length(request: &Request) -> Option<usize> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse::<u64>()
        .ok()
        .map(|length| usize::try_from(length).unwrap_or(usize::MAX))
}
