//! One log line per call, the one place that says what happened to it: which operation, on which connection,
//! the answer's status and Partner Center's, how many attempts, how long the gateway and Partner Center took, and
//! the IDs that find the call elsewhere (`MS-CorrelationId`, Partner Center's `MS-RequestId`, the trace-id).
//!
//! Levels: INFO, but WARN for a 5xx (the gateway or Partner Center failed), and DEBUG for a call the gateway
//! refused at once (its quota, an open circuit breaker, a full queue) and for the probes. A client that ignores
//! `Retry-After` can be refused thousands of times a second, and a line for each would drown the log and its
//! disk: the refusals are counted by the metrics, summed up every few seconds in one line per kind (see
//! [`super::refusals`]), and `RUST_LOG=partner_center_gateway::edge::call_log=debug` shows each one. Kubernetes
//! probes come every few seconds from every node and say nothing about a maker's call.
//!
//! What it writes is chosen, field by field: no header or body of the caller's, so no key or token can reach it.
//! The query is written with the operation's documented parameters (`Size`, `Offset`, `locale`, ...) as sent,
//! and every other parameter, name and value, replaced by `REDACTED=REDACTED`: a key or token put in the query
//! string by mistake must not land in the log, and it can be put there as a name (`?eyJhbGciOi...` or
//! `?pcgw_...=`) as well as a value. No pattern of names tells a harmless one from a secret (a gateway key is
//! `pcgw_` and letters and digits, as plain as any identifier, and a short password is shorter than any length
//! cut-off), so none is kept: the line still says how many parameters came, where, and which documented ones.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode, Uri};
use uuid::Uuid;

use super::observe::OperationIds;
use super::refusals::Refusals;
use crate::call_record::CallRecord;
use crate::trace_context::TraceContext;

/// Paths that are not calls of a maker's, logged at DEBUG.
const PROBES: [&str; 2] = ["/healthz", "/readyz"];

/// A query longer than this is cut in the line: the line says what was asked, it is not a copy of it.
const MAX_QUERY: usize = 1024;

/// What the call log needs besides the call: the operations' IDs, the query parameters each route documents
/// (the rest are redacted), and the refusals' summaries.
pub struct CallLog {
    pub ids: Arc<OperationIds>,
    /// Route template → its documented query parameters.
    pub documented: std::collections::HashMap<String, Vec<String>>,
    pub refusals: Arc<Refusals>,
}

impl CallLog {
    /// What the line will need of the request, taken before the request goes on to be answered: nothing of it is
    /// written out as text unless a line or the call's span is written.
    pub fn begin(&self, request: &Request) -> Begun {
        Begun {
            started: Instant::now(),
            method: request.method().clone(),
            uri: request.uri().clone(),
            route: request.extensions().get::<MatchedPath>().cloned(),
        }
    }

    /// The call's span: lines written during the call (a retry, a breaker opening) carry the IDs that tie them to
    /// its line. Its fields are written out only when the span is enabled.
    pub fn span(correlation_id: Uuid, trace: &TraceContext) -> tracing::Span {
        tracing::info_span!(
            "call",
            trace_id = trace.trace_id().as_str(),
            correlation_id = correlation_id.hyphenated().to_string().as_str()
        )
    }

    /// Writes the call's line, at the level its outcome calls for, and counts a refusal for its summary.
    pub fn finish(
        &self,
        begun: Begun,
        status: StatusCode,
        record: &CallRecord,
        correlation_id: Uuid,
        trace: &TraceContext,
    ) {
        let line = Line {
            log: self,
            begun: &begun,
            status,
            latency_ms: millis(begun.started.elapsed()),
            correlation_id,
            trace,
            record,
        };
        if let Some(kind) = record.refused {
            self.refusals.count(kind);
            line.write(tracing::Level::DEBUG);
        } else if PROBES.contains(&begun.uri.path()) {
            line.write(tracing::Level::DEBUG);
        } else if status.is_server_error() {
            line.write(tracing::Level::WARN);
        } else {
            line.write(tracing::Level::INFO);
        }
    }
}

