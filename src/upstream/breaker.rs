//! Back-pressure towards an upstream that is failing or a gateway that is full.
//!
//! [`Breaker`]: after `failures_to_open` consecutive failures (no answer, or a 5xx), calls are refused at once
//! with 503 and `Retry-After` for `cooldown`, instead of each one waiting out a timeout against a service that is
//! down. Then one probe call is let through: its success closes the breaker, its failure opens it again, and so
//! does its caller going away before it was answered (the breaker waits for no verdict that will never come).
//!
//! [`Admission`]: at most `max_concurrent` calls to Partner Center at once, at most `max_queued` waiting for a
//! turn, and none waiting longer than `queue_timeout`. Past that the caller gets 503 at once: an overload is
//! answered, never queued without bound.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::nanos::Nanos;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::clock::Clock;
use crate::error::AppError;
use crate::telemetry::{self, Metrics};

#[derive(Debug)]
enum State {
    Closed {
        consecutive_failures: u32,
    },
    Open {
        until: Nanos,
    },
    /// One probe is out; everyone else waits for its verdict.
    HalfOpen {
        probe: u64,
    },
}

pub struct Breaker {
    name: &'static str,
    failures_to_open: u32,
    cooldown: Duration,
    /// The gateway's clock, so tests can end a cooldown by moving it rather than waiting.
    clock: Clock,
    state: Mutex<State>,
    /// Numbers the probes, so that a probe given up late cannot reopen a breaker that a newer probe is testing.
    probes: AtomicU64,
    /// The state's gauge, a handle made once: set on every recorded call, it was a look-up of the metric in
    /// the recorder's registry (its key and label built and hashed) on each.
    state_gauge: Option<metrics::Gauge>,
}

/// A call the breaker let through. [`Admitted::record`] gives its verdict; a probe dropped without one (its
/// caller disconnected, or moka dropped the token fetch it ran in) opens the breaker again for a cooldown, as a
/// failed probe would, so the next probe may go out after it.
#[must_use = "a call's outcome must be recorded, or a probe's breaker reopens"]
pub struct Admitted<'a> {
    breaker: &'a Breaker,
    /// Set while this call is the half-open breaker's probe and has not been recorded.
    probe: Option<u64>,
}

impl Admitted<'_> {
    pub fn record(mut self, success: bool) {
        self.probe = None;
        self.breaker.record(success);
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if let Some(probe) = self.probe {
            self.breaker.abandon(probe);
        }
    }
}

/// The breaker is open: the caller is told how long until a call may go out again.
#[derive(Debug)]
pub struct Refused {
    pub upstream: &'static str,
    pub retry_after_secs: u64,
}

impl From<Refused> for AppError {
    fn from(refused: Refused) -> Self {
        AppError::CircuitOpen {
            upstream: refused.upstream,
            retry_after_secs: refused.retry_after_secs,
        }
    }
}

impl Breaker {
    pub fn new(
        name: &'static str,
        failures_to_open: u32,
        cooldown: Duration,
        clock: Clock,
    ) -> Self {
        Self {
            name,
            failures_to_open,
            cooldown,
            clock,
            state: Mutex::new(State::Closed {
                consecutive_failures: 0,
            }),
            probes: AtomicU64::new(0),
            state_gauge: None,
        }
    }

    /// Publishes the breaker's state into `metrics` (closed now), and from then on at every change.
    pub fn recorded(mut self, metrics: Metrics) -> Self {
        let upstream = self.name;
        self.state_gauge =
            metrics.register(|| metrics::gauge!(telemetry::BREAKER_STATE, "upstream" => upstream));
        self.publish(&State::Closed {
            consecutive_failures: 0,
        });
        self
    }

    fn publish(&self, state: &State) {
        let value = match state {
            State::Closed { .. } => 0.0,
            State::HalfOpen { .. } => 1.0,
            State::Open { .. } => 2.0,
        };
        if let Some(gauge) = &self.state_gauge {
            gauge.set(value);
        }
    }

