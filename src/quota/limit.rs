//! A quota's numbers, checked: calls per period, and the GCRA shape that enforces them (see `quota`). Only
//! [`QuotaLimit::new`] makes a limit, so every limit held can be enforced.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::time::Duration;

use governor::Quota;

/// The longest period a quota may have: a century. governor counts time in u64 nanoseconds (about 584 years)
/// and panics past that; a strict window's burst and refills span up to twice the period.
const MAX_PERIOD_SECS: u64 = 100 * 365 * 24 * 3600;

/// What every connection's quota is built from.
#[derive(Debug, Clone)]
pub struct QuotaOptions {
    /// The quota of every connection without one of its own.
    pub limit: QuotaLimit,
    /// Connections tracked at once; past it, idle ones make room first (see `quota::QuotaStore`).
    pub max_tracked_connections: NonZeroUsize,
    /// How often connections whose bucket is full again are forgotten (`Quotas::evict_idle`, on the wiring's
    /// timer).
    pub evict_interval_secs: NonZeroU64,
}

/// A number of calls per period, in the shape it is enforced: the global quota, or one connection's override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimit {
    calls: NonZeroU32,
    period_secs: NonZeroU64,
    strict_window: bool,
    shape: Shape,
    gcra: Quota,
}

/// Why a quota cannot be enforced; the configuration names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("calls per period_secs is too fine to enforce")]
    TooFine,
    #[error("period_secs must be at most {MAX_PERIOD_SECS} (a hundred years)")]
    TooLong,
}

impl QuotaLimit {
    /// `calls` per `period_secs`, shaped for a strict window or not (see `quota`).
    pub fn new(
        calls: NonZeroU32,
        period_secs: NonZeroU64,
        strict_window: bool,
    ) -> Result<Self, LimitError> {
        if period_secs.get() > MAX_PERIOD_SECS {
            return Err(LimitError::TooLong);
        }
        let shape = Shape::new(calls, period_secs, strict_window).ok_or(LimitError::TooFine)?;
        let gcra = Quota::with_period(shape.step)
            .ok_or(LimitError::TooFine)?
            .allow_burst(shape.burst);
        Ok(Self {
            calls,
            period_secs,
            strict_window,
            shape,
            gcra,
        })
    }

    pub fn calls(&self) -> NonZeroU32 {
        self.calls
    }

    pub fn period_secs(&self) -> NonZeroU64 {
        self.period_secs
    }

    pub fn strict_window(&self) -> bool {
        self.strict_window
    }

    /// The most calls admitted at once, from a quiet start: `calls`, or in a strict window its first half.
    pub fn capacity(&self) -> NonZeroU32 {
        self.shape.burst
    }

    /// One of `replicas` equal shares of this quota (rounded down, at least one call), in the same shape: what
    /// each replica enforces alone while the shared count is unavailable, so that together they stay within it.
    pub fn share(&self, replicas: NonZeroU32) -> QuotaLimit {
        let calls = NonZeroU32::new(self.calls.get() / replicas.get()).unwrap_or(NonZeroU32::MIN);
        // Fewer calls over the same period is a coarser quota, so it is always enforceable.
        QuotaLimit::new(calls, self.period_secs, self.strict_window).unwrap_or(*self)
    }

    pub(super) fn shape(&self) -> Shape {
        self.shape
    }

    pub(super) fn gcra(&self) -> Quota {
        self.gcra
    }
}

/// The GCRA shape of a quota: how many calls at once, then one call per `step` (never zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Shape {
    pub(super) burst: NonZeroU32,
    pub(super) step: Duration,
}

impl Shape {
    fn new(calls: NonZeroU32, period_secs: NonZeroU64, strict_window: bool) -> Option<Shape> {
        let calls = calls.get();
        let period = Duration::from_secs(period_secs.get());
        let (burst, step) = if !strict_window {
            (calls, period.checked_div(calls)?)
        } else if calls == 1 {
            // One call per closed window of one period: the next call must come strictly after it.
            (1, period + Duration::from_nanos(1))
        } else {
            let burst = calls.div_ceil(2);
            // Rounded up: a step a nanosecond short would let one call too many into a window.
            let nanos = period.as_nanos().div_ceil(u128::from(calls - burst));
            (burst, Duration::from_nanos(u64::try_from(nanos).ok()?))
        };
        if step.is_zero() {
            return None;
        }
        Some(Shape {
            burst: NonZeroU32::new(burst)?,
            step,
        })
    }

    pub(super) fn t(&self) -> u64 {
        self.step.as_nanos() as u64
    }

    /// governor's tolerance: how far ahead of now the theoretical arrival time may run.
    pub(super) fn tau(&self) -> u64 {
        self.t() * u64::from(self.burst.get() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(calls: u32, secs: u64, strict: bool) -> Result<QuotaLimit, LimitError> {
        QuotaLimit::new(
            NonZeroU32::new(calls).unwrap(),
            NonZeroU64::new(secs).unwrap(),
            strict,
        )
    }

    #[test]
    fn shapes() {
        assert_eq!(
            limit(100, 60, false).unwrap().shape(),
            Shape {
                burst: NonZeroU32::new(100).unwrap(),
                step: Duration::from_millis(600)
            }
        );
        assert_eq!(
            limit(100, 60, true).unwrap().shape(),
            Shape {
                burst: NonZeroU32::new(50).unwrap(),
                step: Duration::from_millis(1200)
            }
        );
        assert_eq!(limit(u32::MAX, 1, false), Err(LimitError::TooFine));
        assert_eq!(
            limit(1, MAX_PERIOD_SECS + 1, false),
            Err(LimitError::TooLong)
        );
        // The longest period, in its widest shape, still fits governor's clock.
        let widest = limit(3, MAX_PERIOD_SECS, true).unwrap().shape();
        let span = u128::from(widest.burst.get()) * widest.step.as_nanos();
        assert!(span < u128::from(u64::MAX / 2), "{widest:?}");
    }
}
