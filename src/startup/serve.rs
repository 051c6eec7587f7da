//! The accept loop: each connection served by hyper with the gateway's router, over HTTP/1.1.
//!
//! axum's own `serve` runs hyper without a timer, so a client could hold a connection and its task forever by
//! sending nothing, or a request's headers a byte at a time (slowloris). Here hyper has a timer: a connection
//! that has not sent a whole header block within `server.header_timeout_ms` of opening, or of its previous
//! answer, is closed, so idle and trickling connections cost nothing for long.
//!
//! HTTP/1.1 only. Power Platform, browsers and curl reach the gateway over HTTP/1.1 (the TLS listener offers
//! only `http/1.1` in ALPN), and cleartext HTTP/2 would bring two ways to hold a connection that hyper cannot
//! time out: the protocol sniff before the first request, and an HTTP/2 connection idling between streams.
//!
//! Each request carries its connection's peer address (axum's `ConnectInfo`), from which forwarding headers are
//! believed only if it is a trusted proxy (see [`crate::edge::forwarded`]).
//!
//! Budgets (see `conn_io` and `budgets`): a request head is at most `server.max_header_bytes` (431 past it), hyper
//! buffers at most about that much a connection either way (requests pipelined ahead, answers the client has
//! not read), a write that makes no progress for `server.write_timeout_ms` ends its connection, and at most
//! `server.max_connections` connections are served at once. Past that, [`PROBE_RESERVE`] more are taken that
//! answer only the probes (so a full gateway is not restarted as a dead one) and 503 to anything else, with a
//! short header timeout and no keep-alive. A connection that has sent nothing yet holds its seat only until one
//! is needed: with every served seat taken, a new connection takes the seat of the oldest served connection that
//! is still silent (so a flood of sockets that never send a request cannot lock callers out for the header
//! timeout), else a reserve seat, else the reserve seat of the oldest silent connection there; with none silent,
//! it waits in the listen backlog until a seat is given back. A connection that has sent a byte is never closed
//! for another, so no call or probe is cut off mid-answer. The descriptors held stay within
//! `server.max_connections` plus the reserve whatever a client opens.
//!
//! Each connection is served on one of the serving workers (`super::workers`), in turn: the accept loop, on the
//! main runtime, takes the socket off its reactor and the worker registers it on its own, so the connection's
//! reads, writes, timers and calls all run on that worker's thread. A TLS connection, whose handshake the TLS
//! listener has already done on the main runtime, keeps its socket there and is served by a worker all the same.
//!
//! Shutdown is what axum's does: stop accepting (the listener is dropped), ask every connection to finish its
//! call in flight and close, and wait for them.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;
use tower_http::add_extension::AddExtension;

use super::budgets::ProbesOnly;
use super::conn_io::{Budgeted, Limits, Silence};
use super::workers::Workers;

/// Connections taken past `server.max_connections` to answer probes. A kubelet or load balancer probes over a
/// handful of connections at a time; the rest is room for a burst of them while the gateway is full.
pub const PROBE_RESERVE: usize = 32;
/// A reserve connection's header timeout: a probe sends its request at once, and a client that holds a reserve
/// slot without sending one must lose it quickly.
const PROBE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// hyper's smallest buffer.
const MIN_BUFFER: usize = 8192;

/// The connection-level budgets, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionBudgets {
    pub header_timeout: Duration,
    pub limits: Limits,
    pub max_connections: usize,
}

/// A connection the accept loop can hand to a serving worker.
pub trait Handoff:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Sized + Send + 'static
{
    type Detached: Send + 'static;
    /// Taken off the accepting runtime (on the accept loop's thread).
    fn detach(self) -> std::io::Result<Self::Detached>;
    /// Set up on the worker's runtime (on the worker's thread).
    fn attach(detached: Self::Detached) -> std::io::Result<Self>;
}

impl Handoff for tokio::net::TcpStream {
    type Detached = std::net::TcpStream;

    fn detach(self) -> std::io::Result<std::net::TcpStream> {
        // Stays non-blocking, as `from_std` needs.
        self.into_std()
    }

    fn attach(detached: std::net::TcpStream) -> std::io::Result<Self> {
        tokio::net::TcpStream::from_std(detached)
    }
}

impl Handoff for tokio_rustls::server::TlsStream<tokio::net::TcpStream> {
    // tokio-rustls cannot rebuild a stream from its parts, so the socket stays registered where it was accepted;
    // the worker polls it from there.
    type Detached = Self;

    fn detach(self) -> std::io::Result<Self> {
        Ok(self)
    }

    fn attach(detached: Self) -> std::io::Result<Self> {
        Ok(detached)
    }
}

