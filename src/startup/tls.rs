//! HTTPS served directly: Power Platform calls custom connectors over HTTPS only, and not every deployment has a
//! proxy in front to terminate TLS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

use crate::config::{ConfigError, TlsSettings};

/// A client that opens a connection and never finishes its handshake must not hold a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// `server.tls`'s certificate chain and key as a rustls configuration, read once: validation loads it and
/// start-up reuses it. Every error names the key whose file is at fault.
pub fn server_config(tls: &TlsSettings) -> Result<Arc<ServerConfig>, ConfigError> {
    if let Some(config) = tls.loaded.get() {
        return Ok(config.clone());
    }
    let config = load(tls)?;
    Ok(tls.loaded.get_or_init(|| config).clone())
}

fn load(tls: &TlsSettings) -> Result<Arc<ServerConfig>, ConfigError> {
    const CERT: &str = "server.tls.cert_file";
    const KEY: &str = "server.tls.key_file";
    let unreadable = |key: &str, path: &std::path::Path, e: pem::Error| {
        let problem = match e {
            pem::Error::NoItemsFound if key == CERT => "has no PEM CERTIFICATE block".to_owned(),
            pem::Error::NoItemsFound => {
                "has no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)"
                    .to_owned()
            }
            e => e.to_string(),
        };
        ConfigError::key(key, format!("{}: {problem}", path.display()))
    };
    let chain = CertificateDer::pem_file_iter(&tls.cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| unreadable(CERT, &tls.cert_file, e))?;
    if chain.is_empty() {
        return Err(unreadable(CERT, &tls.cert_file, pem::Error::NoItemsFound));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key_file)
        .map_err(|e| unreadable(KEY, &tls.key_file, e))?;
    // ring explicitly: it is the provider reqwest already links, and naming it keeps aws-lc-rs out of the build.
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::key("server.tls", e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            ConfigError::key(
                KEY,
                format!(
                    "{}: not usable with the certificate in {} ({e})",
                    tls.key_file.display(),
                    tls.cert_file.display()
                ),
            )
        })?;
    // axum serves HTTP/1.1 only; offering h2 would strand clients that pick it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts TCP connections and hands axum only those that completed a TLS handshake. Handshakes run in tasks
/// of their own, so one slow or silent client does not hold up the next; a failed one is dropped unanswered.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshaken_tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    handshaken: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> Self {
        let (handshaken_tx, handshaken) = mpsc::channel(64);
        Self {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshaken_tx,
            handshaken,
        }
    }

    fn handshake(&self, stream: TcpStream, peer: SocketAddr) {
        let acceptor = self.acceptor.clone();
        let handshaken = self.handshaken_tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
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
            // Both are cancel-safe, which axum's select on the shutdown signal relies on.
            tokio::select! {
                Some(ready) = self.handshaken.recv() => return ready,
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, peer)) => self.handshake(stream, peer),
                    Err(e) => accept_error(e).await,
                },
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
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
