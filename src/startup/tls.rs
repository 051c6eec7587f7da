//! HTTPS served directly: Power Platform calls custom connectors over HTTPS only, and not every deployment has a
//! proxy in front to terminate TLS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

/// A client that opens a connection and never finishes its handshake must not hold a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The handshake deadline once more than half the slots are taken: short enough that a flood of silent
/// clients cannot hold the slots for long, long enough for a real client far away.
const HANDSHAKE_TIMEOUT_UNDER_PRESSURE: Duration = Duration::from_secs(1);

/// Accepts TCP connections and hands axum only those that completed a TLS handshake. Handshakes run in tasks
/// of their own, so one slow or silent client does not hold up the next; a failed one is dropped unanswered.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshaken_tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    handshaken: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    /// One permit per handshake under way.
    room: Arc<Semaphore>,
    capacity: usize,
}

impl TlsListener {
    /// At most `handshakes` under way at once. Past this, no connection is accepted until one finishes (the
    /// kernel's backlog holds the rest, as nginx's worker_connections does), so a flood of clients that open
    /// connections and never handshake costs at most this many tasks and sockets, not one per attempt.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>, handshakes: usize) -> Self {
        let (handshaken_tx, handshaken) = mpsc::channel(64);
        Self {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshaken_tx,
            handshaken,
            room: Arc::new(Semaphore::new(handshakes)),
            capacity: handshakes,
        }
    }

    fn handshake(&self, stream: TcpStream, peer: SocketAddr, permit: OwnedSemaphorePermit) {
        let acceptor = self.acceptor.clone();
        let handshaken = self.handshaken_tx.clone();
        let deadline = match self.room.available_permits() * 2 < self.capacity {
            true => HANDSHAKE_TIMEOUT_UNDER_PRESSURE,
            false => HANDSHAKE_TIMEOUT,
        };
        tokio::spawn(async move {
            let outcome = tokio::time::timeout(deadline, acceptor.accept(stream)).await;
            drop(permit);
            match outcome {
                Ok(Ok(tls)) => {
                    // Fails only once the listener is gone (shutdown): the connection is then dropped.
                    let _ = handshaken.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // Both are cancel-safe, which the accept loop's select on the shutdown signal relies on: a permit
            // taken for an accept that loses the race is given back with it.
            tokio::select! {
                Some(ready) = self.handshaken.recv() => return ready,
                (permit, accepted) = accept_with_room(&self.tcp, &self.room) => match accepted {
                    Ok((stream, peer)) => self.handshake(stream, peer, permit),
                    Err(e) => accept_error(e).await,
                },
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The next connection, once a handshake may start.
async fn accept_with_room(
    tcp: &TcpListener,
    room: &Arc<Semaphore>,
) -> (
    OwnedSemaphorePermit,
    std::io::Result<(TcpStream, SocketAddr)>,
) {
    let permit = Arc::clone(room)
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    (permit, tcp.accept().await)
}

/// As axum does for its own TCP listener: a connection that failed before it was accepted is the peer's problem;
/// anything else (out of file descriptors, most likely) gets a pause instead of a hot loop.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::Listener;
    use tokio_rustls::rustls::crypto::ring;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    fn self_signed() -> (Arc<ServerConfig>, CertificateDer<'static>) {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = generated.cert.der().clone();
        let key = PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der());
        let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key.into())
            .unwrap();
        (Arc::new(config), cert)
    }

    #[tokio::test]
    async fn past_the_handshake_limit_no_connection_is_taken_until_a_handshake_ends() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = tcp.local_addr().unwrap();
        let (config, cert) = self_signed();
        let mut listener = TlsListener::new(tcp, config, 1);
        let (accepted_tx, mut accepted) = mpsc::channel(1);
        tokio::spawn(async move {
            loop {
                let (_, peer) = listener.accept().await;
                let _ = accepted_tx.send(peer).await;
            }
        });
        let mut roots = RootCertStore::empty();
        roots.add(cert).unwrap();
        let client = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));

        // The one handshake slot goes to a client that connects and says nothing.
        let silent = TcpStream::connect(address).await.unwrap();
        let real = tokio::spawn(async move {
            let tcp = TcpStream::connect(address).await.unwrap();
            connector
                .connect("localhost".try_into().unwrap(), tcp)
                .await
                .map(|_| ())
        });

        // Absence can only be observed for a while: half a second is long for a loopback handshake.
        assert!(
            tokio::time::timeout(Duration::from_millis(500), accepted.recv())
                .await
                .is_err(),
            "a second handshake started while the only slot was taken"
        );
        // With every slot taken, the silent client got the short deadline, not the usual 10 s: its slot frees
        // within about a second, though it is still connected.
        let peer = tokio::time::timeout(Duration::from_secs(5), accepted.recv())
            .await
            .expect("the silent client's slot was freed by the short deadline")
            .unwrap();
        drop(silent);
        assert_eq!(peer.ip(), address.ip());
        real.await
            .unwrap()
            .expect("the waiting client's handshake completed");
    }
}
