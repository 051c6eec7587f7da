//! Per-connection quotas with governor's GCRA: a bucket of `calls` that refills steadily at `calls / period`,
//! so a connection that has been quiet may spend its whole quota at once and then one call per refill step.
//!
//! Connections without an override share one keyed limiter; the few with an override (they are named in the
//! registry, so there are few) each get a limiter of their own.

use std::collections::HashMap;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::QuotaSettings;
use crate::domain::ConnectionId;

type DirectLimiter = governor::DefaultDirectRateLimiter;

pub struct Quotas {
    default: DefaultKeyedRateLimiter<ConnectionId>,
    overrides: HashMap<ConnectionId, DirectLimiter>,
    clock: DefaultClock,
}

/// Checks that a quota can be expressed: the refill step (period / calls) must be at least a nanosecond.
pub fn check(q: &QuotaSettings) -> Result<(), String> {
    to_governor(q)
        .map(|_| ())
        .ok_or_else(|| "calls per period_secs is too fine to enforce".to_owned())
}

fn to_governor(q: &QuotaSettings) -> Option<Quota> {
    let step = Duration::from_secs(q.period_secs.get()).checked_div(q.calls.get())?;
    Quota::with_period(step).map(|quota| quota.allow_burst(q.calls))
}

impl Quotas {
    pub fn new(
        default: &QuotaSettings,
        overrides: impl IntoIterator<Item = (ConnectionId, QuotaSettings)>,
    ) -> Self {
        // Settings were validated on load, so these conversions cannot fail here.
        let quota =
            |q: &QuotaSettings| to_governor(q).expect("quota validated with the configuration");
        Self {
            default: RateLimiter::keyed(quota(default)),
            overrides: overrides
                .into_iter()
                .map(|(id, q)| (id, RateLimiter::direct(quota(&q))))
                .collect(),
            clock: DefaultClock::default(),
        }
    }

    /// Admits one call, or says how many whole seconds (rounded up, at least 1) until the next one would be.
    pub fn admit(&self, connection: &ConnectionId) -> Result<(), u64> {
        let outcome = match self.overrides.get(connection) {
            Some(limiter) => limiter.check(),
            None => self.default.check_key(connection),
        };
        outcome.map_err(|not_until| retry_after_secs(not_until.wait_time_from(self.clock.now())))
    }
}

/// `Retry-After` is whole seconds; rounding down would send the caller back too early.
fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::{NonZeroU32, NonZeroU64};

    fn q(calls: u32, secs: u64) -> QuotaSettings {
        QuotaSettings {
            calls: NonZeroU32::new(calls).unwrap(),
            period_secs: NonZeroU64::new(secs).unwrap(),
        }
    }

    #[test]
    fn retry_after_rounds_up_to_at_least_one_second() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
    }

    #[test]
    fn burst_then_refusal_per_connection_with_overrides() {
        let a = ConnectionId::parse("a").unwrap();
        let b = ConnectionId::parse("b").unwrap();
        let small = ConnectionId::parse("small").unwrap();
        let quotas = Quotas::new(&q(3, 60), [(small.clone(), q(1, 3600))]);
        for _ in 0..3 {
            quotas.admit(&a).unwrap();
        }
        // One call refills every 20 s.
        let wait = quotas.admit(&a).unwrap_err();
        assert!((19..=20).contains(&wait), "{wait}");
        quotas.admit(&b).unwrap();
        quotas.admit(&small).unwrap();
        let wait = quotas.admit(&small).unwrap_err();
        assert!((3599..=3600).contains(&wait), "{wait}");
    }

    #[test]
    fn impossible_quotas_are_refused() {
        assert!(check(&q(u32::MAX, 1)).is_err());
        assert!(check(&q(100, 60)).is_ok());
    }
}
