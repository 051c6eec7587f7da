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
//! Shutdown is what axum's does: stop accepting (the listener is dropped), ask every connection to finish its
//! call in flight and close, and wait for them.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower_http::add_extension::AddExtension;

pub async fn serve<L>(
    mut listener: L,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            (io, peer) = listener.accept() => {
                let service = AddExtension::new(router.clone(), ConnectInfo(peer));
                let connection = builder
                    .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
                    .into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    // A connection's errors are its peer's (reset, bad request line, header timeout): hyper
                    // has answered what could be answered, and nothing here can do more.
                    if let Err(e) = connection.await {
                        tracing::trace!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
