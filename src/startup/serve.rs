//! The accept loop: each connection served by hyper with the gateway's router, HTTP/1.1 or HTTP/2.
//!
//! axum's own `serve` runs hyper without a timer, so a client could hold a connection and its task forever by
//! sending a request's headers a byte at a time (slowloris). Here hyper has a timer, and a connection that
//! has not sent a whole header block within `server.header_timeout_ms` is closed. Shutdown is what axum's
//! does: stop accepting (the listener is dropped), ask every connection to finish its call in flight and
//! close, and wait for them.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

pub async fn serve<L>(
    mut listener: L,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    L: Listener,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            (io, _) = listener.accept() => {
                let connection = builder
                    .serve_connection(TokioIo::new(io), TowerToHyperService::new(router.clone()))
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
