//! The gateway's clock: real time in production, moved by hand in tests and benchmarks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::nanos::Nanos;

/// The time source of every quota, of the once-a-minute JWKS refetch window and of the circuit breakers'
/// cooldowns. Real time in production; a hand-moved clock in tests and benchmarks, so that "wait exactly
/// Retry-After" can be tested without waiting.
#[derive(Clone, Debug)]
pub enum Clock {
    Real(Instant),
    Manual(Arc<AtomicU64>),
}

impl Clock {
    pub fn real() -> Self {
        Clock::Real(Instant::now())
    }

    pub fn manual() -> Self {
        Clock::Manual(Arc::new(AtomicU64::new(0)))
    }

    /// Moves a manual clock forward; a real clock cannot be moved.
    pub fn advance(&self, by: Duration) {
        match self {
            Clock::Manual(nanos) => {
                nanos.fetch_add(
                    u64::try_from(by.as_nanos()).unwrap_or(u64::MAX),
                    Ordering::SeqCst,
                );
            }
            Clock::Real(_) => panic!("a real clock cannot be advanced"),
        }
    }
}

impl governor::clock::Clock for Clock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        match self {
            Clock::Real(origin) => Nanos::from(origin.elapsed()),
            Clock::Manual(nanos) => Nanos::from(nanos.load(Ordering::SeqCst)),
        }
    }
}