    /// May a call go out now? If not, how long until one may.
    pub fn admit(&self) -> Result<Admitted<'_>, Refused> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *state {
            State::Closed { .. } => Ok(Admitted {
                breaker: self,
                probe: None,
            }),
            State::Open { until } => {
                let now = self.clock.now();
                if now >= until {
                    let probe = self.probes.fetch_add(1, Ordering::Relaxed);
                    *state = State::HalfOpen { probe };
                    self.publish(&state);
                    tracing::info!(upstream = self.name, "circuit half-open: sending one probe");
                    Ok(Admitted {
                        breaker: self,
                        probe: Some(probe),
                    })
                } else {
                    Err(self.refusal(until.saturating_sub(now).into()))
                }
            }
            State::HalfOpen { .. } => Err(self.refusal(Duration::from_secs(1))),
        }
    }

    fn abandon(&self, probe: u64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*state, State::HalfOpen { probe: out } if out == probe) {
            tracing::warn!(
                upstream = self.name,
                cooldown_secs = self.cooldown.as_secs(),
                "circuit open: the probe's caller left before it was answered"
            );
            *state = State::Open {
                until: self.clock.now() + self.cooldown,
            };
            self.publish(&state);
        }
    }

    fn record(&self, success: bool) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *state = match (&*state, success) {
            (_, true) => {
                if !matches!(*state, State::Closed { .. }) {
                    tracing::info!(upstream = self.name, "circuit closed");
                }
                State::Closed {
                    consecutive_failures: 0,
                }
            }
            (
                State::Closed {
                    consecutive_failures,
                },
                false,
            ) if consecutive_failures + 1 < self.failures_to_open => State::Closed {
                consecutive_failures: consecutive_failures + 1,
            },
            // A failed probe, or one failure too many: stop sending calls for a while.
            (_, false) => {
                tracing::warn!(
                    upstream = self.name,
                    cooldown_secs = self.cooldown.as_secs(),
                    "circuit open"
                );
                State::Open {
                    until: self.clock.now() + self.cooldown,
                }
            }
        };
        self.publish(&state);
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The state now, as the status page shows it: `closed`, `half-open` or `open`. An open breaker whose
    /// cooldown has passed still reads `open` until the next call lets its probe out.
    pub fn state(&self) -> &'static str {
        match *self.state.lock().unwrap_or_else(|p| p.into_inner()) {
            State::Closed { .. } => "closed",
            State::HalfOpen { .. } => "half-open",
            State::Open { .. } => "open",
        }
    }

    fn refusal(&self, wait: Duration) -> Refused {
        Refused {
            upstream: self.name,
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    }
}

pub struct Admission {
    permits: Semaphore,
    queued: AtomicUsize,
    max_queued: usize,
    queue_timeout: Duration,
    metrics: Metrics,
}

impl Admission {
    pub fn new(max_concurrent: usize, max_queued: usize, queue_timeout: Duration) -> Self {
        Self {
            permits: Semaphore::new(max_concurrent),
            queued: AtomicUsize::new(0),
            max_queued,
            queue_timeout,
            metrics: Metrics::off(),
        }
    }

    /// Counts refusals into `metrics`.
    pub fn recorded(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Calls waiting for a turn now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    fn refuse(&self, reason: &'static str) -> AppError {
        self.metrics.record(|| {
            metrics::counter!(telemetry::ADMISSION_REFUSALS, "reason" => reason).increment(1)
        });
        AppError::Overloaded
    }

    pub async fn enter(&self) -> Result<SemaphorePermit<'_>, AppError> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        let place = QueuePlace::take(&self.queued);
        if place.ahead >= self.max_queued {
            return Err(self.refuse("queue_full"));
        }
        match tokio::time::timeout(self.queue_timeout, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(self.refuse("queue_timeout")),
        }
    }
}

/// A place in the queue, given back on drop however the wait ends: a turn, the queue timeout, a full queue, or
/// the caller disconnecting mid-wait (its future dropped), which no code after the `await` would see.
struct QueuePlace<'a> {
    queued: &'a AtomicUsize,
    /// Callers that were waiting when this one came.
    ahead: usize,
}

