//! The gateway's metrics: their names, declared once, and the recorder every component records into.
//!
//! Each [`Metrics`] carries its own recorder instead of the `metrics` crate's process-global one, so that
//! several gateways in one process (the black-box tests start many) count apart. Recording goes through
//! `metrics::with_local_recorder`, which only sets a thread-local pointer for the closure: the `metrics`
//! macros keep their cheap path and no component needs to know which exporter renders the numbers
//! (`startup` picks Prometheus).

use std::sync::Arc;

/// Calls answered, by `operation` (operationId) and `status` (and `connection` when configured).
pub const CALLS: &str = "pcgw_calls_total";
/// Seconds from a call's arrival to its answer, by `operation`.
pub const CALL_DURATION: &str = "pcgw_call_duration_seconds";
/// Calls being answered now.
pub const CALLS_IN_FLIGHT: &str = "pcgw_calls_in_flight";
/// Seconds of each attempt at Partner Center, by `operation` and `upstream_status` (the HTTP status, or
/// `timeout`, `error` when no answer came).
pub const UPSTREAM_DURATION: &str = "pcgw_upstream_duration_seconds";
/// Quota decisions, by `decision` (`within_limit`, `near_limit`, `over_limit`) (and `connection`).
pub const QUOTA_DECISIONS: &str = "pcgw_quota_decisions_total";
/// Connections the quota store tracks now.
pub const QUOTA_TRACKED_CONNECTIONS: &str = "pcgw_quota_tracked_connections";
/// Token lookups answered from the cache.
pub const TOKEN_CACHE_HITS: &str = "pcgw_token_cache_hits_total";
/// Token lookups that had to wait for a token request.
pub const TOKEN_CACHE_MISSES: &str = "pcgw_token_cache_misses_total";
/// Requests to the token authority, by `grant` and `outcome` (`ok`, `error`).
pub const TOKEN_REQUESTS: &str = "pcgw_token_requests_total";
/// Seconds of each token request, by `grant`.
pub const TOKEN_REQUEST_DURATION: &str = "pcgw_token_request_duration_seconds";
/// Refresh tokens rolled and persisted.
pub const REFRESH_TOKEN_ROLLS: &str = "pcgw_refresh_token_rolls_total";
/// Refresh-token exchanges that failed (refused, unreachable, or the new token not persisted).
pub const REFRESH_TOKEN_FAILURES: &str = "pcgw_refresh_token_failures_total";
/// Retries of a Partner Center call, by `reason`.
pub const RETRIES: &str = "pcgw_upstream_retries_total";
/// Each upstream's breaker, by `upstream`: 0 closed, 1 half-open, 2 open.
pub const BREAKER_STATE: &str = "pcgw_breaker_state";
/// Calls waiting for a turn to call Partner Center.
pub const ADMISSION_QUEUE_LENGTH: &str = "pcgw_admission_queue_length";
/// Calls turned away by admission, by `reason` (`queue_full`, `queue_timeout`).
pub const ADMISSION_REFUSALS: &str = "pcgw_admission_refusals_total";
/// Always 1, labelled with this build's `version` and `commit`.
pub const BUILD_INFO: &str = "pcgw_build_info";

/// An HTTP status as a label value: the statuses the gateway and Partner Center answer with are static strings,
/// so a call's labels cost no allocation; any other is formatted.
pub fn status_label(code: u16) -> metrics::SharedString {
    let known = match code {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        409 => "409",
        413 => "413",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        other => return other.to_string().into(),
    };
    known.into()
}

/// Where a component records its metrics; [`Metrics::off`] records nothing (unit tests, the administrator's
/// commands).
#[derive(Clone, Default)]
pub struct Metrics {
    recorder: Option<Arc<dyn metrics::Recorder + Send + Sync>>,
    /// `metrics.connection_label`: whether per-call metrics carry the connection ID.
    connection_label: bool,
}

impl Metrics {
    pub fn new(recorder: Arc<dyn metrics::Recorder + Send + Sync>, connection_label: bool) -> Self {
        Self {
            recorder: Some(recorder),
            connection_label,
        }
    }

    pub fn off() -> Self {
        Self::default()
    }

    /// Runs `record` (`metrics` macros) against this gateway's recorder.
    #[inline]
    pub fn record(&self, record: impl FnOnce()) {
        if let Some(recorder) = &self.recorder {
            metrics::with_local_recorder(recorder.as_ref(), record);
        }
    }

    /// What `register` makes with this gateway's recorder (a metric's handle, kept to record into later
    /// without looking the metric up again), or nothing when metrics are off.
    pub fn register<T>(&self, register: impl FnOnce() -> T) -> Option<T> {
        self.recorder
            .as_ref()
            .map(|recorder| metrics::with_local_recorder(recorder.as_ref(), register))
    }

    pub fn connection_label(&self) -> bool {
        self.connection_label
    }
}

/// A metric's handles by their labels, each made the first time its labels occur: recording through a handle is
/// an atomic add, where a `metrics` macro looks the metric up in the recorder's registry again, building and
/// hashing its key and labels. For labels of few values (operations, statuses), as the map is never pruned.
/// Hashed with rustc-hash rather than SipHash: the keys are the gateway's own operationIds, statuses and
/// failure names, never a caller's text, so no collision attack can choose them.
pub struct Handles<K, H> {
    metrics: Metrics,
    made: std::sync::RwLock<rustc_hash::FxHashMap<K, H>>,
}

impl<K: std::hash::Hash + Eq + Copy, H: Clone> Handles<K, H> {
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            metrics: metrics.clone(),
            made: std::sync::RwLock::default(),
        }
    }

    /// The handle under `key`, made by `register` the first time; none when metrics are off.
    pub fn get(&self, key: K, register: impl FnOnce() -> H) -> Option<H> {
        if let Some(handle) = self
            .made
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Some(handle.clone());
        }
        let handle = self.metrics.register(register)?;
        let mut made = self.made.write().unwrap_or_else(|p| p.into_inner());
        Some(made.entry(key).or_insert(handle).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_its_three_digits() {
        for code in [200, 429, 504, 418, 599, 100] {
            assert_eq!(status_label(code).as_ref(), code.to_string());
        }
    }
}
