//! Refusals in the log: a count per kind every few seconds, never a line per call.
//!
//! A client that ignores `Retry-After` can be refused by its quota, by an open circuit breaker or by a full
//! queue thousands of times a second; a line for each would fill the log's disk with one client's loop. So each refused call's own line is written at DEBUG (see
//! [`super::call_log`]), the metrics count every refusal as they count every call, and this module writes, per
//! kind, one line for each [`WINDOW`] in which some were refused: "refused 512 calls (quota) in the last 5 s"
//! (INFO for the quota, which is a client's business; WARN for the breaker and the queue, which are the
//! gateway's or Partner Center's).
//!
//! Written here rather than taken from a crate: `tracing-throttle`, the one candidate, is a subscriber layer
//! that deduplicates events by their message and fields. A refused call's line differs from the next one in its
//! correlation ID, trace ID and latency, so it would see no duplicates; and it would sit in the subscriber,
//! where it would throttle every line of the process, not count three kinds of refusal. What is needed is a
//! counter and a timer.
//!
//! How: a counter per kind, and a flag saying a window is open. The first refusal of a quiet period opens the
//! window and spawns a task that sleeps [`WINDOW`], takes the count (resetting it) and writes it; it keeps going
//! while there were refusals, and ends, closing the window, after a window with none. Counting is one atomic
//! add; nothing runs while nobody is refused. The task holds the counters weakly, so a gateway that is dropped
//! (tests build many) leaves no task behind for longer than a window.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::call_record::Refusal;

/// How often a kind's refusals are summed up in one line.
pub const WINDOW: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Counter {
    refused: AtomicU64,
    /// A task is out that will write what `refused` holds.
    window_open: AtomicBool,
}

/// The refusals since each kind's last summary line.
#[derive(Default)]
pub struct Refusals {
    counters: [Counter; Refusal::ALL.len()],
}

impl Refusals {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn counter(&self, kind: Refusal) -> &Counter {
        &self.counters[kind as usize]
    }

    /// Counts one refused call; the next summary of its kind will include it. Must run inside the runtime.
    pub fn count(self: &Arc<Self>, kind: Refusal) {
        let counter = self.counter(kind);
        counter.refused.fetch_add(1, Ordering::AcqRel);
        if !counter.window_open.swap(true, Ordering::AcqRel) {
            tokio::spawn(summarise(Arc::downgrade(self), kind));
        }
    }
}

/// Writes `kind`'s count every [`WINDOW`] while there are refusals to write.
async fn summarise(refusals: Weak<Refusals>, kind: Refusal) {
    loop {
        tokio::time::sleep(WINDOW).await;
        let Some(refusals) = refusals.upgrade() else {
            return;
        };
        match refusals.counter(kind).end_of_window() {
            EndOfWindow::Write(calls) => write(kind, calls),
            EndOfWindow::Closed => return,
        }
    }
}

/// What a window's end does: write a count and keep the window open, or close it.
#[derive(Debug, PartialEq, Eq)]
enum EndOfWindow {
    Write(u64),
    Closed,
}

impl Counter {
    fn end_of_window(&self) -> EndOfWindow {
        let calls = self.refused.swap(0, Ordering::AcqRel);
        if calls > 0 {
            return EndOfWindow::Write(calls);
        }
        self.window_open.store(false, Ordering::Release);
        // A refusal counted between the swap and the store saw the window still open and spawned no task: this
        // one reopens it, unless another refusal already has (and spawned a task of its own).
        if self.refused.load(Ordering::Acquire) > 0
            && !self.window_open.swap(true, Ordering::AcqRel)
        {
            return EndOfWindow::Write(self.refused.swap(0, Ordering::AcqRel));
        }
        EndOfWindow::Closed
    }
}

fn write(kind: Refusal, calls: u64) {
    let window_secs = WINDOW.as_secs();
    let name = kind.as_str();
    match kind {
        Refusal::Quota => tracing::info!(
            kind = name,
            calls,
            window_secs,
            "refused {calls} calls ({name}) in the last {window_secs} s"
        ),
        Refusal::CircuitOpen | Refusal::Overloaded | Refusal::QuotaUnavailable => tracing::warn!(
            kind = name,
            calls,
            window_secs,
            "refused {calls} calls ({name}) in the last {window_secs} s"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One refused call counted the way [`Refusals::count`] does; true when it would spawn a task.
    fn refuse(counter: &Counter) -> bool {
        counter.refused.fetch_add(1, Ordering::AcqRel);
        !counter.window_open.swap(true, Ordering::AcqRel)
    }

    #[test]
    fn a_burst_is_one_count_and_a_quiet_window_closes() {
        let counter = Counter::default();
        assert!(refuse(&counter), "the first refusal opens a window");
        for _ in 0..999 {
            assert!(!refuse(&counter), "the others join it");
        }
        assert_eq!(counter.end_of_window(), EndOfWindow::Write(1000));
        assert_eq!(counter.end_of_window(), EndOfWindow::Closed);
        assert!(
            refuse(&counter),
            "a refusal after a quiet window opens a new one"
        );
    }
}
