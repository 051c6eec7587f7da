//! When and how long to wait before asking Partner Center again.

use std::time::{Duration, SystemTime};

/// `Retry-After` in either of its forms: delay-seconds (`120`) or an HTTP date
/// (`Fri, 31 Dec 1999 23:59:59 GMT`), as a wait from `now`. A date in the past is no wait at all; anything else
/// (negative, fractional, garbage) is `None`, and the caller falls back to its own backoff.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.len() <= 10 && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_nonsense() {
        let now = httpdate::parse_http_date("Sat, 21 Nov 2026 05:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sat, 21 Nov 2026 05:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sat, 21 Nov 2026 04:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in [
            "",
            "-1",
            "1.5",
            "soon",
            "99999999999999999999",
            "Sat, 99 Nov 2026 05:00:30 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }
}

/// How hard to try: at most `max_retries` more attempts; for reads, none starting past `budget` after the first
/// (a write that got no answer is retried regardless of the budget, see `upstream::PartnerCenter::send`).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub budget: Duration,
    pub base_delay: Duration,
}

impl RetryPolicy {
    /// Exponential backoff with jitter (×0.5 to ×1.5), so callers that failed together do not return together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponential = self.base_delay.saturating_mul(1u32 << retry.min(16));
        exponential.mul_f64(rand::random_range(0.5..1.5))
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    #[test]
    fn backoff_grows_and_jitters_within_bounds() {
        let policy = RetryPolicy {
            max_retries: 2,
            budget: Duration::from_secs(10),
            base_delay: Duration::from_millis(200),
        };
        for retry in 0..4 {
            let nominal = 200.0 * f64::from(1u32 << retry);
            for _ in 0..100 {
                let ms = policy.backoff(retry).as_secs_f64() * 1000.0;
                assert!(
                    (nominal * 0.5..=nominal * 1.5).contains(&ms),
                    "{retry}: {ms}"
                );
            }
        }
    }
}
