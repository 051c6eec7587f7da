//! `GET /metrics`: this gateway's recorder, rendered in Prometheus's text format by
//! `metrics-exporter-prometheus`, with the gauges that are read rather than recorded sampled at each scrape.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::edge::Gateway;
use crate::telemetry::{self, Metrics};

/// The commit this binary was built from (`build.rs`: `PCGW_GIT_COMMIT`, else `git rev-parse`, else `unknown`);
/// `unknown` too where the build script is not part of the build (a build context that leaves it out).
const COMMIT: &str = match option_env!("PARTNER_CENTER_GATEWAY_COMMIT") {
    Some(commit) => commit,
    None => "unknown",
};

/// Seconds: from a cached token's few milliseconds to the upstream timeout's tens of seconds.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

pub(super) struct Exporter {
    pub(super) metrics: Metrics,
    pub(super) handle: PrometheusHandle,
}

impl Exporter {
    pub(super) fn new(connection_label: bool) -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics::new(Arc::new(recorder), connection_label);
        metrics.record(|| {
            metrics::gauge!(
                telemetry::BUILD_INFO,
                "version" => env!("CARGO_PKG_VERSION"),
                "commit" => COMMIT,
            )
            .set(1.0)
        });
        Self { metrics, handle }
    }
}

/// `/metrics`, unauthenticated as Prometheus expects; not an operation, so no quota counts it and no document
/// lists it.
pub(super) fn router<S>(gateway: Gateway, handle: PrometheusHandle) -> Router<S> {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state((gateway, handle))
}

static TEXT_FORMAT: HeaderValue =
    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");

async fn scrape(State((gateway, handle)): State<(Gateway, PrometheusHandle)>) -> impl IntoResponse {
    let tracked = gateway.live.load().quotas.tracked() as f64;
    let queued = gateway.admission.queued() as f64;
    gateway.metrics.record(|| {
        metrics::gauge!(telemetry::QUOTA_TRACKED_CONNECTIONS).set(tracked);
        metrics::gauge!(telemetry::ADMISSION_QUEUE_LENGTH).set(queued);
    });
    (
        [(header::CONTENT_TYPE, TEXT_FORMAT.clone())],
        handle.render(),
    )
}
