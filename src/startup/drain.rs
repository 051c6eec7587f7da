//! Shutdown: stop accepting, let the calls in flight finish within `server.shutdown_grace_secs`, and name the
//! ones that did not.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{Method, Uri};
use tokio::sync::oneshot;
use tower::{Layer, Service};

/// The calls being answered right now, so that a shutdown that cuts some off can say which.
///
/// Every call passes through here, so it is kept cheap: calls spread over shards by an atomic counter (no
/// global lock for threads to meet at), and a call is kept as its method and URI, whose clones only bump
/// reference counts; the `METHOD path` text is made only when a shutdown has something to report.
#[derive(Clone, Default)]
pub struct InFlight(Arc<Registry>);

const SHARDS: usize = 16;

#[derive(Default)]
struct Registry {
    next_id: AtomicU64,
    shards: [Mutex<HashMap<u64, (Method, Uri)>>; SHARDS],
}

impl Registry {
    fn shard(&self, id: u64) -> std::sync::MutexGuard<'_, HashMap<u64, (Method, Uri)>> {
        self.shards[(id % SHARDS as u64) as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

impl InFlight {
    fn enter(&self, method: &Method, uri: &Uri) -> Leave {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        self.0.shard(id).insert(id, (method.clone(), uri.clone()));
        Leave(self.clone(), id)
    }

    fn open(&self) -> Vec<String> {
        (0..SHARDS as u64)
            .flat_map(|shard| {
                self.0
                    .shard(shard)
                    .values()
                    .map(|(method, uri)| format!("{method} {}", uri.path()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// Removes its call when the handler finishes or is dropped, whichever comes first.
pub struct Leave(InFlight, u64);

impl Drop for Leave {
    fn drop(&mut self) {
        self.0.0.shard(self.1).remove(&self.1);
    }
}

/// Tracks every call from the moment it is routed until its response is ready. A tower layer rather than
/// `axum::middleware::from_fn`, which cloned the rest of the stack, boxed it again and boxed and moved the
/// call's future, per call: this one wraps the route's future in place.
#[derive(Clone)]
pub struct Track(pub InFlight);

impl<S> Layer<S> for Track {
    type Service = Tracked<S>;

    fn layer(&self, inner: S) -> Tracked<S> {
        Tracked {
            inner,
            in_flight: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Tracked<S> {
    inner: S,
    in_flight: InFlight,
}

impl<S> Service<Request> for Tracked<S>
where
    S: Service<Request>,
    S::Future: Unpin,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let leave = self.in_flight.enter(request.method(), request.uri());
        TrackedFuture {
            inner: self.inner.call(request),
            leave: Some(leave),
        }
    }
}

/// The route's future, and its call's place among those in flight until it is answered (or dropped).
pub struct TrackedFuture<F> {
    inner: F,
    leave: Option<Leave>,
}

impl<F: Future + Unpin> Future for TrackedFuture<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let answered = Pin::new(&mut self.inner).poll(cx);
        if answered.is_ready() {
            self.leave = None;
        }
        answered
    }
}

/// A listener that says when it is closed: the accept loop drops it as soon as the shutdown signal arrives, and
/// from then on new connections are refused while the calls in flight finish.
pub struct Draining<L> {
    /// Taken, so closed, before the log line: whoever reads "stopped accepting" may rely on a refused connect
    /// rather than one that lands in the closing socket's backlog and is then reset.
    inner: Option<L>,
    in_flight: InFlight,
}

impl<L> Draining<L> {
    pub fn new(inner: L, in_flight: InFlight) -> Self {
        Self {
            inner: Some(inner),
            in_flight,
        }
    }

    fn listener(&self) -> &L {
        self.inner.as_ref().expect("open until dropped")
    }
}

impl<L: axum::serve::Listener> axum::serve::Listener for Draining<L> {
    type Io = L::Io;
    type Addr = L::Addr;

    fn accept(&mut self) -> impl Future<Output = (Self::Io, Self::Addr)> + Send {
        self.inner.as_mut().expect("open until dropped").accept()
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener().local_addr()
    }
}

impl<L> Drop for Draining<L> {
    fn drop(&mut self) {
        drop(self.inner.take());
        tracing::info!(
            in_flight = self.in_flight.open().len(),
            "stopped accepting connections; finishing the calls in flight"
        );
    }
}

/// Runs `served` (the graceful accept loop) to the end, unless the shutdown signal (`stopping`) came more than
/// `grace` ago: then the calls still in flight are logged and abandoned, and the result is an error so the
/// process does not exit 0 on an unclean drain.
pub async fn within_grace(
    served: impl Future<Output = std::io::Result<()>>,
    stopping: oneshot::Receiver<()>,
    grace: Duration,
    in_flight: &InFlight,
) -> std::io::Result<()> {
    let grace_over = async {
        match stopping.await {
            Ok(()) => tokio::time::sleep(grace).await,
            // The signal future was dropped unfired: there is no shutdown to time.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = served => served,
        () = grace_over => {
            let cut_off = in_flight.open();
            for call in &cut_off {
                tracing::warn!(call = %call, "cut off: still in flight when the shutdown grace period ended");
            }
            Err(std::io::Error::other(match cut_off.len() {
                0 => format!("connections still open after the {}s shutdown grace period were cut off", grace.as_secs()),
                n => format!("{n} call(s) still in flight after the {}s shutdown grace period were cut off", grace.as_secs()),
            }))
        }
    }
}