/// A call's request as its line names it.
pub struct Begun {
    started: Instant,
    method: Method,
    uri: Uri,
    route: Option<MatchedPath>,
}

struct Line<'a> {
    log: &'a CallLog,
    begun: &'a Begun,
    status: StatusCode,
    latency_ms: f64,
    correlation_id: Uuid,
    trace: &'a TraceContext,
    record: &'a CallRecord,
}

impl Line<'_> {
    fn operation(&self) -> Option<&'static str> {
        let route = self.begun.route.as_ref()?;
        self.log.ids.get(&self.begun.method, route.as_str())
    }

    fn query(&self) -> Option<String> {
        let documented = self
            .begun
            .route
            .as_ref()
            .and_then(|route| self.log.documented.get(route.as_str()))
            .map_or(&[][..], Vec::as_slice);
        self.begun.uri.query().map(|q| redacted(q, documented))
    }

    /// The fields are computed in the macro's arguments, which tracing evaluates only when the line is
    /// enabled: a line the log level drops builds none of its strings.
    fn write(&self, level: tracing::Level) {
        let r = self.record;
        // tracing's macros take the level as a constant; one arm per level, the same fields in each.
        macro_rules! line {
            ($level:expr) => {
                tracing::event!(
                    $level,
                    operation = self.operation(),
                    method = %self.begun.method,
                    path = self.begun.uri.path(),
                    query = self.query().as_deref(),
                    connection = r.connection.as_deref(),
                    status = self.status.as_u16(),
                    upstream_status = r.upstream_status,
                    attempts = r.attempts,
                    latency_ms = self.latency_ms,
                    upstream_latency_ms = (r.attempts > 0).then(|| millis(r.upstream_time)),
                    correlation_id = self.correlation_id.hyphenated().to_string().as_str(),
                    request_id = r.request_id.map(|id| id.hyphenated().to_string()).as_deref(),
                    trace_id = self.trace.trace_id().as_str(),
                    refused = r.refused.map(|kind| kind.as_str()),
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

/// `query` with the parameters in `documented` (matched without regard to case, as the operations read them)
/// kept as sent, and every other one `REDACTED=REDACTED`, or `REDACTED` for a piece without `=` (`?eyJ...`).
fn redacted(query: &str, documented: &[String]) -> String {
    let is_documented = |raw_key: &str| {
        let key: String = form_urlencoded::parse(raw_key.as_bytes())
            .map(|(k, _)| k.into_owned())
            .next()
            .unwrap_or_default();
        documented.iter().any(|d| d.eq_ignore_ascii_case(&key))
    };
    let mut out = String::with_capacity(query.len().min(MAX_QUERY));
    for (i, piece) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match piece.split_once('=') {
            Some((key, _)) if is_documented(key) => out.push_str(piece),
            Some(_) => out.push_str("REDACTED=REDACTED"),
            None if is_documented(piece) => out.push_str(piece),
            None => out.push_str("REDACTED"),
        }
        if out.len() > MAX_QUERY {
            let mut end = MAX_QUERY;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            out.push_str("...");
            break;
        }
    }
    out
}

/// Milliseconds to the microsecond: what a latency needs, and a number a log query can compare.
fn millis(d: std::time::Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_documented_values_stay() {
        let documented = ["Size".to_owned(), "Offset".to_owned()];
        assert_eq!(
            redacted(
                "size=5&api_key=hunter2&Offset=&eyJhbGciOi&%53ize=1",
                &documented
            ),
            "size=5&REDACTED=REDACTED&Offset=&REDACTED&%53ize=1"
        );
        assert_eq!(redacted("Size=1", &[]), "REDACTED=REDACTED");
        assert_eq!(
            redacted(
                "eyJhbGciOiJSUzI1NiJ9.e30.c2ln=x&pcgw_abc=&Size",
                &documented
            ),
            "REDACTED=REDACTED&REDACTED=REDACTED&Size"
        );
        let long = redacted(&"a=b&".repeat(1000), &[]);
        assert!(
            long.len() <= MAX_QUERY + 3 && long.ends_with("..."),
            "{long}"
        );
    }
}
