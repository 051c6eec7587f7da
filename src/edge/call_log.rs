//! One log line per call, the one place that says what happened to it: which operation, on which connection,
//! the answer's status and Partner Center's, how many attempts, how long the gateway and Partner Center took, and
//! the IDs that find the call elsewhere (`MS-CorrelationId`, Partner Center's `MS-RequestId`, the trace-id).
//!
//! Levels: INFO, but WARN for a 5xx (the gateway or Partner Center failed), and DEBUG for a refusal by the
//! gateway's own quota and for the probes. A client that ignores `Retry-After` can be refused thousands of
//! times a second, and a line for each would drown the log and its disk; the refusals are counted by the
//! metrics, and `RUST_LOG=partner_center_gateway::edge::call_log=debug` shows each one. Kubernetes probes come
//! every few seconds from every node and say nothing about a maker's call.
//!
//! What it writes is chosen, field by field: no header or body of the caller's, so no key or token can reach it.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::observe::OperationIds;
use crate::call_record::{self, CallRecord};
use crate::correlation;
use crate::trace_context;

/// Paths that are not calls of a maker's, logged at DEBUG.
const PROBES: [&str; 2] = ["/healthz", "/readyz"];

pub async fn middleware(
    State(ids): State<Arc<OperationIds>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let operation = route.as_deref().and_then(|route| ids.get(&method, route));
    let correlation_id = correlation::current().map(|id| id.hyphenated().to_string());
    let trace_id = trace_context::current().map(|t| t.trace_id());
    // Lines written during the call (a retry, a breaker opening) carry the IDs that tie them to its line.
    let span = tracing::info_span!(
        "call",
        trace_id = trace_id.as_deref(),
        correlation_id = correlation_id.as_deref()
    );
    let (response, record) = call_record::recorded(next.run(request).instrument(span)).await;
    let line = Line {
        operation,
        method: &method,
        path: &path,
        status: response.status(),
        latency_ms: millis(started.elapsed()),
        correlation_id: correlation_id.as_deref(),
        trace_id: trace_id.as_deref(),
        record: &record,
    };
    if record.over_quota || PROBES.contains(&path.as_str()) {
        line.write(tracing::Level::DEBUG);
    } else if response.status().is_server_error() {
        line.write(tracing::Level::WARN);
    } else {
        line.write(tracing::Level::INFO);
    }
    response
}

struct Line<'a> {
    operation: Option<&'a str>,
    method: &'a Method,
    path: &'a str,
    status: StatusCode,
    latency_ms: f64,
    correlation_id: Option<&'a str>,
    trace_id: Option<&'a str>,
    record: &'a CallRecord,
}

impl Line<'_> {
    fn write(&self, level: tracing::Level) {
        let r = self.record;
        let request_id = r.request_id.map(|id| id.hyphenated().to_string());
        let upstream_latency_ms = (r.attempts > 0).then(|| millis(r.upstream_time));
        // tracing's macros take the level as a constant; one arm per level, the same fields in each.
        macro_rules! line {
            ($level:expr) => {
                tracing::event!(
                    $level,
                    operation = self.operation,
                    method = %self.method,
                    path = self.path,
                    connection = r.connection.as_deref(),
                    status = self.status.as_u16(),
                    upstream_status = r.upstream_status,
                    attempts = r.attempts,
                    latency_ms = self.latency_ms,
                    upstream_latency_ms,
                    correlation_id = self.correlation_id,
                    request_id = request_id.as_deref(),
                    trace_id = self.trace_id,
                    over_quota = r.over_quota.then_some(true),
                    error = r.error.as_deref(),
                    "call"
                )
            };
        }
        match level {
            tracing::Level::DEBUG => line!(tracing::Level::DEBUG),
            tracing::Level::WARN => line!(tracing::Level::WARN),
            _ => line!(tracing::Level::INFO),
        }
    }
}

/// Milliseconds to the microsecond: what a latency needs, and a number a log query can compare.
fn millis(d: std::time::Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}
