//! The gateway's clock: real time in production, moved by hand in tests and benchmarks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use governor::nanos::Nanos;
use time::OffsetDateTime;

/// The time source of every quota, of the once-a-minute JWKS refetch window, of the circuit breakers' cooldowns
/// and of API keys' expiry dates. Real time in production; a hand-moved clock in tests and benchmarks, so that
/// "wait exactly Retry-After" or "the key expired yesterday" can be tested without waiting.
#[derive(Clone, Debug)]
pub enum Clock {
    Real(Instant),
    /// Nanoseconds moved so far, and the calendar time it started at (the real one, when it was made).
    Manual {
        nanos: Arc<AtomicU64>,
        started: SystemTime,
    },
}

impl Clock {
    pub fn real() -> Self {
        Clock::Real(Instant::now())
    }

    pub fn manual() -> Self {
        Clock::Manual {
            nanos: Arc::new(AtomicU64::new(0)),
            started: SystemTime::now(),
        }
    }

    /// Moves a manual clock forward; a real clock cannot be moved.
    pub fn advance(&self, by: Duration) {
        match self {
            Clock::Manual { nanos, .. } => {
                nanos.fetch_add(
                    u64::try_from(by.as_nanos()).unwrap_or(u64::MAX),
                    Ordering::SeqCst,
                );
            }
            Clock::Real(_) => panic!("a real clock cannot be advanced"),
        }
    }

    /// The calendar time now, for dates written in the configuration (an API key's `expires`). A manual clock
    /// starts at the real time it was made and moves only when advanced.
    pub fn now_utc(&self) -> OffsetDateTime {
        match self {
            Clock::Real(_) => OffsetDateTime::now_utc(),
            Clock::Manual { nanos, started } => {
                OffsetDateTime::from(*started + Duration::from_nanos(nanos.load(Ordering::SeqCst)))
            }
        }
    }
}

impl governor::clock::Clock for Clock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        match self {
            Clock::Real(origin) => Nanos::from(origin.elapsed()),
            Clock::Manual { nanos, .. } => Nanos::from(nanos.load(Ordering::SeqCst)),
        }
    }
}
