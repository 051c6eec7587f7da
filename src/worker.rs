//! Which serving worker the current thread is, and one value per worker.
//!
//! The gateway serves its connections on one single-threaded runtime per worker thread (`startup::workers`): a
//! call and everything it waits on stay on one thread, with no task handed between threads. What a call uses
//! that is tied to the runtime it was made on, such as the upstream client's pooled connections (each one a
//! task on the runtime that opened it) and the Redis quota's link, is kept once per worker in a [`PerWorker`]
//! and taken by this index, so a call does not wait on another thread's connection task. What calls use rarely
//! (the token authority's client, the JWKS, the readiness probes) stays one for all: its connection tasks run
//! on whichever runtime opened them, and are polled from there.

use std::cell::Cell;

thread_local! {
    static INDEX: Cell<usize> = const { Cell::new(0) };
}

/// This thread's worker: 1 to the number of workers on a serving worker, 0 anywhere else (the main runtime, the
/// accept loop, background tasks, tests' own runtimes).
pub fn current() -> usize {
    INDEX.with(Cell::get)
}

/// Marks this thread as serving worker `index` (from 1), for its whole life.
pub fn enter(index: usize) {
    INDEX.with(|i| i.set(index));
}

/// One `T` for each serving worker and one for every other thread.
#[derive(Debug, Clone)]
pub struct PerWorker<T>(Box<[T]>);

impl<T> PerWorker<T> {
    /// `workers` serving workers: `make` is called `workers + 1` times, the first for the other threads.
    pub fn new(workers: usize, make: impl FnMut(usize) -> T) -> Self {
        Self((0..=workers).map(make).collect())
    }

    /// As [`PerWorker::new`], for a `make` that may fail: the first failure is the answer.
    pub fn try_new<E>(workers: usize, make: impl FnMut(usize) -> Result<T, E>) -> Result<Self, E> {
        Ok(Self((0..=workers).map(make).collect::<Result<_, E>>()?))
    }

    /// The current thread's. A thread numbered past the values made (a worker of another gateway in the same
    /// process) shares one of them rather than failing.
    pub fn get(&self) -> &T {
        &self.0[current() % self.0.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_worker_thread_gets_its_own_value_and_other_threads_the_first() {
        let values = std::sync::Arc::new(PerWorker::new(2, |i| i * 10));
        assert_eq!(*values.get(), 0);
        let on = |index| {
            let values = std::sync::Arc::clone(&values);
            std::thread::spawn(move || {
                enter(index);
                *values.get()
            })
            .join()
            .unwrap()
        };
        assert_eq!((on(1), on(2), on(3)), (10, 20, 0));
    }
}
