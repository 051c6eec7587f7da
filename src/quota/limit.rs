//! A quota's numbers, as configured: calls per period, for every connection or one.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaSettings {
    pub calls: NonZeroU32,
    pub period_secs: NonZeroU64,
    /// Shape the quota so that no window of one period ever admits more than `calls` (see `quota`).
    pub strict_window: bool,
    /// Connections tracked at once; past it, idle ones make room first (see `quota::QuotaStore`).
    pub max_tracked_connections: NonZeroUsize,
    /// How often connections whose bucket is full again are forgotten.
    pub evict_interval_secs: NonZeroU64,
}

impl Default for QuotaSettings {
    /// The original connector's published limit: 100 calls per connection per 60 seconds.
    fn default() -> Self {
        Self {
            calls: NonZeroU32::new(100).unwrap(),
            period_secs: NonZeroU64::new(60).unwrap(),
            strict_window: false,
            max_tracked_connections: NonZeroUsize::new(1_000_000).unwrap(),
            evict_interval_secs: NonZeroU64::new(60).unwrap(),
        }
    }
}

impl QuotaSettings {
    pub fn limit(&self) -> QuotaLimit {
        QuotaLimit {
            calls: self.calls,
            period_secs: self.period_secs,
        }
    }
}

/// A number of calls per period: the global quota, or one connection's override.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QuotaLimit {
    pub calls: NonZeroU32,
    pub period_secs: NonZeroU64,
}
