//! `[upstream]`: Partner Center's address, and how hard the gateway tries and how much it lets through.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::upstream::retry::RetryPolicy;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSettings {
    /// Partner Center's base URL. Absent: the gateway starts its embedded sandbox and calls that.
    pub base_url: Option<Url>,
    pub connect_timeout_ms: NonZeroU64,
    /// Whole-call budget for one Partner Center (or token authority) request.
    pub timeout_ms: NonZeroU64,
    /// Retries of one call after its first attempt (see `upstream::PartnerCenter::send` for which).
    pub max_retries: u32,
    /// No retry of a read starts later than this after the call's first attempt. A write that got no answer is
    /// retried up to `max_retries` times whatever the budget: only its repeat learns whether it was stored.
    pub retry_budget_ms: u64,
    /// First backoff; it doubles per retry, with jitter.
    pub retry_base_delay_ms: u64,
    /// Consecutive failures (no answer, or 5xx) that open an upstream's circuit breaker.
    pub breaker_failures: NonZeroU32,
    /// How long an open breaker refuses calls before it lets one probe through.
    pub breaker_cooldown_secs: u64,
    /// Calls to Partner Center in flight at once.
    pub max_concurrent_calls: NonZeroUsize,
    /// Calls waiting for a turn; past it, 503 at once.
    pub max_queued_calls: usize,
    /// Longest wait for a turn; past it, 503.
    pub queue_timeout_ms: u64,
    /// Largest answer read from Partner Center; past it the call is 502 and the rest is not read. Without it, a
    /// misbehaving upstream's endless body would be held whole in memory. (The token authority's answers are
    /// capped at 1 MiB: a token answer is a few KiB.)
    pub max_response_bytes: NonZeroUsize,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            connect_timeout_ms: NonZeroU64::new(5_000).unwrap(),
            timeout_ms: NonZeroU64::new(30_000).unwrap(),
            max_retries: 2,
            retry_budget_ms: 10_000,
            retry_base_delay_ms: 200,
            breaker_failures: NonZeroU32::new(5).unwrap(),
            breaker_cooldown_secs: 30,
            max_concurrent_calls: NonZeroUsize::new(256).unwrap(),
            max_queued_calls: 1024,
            queue_timeout_ms: 5_000,
            // The largest legitimate pages (500 customers, 1,000 invoices) at a kilobyte or two an item stay under
            // 2 MiB (a sandbox page of 500 customers is 0.2 MB); four times that.
            max_response_bytes: NonZeroUsize::new(8 * 1024 * 1024).unwrap(),
        }
    }
}

impl UpstreamSettings {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms.get())
    }
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.get())
    }
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries,
            budget: Duration::from_millis(self.retry_budget_ms),
            base_delay: Duration::from_millis(self.retry_base_delay_ms),
        }
    }
}

/// The `[upstream]` keys whose value differs, for a reload to report: the HTTP client, the breakers and the
/// admission queue are built once. Destructured whole, so a new key cannot be missed.
pub(super) fn changed_keys(
    old: &UpstreamSettings,
    new: &UpstreamSettings,
    out: &mut Vec<&'static str>,
) {
    let UpstreamSettings {
        base_url,
        connect_timeout_ms,
        timeout_ms,
        max_retries,
        retry_budget_ms,
        retry_base_delay_ms,
        breaker_failures,
        breaker_cooldown_secs,
        max_concurrent_calls,
        max_queued_calls,
        queue_timeout_ms,
        max_response_bytes,
    } = old;
    for (key, same) in [
        ("upstream.base_url", *base_url == new.base_url),
        (
            "upstream.connect_timeout_ms",
            *connect_timeout_ms == new.connect_timeout_ms,
        ),
        ("upstream.timeout_ms", *timeout_ms == new.timeout_ms),
        ("upstream.max_retries", *max_retries == new.max_retries),
        (
            "upstream.retry_budget_ms",
            *retry_budget_ms == new.retry_budget_ms,
        ),
        (
            "upstream.retry_base_delay_ms",
            *retry_base_delay_ms == new.retry_base_delay_ms,
        ),
        (
            "upstream.breaker_failures",
            *breaker_failures == new.breaker_failures,
        ),
        (
            "upstream.breaker_cooldown_secs",
            *breaker_cooldown_secs == new.breaker_cooldown_secs,
        ),
        (
            "upstream.max_concurrent_calls",
            *max_concurrent_calls == new.max_concurrent_calls,
        ),
        (
            "upstream.max_queued_calls",
            *max_queued_calls == new.max_queued_calls,
        ),
        (
            "upstream.queue_timeout_ms",
            *queue_timeout_ms == new.queue_timeout_ms,
        ),
        (
            "upstream.max_response_bytes",
            *max_response_bytes == new.max_response_bytes,
        ),
    ] {
        if !same {
            out.push(key);
        }
    }
}
