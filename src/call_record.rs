//! What one call did, noted by the layers that know (authentication: the connection and a quota refusal; the
//! Partner Center client: each attempt's status and time, and the `MS-RequestId`; the error mapping: the cause),
//! and written once, as the call's log line, by the edge.
//!
//! It lives in a task-local for the duration of the call, as the correlation ID does, so none of those layers
//! passes it along; outside a call (the administrator's commands) noting is a no-op.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

tokio::task_local! {
    static CURRENT: Arc<Mutex<CallRecord>>;
}

#[derive(Clone, Debug, Default)]
pub struct CallRecord {
    pub connection: Option<String>,
    /// The gateway's own quota refused the call.
    pub over_quota: bool,
    /// Partner Center's status on the last attempt.
    pub upstream_status: Option<u16>,
    pub attempts: u32,
    /// Summed over the attempts: the time spent waiting for Partner Center, without the backoff between them.
    pub upstream_time: Duration,
    pub request_id: Option<Uuid>,
    /// Why the gateway answered an error of its own (not Partner Center's error, which passes through).
    pub error: Option<String>,
}

/// Runs `call` with a fresh record, and returns what it noted along with its output.
pub async fn recorded<F: Future>(call: F) -> (F::Output, CallRecord) {
    let record = Arc::new(Mutex::new(CallRecord::default()));
    let output = CURRENT.scope(Arc::clone(&record), call).await;
    let record = record.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (output, record)
}

/// Notes something of the call being served; does nothing outside a call.
pub fn note(f: impl FnOnce(&mut CallRecord)) {
    let _ = CURRENT.try_with(|record| f(&mut record.lock().unwrap_or_else(|p| p.into_inner())));
}
