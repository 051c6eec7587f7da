//! Correlation IDs: one per call, taken from the caller when it sends a GUID, sent to Partner Center as
//! `MS-CorrelationId`, echoed on the response, and written into every error body.
//!
//! The ID lives in a task-local for the duration of the call so that error rendering, deep below the handler,
//! can name it without every function passing it along.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
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
pub fn from_headers(headers: &HeaderMap) -> Uuid {
    [&X_MS_CLIENT_TRACKING_ID, &X_MS_CORRELATION_ID]
        .into_iter()
        .filter_map(|name| headers.get(name))
        .find_map(|value| value.to_str().ok().and_then(|s| Uuid::try_parse(s).ok()))
        .unwrap_or_else(Uuid::new_v4)
}

/// Runs `call` as the call with correlation ID `id`: [`current`] names it until `call` ends.
pub fn scope<F: Future>(id: Uuid, call: F) -> tokio::task::futures::TaskLocalFuture<Uuid, F> {
    CURRENT.scope(id, call)
}

/// Echoes `id` on the answer, under both names a caller may have sent it with. The text is written into a
/// buffer on the stack: every answer carries it.
pub fn stamp(headers: &mut HeaderMap, id: Uuid) {
    let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
    let value = HeaderValue::from_bytes(id.hyphenated().encode_lower(&mut text).as_bytes())
        .expect("a GUID is a valid header value");
    headers.insert(X_MS_CORRELATION_ID.clone(), value.clone());
    headers.insert(MS_CORRELATION_ID.clone(), value);
}
