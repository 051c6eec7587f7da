//! What one call did, noted by the layers that know (authentication: the connection and a quota refusal; the
//! Partner Center client: each attempt's status and time, and the `MS-RequestId`; the error mapping: the cause),
//! and written once, as the call's log line, by the edge.
//!
//! It lives in a task-local for the duration of the call, as the correlation ID does, so none of those layers
//! passes it along; outside a call (the administrator's commands) noting is a no-op.

use std::cell::RefCell;
use std::pin::Pin;
use std::time::Duration;

use tokio::task::futures::TaskLocalFuture;

use uuid::Uuid;

tokio::task_local! {
    static CURRENT: RefCell<CallRecord>;
}

#[derive(Clone, Debug, Default)]
pub struct CallRecord {
    /// Shared with the connection's ID, so noting it copies nothing.
    pub connection: Option<std::sync::Arc<str>>,
    /// The gateway refused the call before Partner Center saw it, for a reason a client can repeat thousands of
    /// times a second: such calls are summarised in the log, not written one line each.
    pub refused: Option<Refusal>,
    /// Partner Center's status on the last attempt.
    pub upstream_status: Option<u16>,
    pub attempts: u32,
    /// Summed over the attempts: the time spent waiting for Partner Center, without the backoff between them.
    pub upstream_time: Duration,
    pub request_id: Option<Uuid>,
    /// Why the gateway answered an error of its own (not Partner Center's error, which passes through).
    pub error: Option<String>,
}

/// Why the gateway turned a call away at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The connection's quota is spent (429).
    Quota,
    /// An upstream's circuit breaker is open (503).
    CircuitOpen,
    /// Too many calls in flight and queued (503).
    Overloaded,
    /// The shared quota count (Redis) cannot be reached, and the quota fails closed (503).
    QuotaUnavailable,
}

impl Refusal {
    pub const ALL: [Refusal; 4] = [
        Refusal::Quota,
        Refusal::CircuitOpen,
        Refusal::Overloaded,
        Refusal::QuotaUnavailable,
    ];

    /// The name the log uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Quota => "quota",
            Refusal::CircuitOpen => "circuit_open",
            Refusal::Overloaded => "overloaded",
            Refusal::QuotaUnavailable => "quota_unavailable",
        }
    }
}

/// `call` with a fresh record; [`take`] gives what it noted once it is done. A `RefCell` in the task-local,
/// not a shared lock: only the call's own task notes into it (a task it spawns does not inherit it).
pub fn scope<F: Future>(call: F) -> TaskLocalFuture<RefCell<CallRecord>, F> {
    CURRENT.scope(RefCell::default(), call)
}

/// What the call run by [`scope`] noted.
pub fn take<F: Future>(scoped: Pin<&mut TaskLocalFuture<RefCell<CallRecord>, F>>) -> CallRecord {
    scoped.take_value().unwrap_or_default().into_inner()
}

/// Notes something of the call being served; does nothing outside a call.
pub fn note(f: impl FnOnce(&mut CallRecord)) {
    let _ = CURRENT.try_with(|record| {
        if let Ok(mut record) = record.try_borrow_mut() {
            f(&mut record);
        }
    });
}
