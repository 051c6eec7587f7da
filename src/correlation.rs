//! Correlation IDs: one per call, taken from the caller when it sends a GUID, sent to Partner Center as
//! `MS-CorrelationId`, echoed on the response, and written into every error body.
//!
//! The ID lives in a task-local for the duration of the call so that error rendering, deep below the handler,
//! can name it without every function passing it along.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

tokio::task_local! {
    static CURRENT: Uuid;
}

pub static X_MS_CLIENT_TRACKING_ID: HeaderName = HeaderName::from_static("x-ms-client-tracking-id");
pub static X_MS_CORRELATION_ID: HeaderName = HeaderName::from_static("x-ms-correlation-id");
pub static MS_CORRELATION_ID: HeaderName = HeaderName::from_static("ms-correlationid");

/// The correlation ID of the call being served, if any.
pub fn current() -> Option<Uuid> {
    CURRENT.try_with(|id| *id).ok()
}

/// Power Automate sends `x-ms-client-tracking-id`; engineers calling directly tend to send `x-ms-correlation-id`.
/// Anything that is not a GUID is replaced, because Partner Center rejects non-GUID correlation IDs.
fn from_request(request: &Request) -> Uuid {
    [&X_MS_CLIENT_TRACKING_ID, &X_MS_CORRELATION_ID]
        .into_iter()
        .filter_map(|name| request.headers().get(name))
        .find_map(|value| value.to_str().ok().and_then(|s| Uuid::try_parse(s).ok()))
        .unwrap_or_else(Uuid::new_v4)
}

pub async fn middleware(request: Request, next: Next) -> Response {
    let id = from_request(&request);
    let mut response = CURRENT.scope(id, next.run(request)).await;
    let value = HeaderValue::from_str(&id.hyphenated().to_string())
        .expect("a GUID is a valid header value");
    response
        .headers_mut()
        .insert(X_MS_CORRELATION_ID.clone(), value.clone());
    response
        .headers_mut()
        .insert(MS_CORRELATION_ID.clone(), value);
    response
}