pub async fn serve<L>(
    mut listener: L,
    router: Router,
    budgets: ConnectionBudgets,
    workers: &Workers,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    L::Io: Handoff,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(budgets.header_timeout)
        .max_header_size(budgets.limits.max_header_bytes)
        // The read buffer (a head, and requests pipelined behind it) and the write buffer (answers not yet
        // taken by the client: hyper buffers no further answer past this) are each held to about this much.
        .max_buf_size(budgets.limits.max_header_bytes.max(MIN_BUFFER));
    let mut probes_builder = builder.clone();
    probes_builder
        .keep_alive(false)
        .header_read_timeout(PROBE_HEADER_TIMEOUT.min(budgets.header_timeout));
    let mut served = Seats::new(budgets.max_connections);
    let mut reserve = Seats::new(PROBE_RESERVE);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let silence = Arc::new(Silence::default());
        let service = AddExtension::new(router.clone(), ConnectInfo(peer));
        // Waiting for a seat may last until a connection's header timeout: shutdown does not wait for it.
        let seat = tokio::select! {
            seat = take_seat(&mut served, &mut reserve) => seat,
            () = &mut shutdown => break,
        };
        let io = match io.detach() {
            Ok(io) => io,
            Err(e) => {
                tracing::debug!(error = %e, "a connection could not be handed to a worker");
                continue;
            }
        };
        let connection = Connection {
            io,
            limits: budgets.limits,
            silence: Arc::clone(&silence),
        };
        let watcher = graceful.watcher();
        match seat {
            Seat::Served(permit) => {
                let builder = builder.clone();
                let task = connection.spawn::<L::Io, _, _, _>(workers, permit, move |io| {
                    watcher.watch(builder.serve_connection(io, TowerToHyperService::new(service)))
                });
                served.seated(silence, task);
            }
            Seat::Probes(permit) => {
                let service = AddExtension::new(service, ProbesOnly);
                let builder = probes_builder.clone();
                let task = connection.spawn::<L::Io, _, _, _>(workers, permit, move |io| {
                    watcher.watch(builder.serve_connection(io, TowerToHyperService::new(service)))
                });
                reserve.seated(silence, task);
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// An accepted connection on its way to a worker.
struct Connection<D> {
    io: D,
    limits: Limits,
    silence: Arc<Silence>,
}

impl<D: Send + 'static> Connection<D> {
    /// Serves it on the next worker with `serve` (hyper's connection future, made there), in a task of its own
    /// that holds its seat until the connection ends.
    fn spawn<Io, F, C, E>(
        self,
        workers: &Workers,
        seat: OwnedSemaphorePermit,
        serve: F,
    ) -> AbortHandle
    where
        Io: Handoff<Detached = D>,
        F: FnOnce(TokioIo<Budgeted<Io>>) -> C + Send + 'static,
        C: Future<Output = Result<(), E>> + Send,
        E: std::fmt::Display,
    {
        let Self {
            io,
            limits,
            silence,
        } = self;
        workers
            .next()
            .spawn(async move {
                let _seat = seat;
                let io = match Io::attach(io) {
                    Ok(io) => io,
                    Err(e) => {
                        tracing::debug!(error = %e, "a worker could not take a connection");
                        return;
                    }
                };
                // A connection's errors are its peer's (reset, bad request line, header or write timeout): hyper
                // has answered what could be answered, and nothing here can do more.
                if let Err(e) = serve(TokioIo::new(Budgeted::new(io, limits, silence))).await {
                    tracing::trace!(error = %e, "connection ended with an error");
                }
            })
            .abort_handle()
    }
}

enum Seat {
    Served(OwnedSemaphorePermit),
    Probes(OwnedSemaphorePermit),
}

/// One kind of seat, and its connections that had sent nothing when last looked at, oldest first.
struct Seats {
    free: Arc<Semaphore>,
    silent: VecDeque<(Arc<Silence>, AbortHandle)>,
    capacity: usize,
}

impl Seats {
    fn new(capacity: usize) -> Self {
        Self {
            free: Arc::new(Semaphore::new(capacity)),
            silent: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.free).try_acquire_owned().ok()
    }

    fn seated(&mut self, silence: Arc<Silence>, task: AbortHandle) {
        // At most `capacity` of them are alive; the rest (ended, or heard since) are dropped before the list
        // holds twice that, so it stays bounded however many connections come and go.
        if self.silent.len() >= 2 * self.capacity.max(1) {
            self.silent
                .retain(|(silence, task)| silence.is_silent() && !task.is_finished());
        }
        self.silent.push_back((silence, task));
    }

    /// Closes the oldest connection that has still sent nothing; false when there is none. Its task gives the
    /// seat back as soon as it is dropped.
    fn close_oldest_silent(&mut self) -> bool {
        while let Some((silence, task)) = self.silent.pop_front() {
            // A connection heard from is never a candidate again; `take` settles the race with its first byte.
            if !task.is_finished() && silence.take() {
                task.abort();
                return true;
            }
        }
        false
    }
}

/// A served seat if one is free or held by a connection that has sent nothing yet; else one in the probes'
/// reserve, free or taken from a silent connection there; else the first seat given back (the new connection
/// waits, and those behind it wait in the listen backlog). So a probe gets in unless every seat is held by a
/// connection with a request under way, and no connection is closed once it has sent a byte.
async fn take_seat(served: &mut Seats, reserve: &mut Seats) -> Seat {
    if let Some(permit) = served.try_take() {
        return Seat::Served(permit);
    }
    if served.close_oldest_silent() {
        let permit = Arc::clone(&served.free).acquire_owned().await;
        return Seat::Served(permit.expect("never closed"));
    }
    if let Some(permit) = reserve.try_take() {
        return Seat::Probes(permit);
    }
    reserve.close_oldest_silent();
    tokio::select! {
        permit = Arc::clone(&served.free).acquire_owned() => Seat::Served(permit.expect("never closed")),
        permit = Arc::clone(&reserve.free).acquire_owned() => Seat::Probes(permit.expect("never closed")),
    }
}

/// Raises the soft `nofile` limit to the hard one (many systems start services at 1,024) and warns when the
/// budgets need more descriptors than that: past the limit, `accept` fails and calls stall.
pub fn raise_descriptor_limit(needed: u64) {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open files limit (nofile)");
            return;
        }
    };
    if needed > limit {
        tracing::warn!(
            needed,
            limit,
            "the connection budget needs more file descriptors than the open files limit (nofile) allows: raise \
             the hard limit (ulimit -Hn, systemd LimitNOFILE=, Kubernetes' container runtime) or lower \
             server.max_connections or upstream.max_concurrent_calls"
        );
    } else {
        tracing::debug!(needed, limit, "open files limit");
    }
}
