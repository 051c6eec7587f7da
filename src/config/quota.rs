//! `[quota]`: each connection's calls per period and its shape, and how many connections are tracked; and a
//! connection's own `quota = { calls, period_secs }`. Both are parsed at load into `quota`'s checked types.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use serde::Deserialize;

use super::ConfigError;
use super::redis::QuotaBackend;
use crate::quota::{QuotaLimit, QuotaOptions};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaSettings {
    pub calls: NonZeroU32,
    pub period_secs: NonZeroU64,
    /// Shape the quota so that no window of one period ever admits more than `calls` (see `quota`); the
    /// connections' own quotas too.
    pub strict_window: bool,
    /// Connections tracked at once; past it, idle ones make room first (see `quota::QuotaStore`).
    pub max_tracked_connections: NonZeroUsize,
    /// How often connections whose bucket is full again are forgotten.
    pub evict_interval_secs: NonZeroU64,
    /// `memory` (this process counts) or `redis` (every replica shares one count; see `[redis]`).
    pub backend: QuotaBackend,
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
            backend: QuotaBackend::Memory,
        }
    }
}

impl QuotaSettings {
    pub(super) fn parse(&self) -> Result<QuotaOptions, ConfigError> {
        let limit = LimitSettings {
            calls: self.calls,
            period_secs: self.period_secs,
        };
        Ok(QuotaOptions {
            limit: limit.parse("quota", self.strict_window)?,
            max_tracked_connections: self.max_tracked_connections,
            evict_interval_secs: self.evict_interval_secs,
        })
    }
}

/// A number of calls per period: one connection's `quota`, shaped as `[quota]` says.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub calls: NonZeroU32,
    pub period_secs: NonZeroU64,
}

impl LimitSettings {
    /// `key` is where the limit is written, for the error.
    pub(super) fn parse(self, key: &str, strict_window: bool) -> Result<QuotaLimit, ConfigError> {
        QuotaLimit::new(self.calls, self.period_secs, strict_window)
            .map_err(|e| ConfigError::key(key, e))
    }
}
