//! Every operation's call counted and timed: outside authentication (see `super::operation`), so a 401 or a 429 counts
//! as a call of its operation too, and the operationId each call carries to Partner Center's metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use rustc_hash::FxHashMap as HashMap;

use crate::domain::ConnectionId;
use crate::telemetry::{self, Metrics};

/// Each route's operationId, by path template and method, as the OpenAPI document declares them. These maps, as
/// the metrics' handles below, use rustc-hash's hasher rather than SipHash: their keys are the gateway's own
/// route templates, operationIds and statuses, never a caller's text, so no collision attack can choose them,
/// and they are looked up on every call.
#[derive(Default)]
pub struct OperationIds(HashMap<String, Vec<(Method, &'static str)>>);

impl OperationIds {
    pub fn new(operations: impl IntoIterator<Item = (String, Method, &'static str)>) -> Self {
        let mut ids = Self::default();
        for (path, method, id) in operations {
            ids.0.entry(path).or_default().push((method, id));
        }
        ids
    }

    /// The operationId of `method` on the route `path`, if it is an operation's.
    pub fn get(&self, method: &Method, path: &str) -> Option<&'static str> {
        self.0
            .get(path)
            .and_then(|ops| ops.iter().find(|(m, _)| m == method))
            .map(|(_, id)| *id)
    }

    fn find(&self, method: &Method, path: &str) -> &'static str {
        self.get(method, path).unwrap_or("unknown")
    }
}

/// The operationId of the call under way, for the extractor of [`crate::upstream::CallContext`].
#[derive(Clone, Copy)]
pub struct Operation(pub &'static str);

/// The connection a call was made on, handed out by authentication only when the metrics carry it.
#[derive(Clone)]
pub(super) struct CalledOn(pub ConnectionId);

/// This gateway's handles on the per-call metrics, made on first use (the in-flight gauge with the router, so
/// it reads 0 before the first call): recording through a handle is an atomic add, where each `counter!`
/// looked the metric up in the recorder's registry again, building and hashing its key and labels (these four
/// look-ups were about 5 % of a refused call's instructions). Bounded: operations times the statuses they
/// answer. Calls labelled with their connection are not kept (one series per connection).
pub struct CallMetrics {
    metrics: Metrics,
    in_flight: Option<metrics::Gauge>,
    calls: telemetry::Handles<(&'static str, u16), metrics::Counter>,
    durations: telemetry::Handles<&'static str, metrics::Histogram>,
}

impl CallMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            metrics: metrics.clone(),
            in_flight: metrics.register(|| metrics::gauge!(telemetry::CALLS_IN_FLIGHT)),
            calls: telemetry::Handles::new(metrics),
            durations: telemetry::Handles::new(metrics),
        }
    }

    fn call(&self, operation: &'static str, status: u16) {
        let counter = self.calls.get((operation, status), || {
            metrics::counter!(
                telemetry::CALLS,
                "operation" => operation,
                "status" => telemetry::status_label(status),
            )
        });
        if let Some(counter) = counter {
            counter.increment(1);
        }
    }

    fn duration(&self, operation: &'static str, seconds: f64) {
        let histogram = self.durations.get(
            operation,
            || metrics::histogram!(telemetry::CALL_DURATION, "operation" => operation),
        );
        if let Some(histogram) = histogram {
            histogram.record(seconds);
        }
    }
}

/// A call under way: it holds the in-flight gauge up, and lowers it however the call ends, including its caller
/// hanging up (its future dropped).
pub struct InFlight<'a> {
    metrics: &'a CallMetrics,
    started: Instant,
}

impl CallMetrics {
    /// Starts counting and timing a call.
    pub fn enter(&self) -> InFlight<'_> {
        if let Some(gauge) = &self.in_flight {
            gauge.increment(1.0);
        }
        InFlight {
            metrics: self,
            started: Instant::now(),
        }
    }
}

impl InFlight<'_> {
    /// Counts and times the call that `response` answered, as operation `operation`.
    pub fn answered(self, operation: &'static str, response: &Response) {
        let metrics = self.metrics;
        let seconds = self.started.elapsed().as_secs_f64();
        drop(self);
        let status = response.status().as_u16();
        match response.extensions().get::<CalledOn>() {
            Some(CalledOn(id)) => metrics.metrics.record(|| {
                metrics::counter!(
                    telemetry::CALLS,
                    "operation" => operation,
                    "status" => telemetry::status_label(status),
                    "connection" => id.to_string(),
                )
                .increment(1)
            }),
            None => metrics.call(operation, status),
        }
        metrics.duration(operation, seconds);
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(gauge) = &self.metrics.in_flight {
            gauge.decrement(1.0);
        }
    }
}

/// The operationId of a routed request: its route's, or `unknown`.
pub fn operation_of(ids: &OperationIds, request: &Request) -> &'static str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unknown", |path| ids.find(request.method(), path.as_str()))
}