impl<'a> QueuePlace<'a> {
    fn take(queued: &'a AtomicUsize) -> Self {
        let ahead = queued.fetch_add(1, Ordering::AcqRel);
        Self { queued, ahead }
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_a_good_probe_closes_it() {
        let breaker = Breaker::new("pc", 3, Duration::ZERO, Clock::manual());
        for success in [false, false, true, false, false] {
            breaker
                .admit()
                .expect("a success in between resets the count")
                .record(success);
        }
        breaker.admit().unwrap().record(false);
        // Cooldown zero: the next call is the probe, the one after waits for it.
        let probe = breaker.admit().expect("the probe");
        assert!(breaker.admit().is_err());
        probe.record(true);
        assert!(breaker.admit().is_ok());
    }

    #[test]
    fn an_open_breaker_says_when_to_come_back() {
        let clock = Clock::manual();
        let breaker = Breaker::new("pc", 1, Duration::from_secs(30), clock.clone());
        breaker.admit().unwrap().record(false);
        clock.advance(Duration::from_millis(500));
        match breaker.admit() {
            Err(refused) => assert_eq!(refused.retry_after_secs, 30, "rounded up"),
            Ok(_) => panic!("admitted while open"),
        }
    }

    #[test]
    fn a_probe_given_up_reopens_the_breaker_for_a_cooldown() {
        let clock = Clock::manual();
        let breaker = Breaker::new("pc", 1, Duration::from_secs(30), clock.clone());
        breaker.admit().unwrap().record(false);
        clock.advance(Duration::from_secs(30));
        drop(breaker.admit().expect("the probe"));
        clock.advance(Duration::from_secs(10));
        assert_eq!(breaker.admit().err().unwrap().retry_after_secs, 20);
        clock.advance(Duration::from_secs(20));
        breaker.admit().expect("the next probe").record(true);
        assert!(
            breaker.admit().is_ok(),
            "and its success closes the breaker"
        );
    }

    #[test]
    fn a_probe_given_up_late_leaves_a_newer_probe_alone() {
        let clock = Clock::manual();
        let breaker = Breaker::new("pc", 1, Duration::from_secs(30), clock.clone());
        let slow = breaker.admit().unwrap();
        breaker.admit().unwrap().record(false);
        clock.advance(Duration::from_secs(30));
        let first_probe = breaker.admit().expect("the first probe");
        // A call admitted before the breaker opened fails late, and opens it again under the first probe.
        slow.record(false);
        clock.advance(Duration::from_secs(30));
        let second_probe = breaker.admit().expect("the second probe");
        drop(first_probe);
        assert_eq!(
            breaker.admit().err().unwrap().retry_after_secs,
            1,
            "still half-open, waiting for the second probe"
        );
        second_probe.record(true);
        assert!(breaker.admit().is_ok());
    }

    #[tokio::test]
    async fn overload_is_answered_not_queued_without_bound() {
        let admission = Admission::new(1, 1, Duration::from_secs(60));
        let _busy = admission.enter().await.unwrap();
        let waiting = admission.enter();
        tokio::pin!(waiting);
        // The queued caller is parked; a third finds the queue full and is turned away at once.
        assert!(futures_poll_once(&mut waiting).await.is_none());
        assert!(matches!(admission.enter().await, Err(AppError::Overloaded)));
    }

    #[tokio::test]
    async fn a_caller_who_leaves_the_queue_gives_its_place_back() {
        let admission = Admission::new(1, 1, Duration::from_secs(60));
        let _busy = admission.enter().await.unwrap();
        {
            let leaving = admission.enter();
            tokio::pin!(leaving);
            assert!(futures_poll_once(&mut leaving).await.is_none());
        }
        let next = admission.enter();
        tokio::pin!(next);
        assert!(
            futures_poll_once(&mut next).await.is_none(),
            "the next caller waits for a turn instead of finding the queue full"
        );
    }

    async fn futures_poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        use std::task::Poll;
        std::future::poll_fn(|cx| match std::pin::Pin::new(&mut *f).poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending => Poll::Ready(None),
        })
        .await
    }
}
