//! The serving workers: one thread each, each running a single-threaded tokio runtime, to which the accept loop
//! hands connections in turn.
//!
//! On tokio's multi-threaded runtime a proxied call crossed threads several times: the connection's task, the
//! upstream client's connection task and the timers were polled wherever a worker was free, and every hand-over
//! is a wake-up through the other thread's queue (a futex, a cache miss, often a preemption on two cores). Here a
//! connection, its calls and the upstream connections those calls use (`crate::worker::PerWorker`) live on one
//! thread: the same shape as nginx's worker processes. The quotas, token caches and registry stay shared by
//! every worker (atomics and short locks, as before).
//!
//! The main runtime keeps the accept loop and the background tasks (reload, eviction, metrics upkeep, triggers'
//! clean-up, the embedded sandbox); a task a call spawns (a token exchange) runs on that call's worker.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

pub struct Workers {
    handles: Vec<Handle>,
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    next: AtomicUsize,
    /// How long each worker waits, once stopped, for the blocking work its calls started.
    grace: Duration,
}

impl Workers {
    /// Starts `count` workers (at least one), numbered from 1 for [`crate::worker`]. When stopped, each waits up
    /// to `grace` for the blocking work its calls started (a rolled refresh token being written to disk).
    pub fn start(count: usize, grace: Duration) -> std::io::Result<Self> {
        let mut workers = Self {
            handles: Vec::with_capacity(count),
            stops: Vec::with_capacity(count),
            threads: Vec::with_capacity(count),
            next: AtomicUsize::new(0),
            grace,
        };
        for index in 1..=count.max(1) {
            let runtime = Builder::new_current_thread().enable_all().build()?;
            let (stop, stopped) = oneshot::channel::<()>();
            workers.handles.push(runtime.handle().clone());
            workers.stops.push(stop);
            workers.threads.push(
                std::thread::Builder::new()
                    .name(format!("pcgw-worker-{index}"))
                    .spawn(move || {
                        crate::worker::enter(index);
                        // Its tasks run only while this thread blocks on the runtime; when the gateway stops
                        // (or is dropped), what is left on it is dropped with the runtime, once its blocking
                        // work has finished or `grace` has passed.
                        let _ = runtime.block_on(stopped);
                        runtime.shutdown_timeout(grace);
                    })?,
            );
        }
        Ok(workers)
    }

    /// The worker the next connection goes to: in turn, so long-lived connections spread evenly.
    pub fn next(&self) -> &Handle {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        &self.handles[turn % self.handles.len()]
    }

    /// Stops every worker and waits for their threads to end, so the process does not exit while one is still
    /// writing a refresh token; at most the `grace` they were started with, and a second more.
    pub async fn stop(mut self) {
        let grace = self.grace;
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
        let threads = std::mem::take(&mut self.threads);
        let joined = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        });
        let _ = tokio::time::timeout(grace + Duration::from_secs(1), joined).await;
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
        // Not joined: a drop may run on a runtime thread, which must not block; each thread ends on its own as
        // soon as its runtime has dropped its tasks.
        self.threads.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_go_to_the_workers_in_turn_and_each_knows_its_number() {
        let workers = Workers::start(2, Duration::from_secs(1)).unwrap();
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(
                workers
                    .next()
                    .spawn(async { crate::worker::current() })
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(seen, [1, 2, 1, 2]);
    }
}
