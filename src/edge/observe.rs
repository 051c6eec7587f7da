//! Every operation's call counted and timed: the middleware outside authentication, so a 401 or a 429 counts
//! as a call of its operation too, and the operationId each call carries to Partner Center's metrics.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::Gateway;
use crate::domain::ConnectionId;
use crate::telemetry::{self, Metrics};

/// Each route's operationId, by path template and method, as the OpenAPI document declares them.
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

/// Lowers the in-flight gauge however the call ends, including its caller hanging up (its future dropped).
struct InFlight<'a>(&'a Metrics);

impl InFlight<'_> {
    fn enter(metrics: &Metrics) -> InFlight<'_> {
        metrics.record(|| metrics::gauge!(telemetry::CALLS_IN_FLIGHT).increment(1.0));
        InFlight(metrics)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0
            .record(|| metrics::gauge!(telemetry::CALLS_IN_FLIGHT).decrement(1.0));
    }
}

pub async fn observe(
    State((gateway, ids)): State<(Gateway, Arc<OperationIds>)>,
    mut request: Request,
    next: Next,
) -> Response {
    let operation = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unknown", |path| ids.find(request.method(), path.as_str()));
    request.extensions_mut().insert(Operation(operation));
    let started = Instant::now();
    let metrics = &gateway.metrics;
    let in_flight = InFlight::enter(metrics);
    let response = next.run(request).await;
    drop(in_flight);
    let seconds = started.elapsed().as_secs_f64();
    let status = telemetry::status_label(response.status().as_u16());
    let connection = response.extensions().get::<CalledOn>();
    metrics.record(|| {
        match connection {
            Some(CalledOn(id)) => metrics::counter!(
                telemetry::CALLS,
                "operation" => operation,
                "status" => status,
                "connection" => id.to_string(),
            )
            .increment(1),
            None => metrics::counter!(
                telemetry::CALLS,
                "operation" => operation,
                "status" => status,
            )
            .increment(1),
        }
        metrics::histogram!(telemetry::CALL_DURATION, "operation" => operation).record(seconds);
    });
    response
}
