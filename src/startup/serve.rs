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
//! short header timeout and no keep-alive; past those, no connection is accepted until one ends, and new ones
//! wait in the kernel's backlog.
//!
//! Shutdown is what axum's does: stop accepting (the listener is dropped), ask every connection to finish its
//! call in flight and close, and wait for them.

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
use tower_http::add_extension::AddExtension;

use super::budgets::ProbesOnly;
use super::conn_io::{Budgeted, Limits};

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

pub async fn serve<L>(
    mut listener: L,
    router: Router,
    budgets: ConnectionBudgets,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
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
    let seats = Arc::new(Semaphore::new(budgets.max_connections));
    let reserve = Arc::new(Semaphore::new(PROBE_RESERVE));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Room first: with none, the listener is not asked for a connection, and the kernel's backlog holds it.
        let seat = tokio::select! {
            seat = take_seat(&seats, &reserve) => seat,
            () = &mut shutdown => break,
        };
        tokio::select! {
            (io, peer) = listener.accept() => {
                let io = TokioIo::new(Budgeted::new(io, budgets.limits));
                let service = AddExtension::new(router.clone(), ConnectInfo(peer));
                match seat {
                    Seat::Served(permit) => {
                        let connection = builder.serve_connection(io, TowerToHyperService::new(service));
                        spawn(graceful.watch(connection), permit);
                    }
                    Seat::Probes(permit) => {
                        let service = AddExtension::new(service, ProbesOnly);
                        let connection = probes_builder.serve_connection(io, TowerToHyperService::new(service));
                        spawn(graceful.watch(connection), permit);
                    }
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

enum Seat {
    Served(OwnedSemaphorePermit),
    Probes(OwnedSemaphorePermit),
}

/// A seat among the served connections, else one in the probes' reserve, else the first of either to free.
async fn take_seat(seats: &Arc<Semaphore>, reserve: &Arc<Semaphore>) -> Seat {
    if let Ok(permit) = Arc::clone(seats).try_acquire_owned() {
        return Seat::Served(permit);
    }
    if let Ok(permit) = Arc::clone(reserve).try_acquire_owned() {
        return Seat::Probes(permit);
    }
    tokio::select! {
        permit = Arc::clone(seats).acquire_owned() => Seat::Served(permit.expect("never closed")),
        permit = Arc::clone(reserve).acquire_owned() => Seat::Probes(permit.expect("never closed")),
    }
}

/// Serves one connection in a task of its own, which holds its seat until the connection ends.
fn spawn<F, E>(connection: F, seat: OwnedSemaphorePermit)
where
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        // A connection's errors are its peer's (reset, bad request line, header or write timeout): hyper has
        // answered what could be answered, and nothing here can do more.
        if let Err(e) = connection.await {
            tracing::trace!(error = %e, "connection ended with an error");
        }
        drop(seat);
    });
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
