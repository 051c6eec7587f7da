//! `[server]`: where and how the gateway listens, and `[server.tls]` when it serves HTTPS itself.

use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use url::Url;

use super::{ConfigError, check_base_url};
use crate::edge::forwarded::{ForwardedField, ForwardedHeader};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// The address makers reach the gateway at; `nextLink`s are built on it. When absent, they are built from
    /// the request's `Host`, which is right for direct use but wrong behind a proxy that rewrites it.
    pub public_base_url: Option<Url>,
    /// Largest request body accepted; larger bodies are refused before they are read in full.
    pub max_body_bytes: usize,
    /// Serve HTTPS with this certificate and key; absent, plain HTTP (behind a proxy that terminates TLS).
    pub tls: Option<TlsSettings>,
    /// After SIGTERM, how long calls in flight may take to finish before the process exits anyway.
    pub shutdown_grace_secs: u64,
    /// After SIGTERM, how long the listener stays open, serving calls as before, while `/readyz` answers 503; then
    /// the drain above begins. A load balancer or Kubernetes keeps sending for a few seconds after it is told
    /// the instance is going (the endpoint's removal takes time to spread): behind one, 5 or more; alone, 0.
    pub drain_delay_secs: u64,
    /// How long a client has to send a request's whole header block; then the connection is closed, so a client
    /// trickling bytes cannot hold a connection forever.
    pub header_timeout_ms: NonZeroU64,
    /// How long a client has to send a request's whole body; then the call is answered 408.
    pub body_timeout_ms: NonZeroU64,
    /// How long a write to a client may make no progress (the client reads nothing of its answer); then the
    /// connection is closed and the answers buffered for it are freed. Without it, a client that never reads
    /// holds its connection and its buffered answers forever.
    pub write_timeout_ms: NonZeroU64,
    /// Largest request head (request line and headers) accepted; past it, 431. It bounds what an unauthenticated
    /// client makes the gateway hold per connection while it trickles or stalls its headers.
    pub max_header_bytes: usize,
    /// Longest request target (path and query) accepted; past it, 414.
    pub max_uri_bytes: usize,
    /// Connections served at once. Past it, a reserve of 32 more answer only `/healthz` and `/readyz` (so probes
    /// still see a live gateway) and 503 to anything else, each new one closing the reserve's oldest once it is
    /// full. It keeps the gateway within its file descriptors and memory.
    pub max_connections: NonZeroUsize,
    /// Threads that serve connections, each with a runtime of its own (absent: one per CPU the process may use).
    /// A connection and its calls stay on one of them, as with nginx's `worker_processes`.
    pub workers: Option<NonZeroUsize>,
    /// The proxies (addresses or CIDR ranges) whose `Forwarded` / `X-Forwarded-Proto` / `X-Forwarded-Host`
    /// headers say where callers reached the gateway, when `public_base_url` is not set. Empty: nobody's, since
    /// a caller who could set them would choose the host of the links the gateway hands out.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// The one header family the trusted proxies set, `forwarded` or `x-forwarded`; required with
    /// `trusted_proxies`. The other family is ignored: a proxy passes on what it does not manage, so a caller
    /// could set it.
    pub forwarded_header: Option<ForwardedHeader>,
    /// What of that header the proxies set: `["proto"]` (absent: this) or `["proto", "host"]`. The host is
    /// believed only when listed, since many proxies set the scheme and pass a caller's host header through.
    pub forwarded_fields: Option<Vec<ForwardedField>>,
}

/// One `server.trusted_proxies` entry: `10.0.0.5`, `10.0.0.0/8`, `::1` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TrustedProxy(pub ipnet::IpNet);

impl TryFrom<String> for TrustedProxy {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        let raw = raw.trim();
        raw.parse::<ipnet::IpNet>()
            .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map(TrustedProxy)
            .map_err(|_| {
                format!(
                    "{raw:?} is not an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8"
                )
            })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM: the server certificate first, then any intermediates.
    pub cert_file: PathBuf,
    /// PEM: the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// The pair as loaded by validation, kept so that start-up does not read and parse it a second time.
    #[serde(skip)]
    pub(crate) loaded: std::sync::OnceLock<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: ([127, 0, 0, 1], 8080).into(),
            public_base_url: None,
            max_body_bytes: 64 * 1024,
            tls: None,
            shutdown_grace_secs: 30,
            drain_delay_secs: 0,
            header_timeout_ms: NonZeroU64::new(30_000).expect("not zero"),
            body_timeout_ms: NonZeroU64::new(30_000).expect("not zero"),
            write_timeout_ms: NonZeroU64::new(30_000).expect("not zero"),
            // Browsers and proxies send a few KiB; nginx and Node.js refuse past 8–16 KiB. Twice Node's, for
            // clients with large cookies or bearer tokens (an Entra token with many groups is ~6 KiB).
            max_header_bytes: 32 * 1024,
            // The longest target the operations take is a nextLink whose 4,096-character continuation token is
            // percent-encoded at worst (3 bytes a character): ~12.5 KiB.
            max_uri_bytes: 16 * 1024,
            // Fits the common soft `nofile` limit (1,024 is raised to the hard limit at start, rarely under
            // 4,096) with room for the upstream connections and files.
            max_connections: NonZeroUsize::new(1024).expect("not zero"),
            workers: None,
            trusted_proxies: Vec::new(),
            forwarded_header: None,
            forwarded_fields: None,
        }
    }
}

impl ServerSettings {
    /// `workers`, or the CPUs this process may run on (its affinity and cgroup quota, as the standard library
    /// reads them).
    pub fn workers(&self) -> usize {
        self.workers
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.public_base_url {
            check_base_url("server.public_base_url", url)?;
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::key(
                "server.max_body_bytes",
                "must be more than 0",
            ));
        }
        self.check_budgets()?;
        self.check_forwarding()?;
        if let Some(tls) = &self.tls {
            // Read now, so that an unreadable or mismatched pair stops start-up like any other bad key.
            server_config(tls)?;
        }
        Ok(())
    }
}

/// Below this, an ordinary request with a bearer token would not fit.
const MIN_HEADER_BYTES: usize = 4 * 1024;
/// The longest target hyper itself parses.
const MAX_URI_BYTES: usize = 65_534;

impl ServerSettings {
    fn check_budgets(&self) -> Result<(), ConfigError> {
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(ConfigError::key(
                "server.max_header_bytes",
                format!("must be at least {MIN_HEADER_BYTES}"),
            ));
        }
        if self.max_uri_bytes == 0 || self.max_uri_bytes > self.max_header_bytes.min(MAX_URI_BYTES)
        {
            return Err(ConfigError::key(
                "server.max_uri_bytes",
                format!(
                    "must be more than 0 and at most server.max_header_bytes and {MAX_URI_BYTES}"
                ),
            ));
        }
        Ok(())
    }

    /// What is believed from the trusted proxies is said, not guessed: with proxies, the header they set; without,
    /// no word about headers, which would do nothing.
    fn check_forwarding(&self) -> Result<(), ConfigError> {
        const HEADER: &str = "server.forwarded_header";
        const FIELDS: &str = "server.forwarded_fields";
        if self.trusted_proxies.is_empty() {
            for (key, set) in [
                (HEADER, self.forwarded_header.is_some()),
                (FIELDS, self.forwarded_fields.is_some()),
            ] {
                if set {
                    return Err(ConfigError::key(
                        key,
                        "has no effect without server.trusted_proxies",
                    ));
                }
            }
            return Ok(());
        }
        if self.forwarded_header.is_none() {
            return Err(ConfigError::key(
                HEADER,
                "must name the header the proxies in server.trusted_proxies set: \"forwarded\" (RFC 7239) or \"x-forwarded\" (X-Forwarded-Proto and X-Forwarded-Host)",
            ));
        }
        if self.forwarded_fields.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError::key(
                FIELDS,
                "must list \"proto\", \"host\" or both",
            ));
        }
        Ok(())
    }

    /// `server.forwarded_fields`, or its default: the scheme alone.
    pub fn forwarded_fields(&self) -> &[ForwardedField] {
        self.forwarded_fields
            .as_deref()
            .unwrap_or(&[ForwardedField::Proto])
    }
}

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
    // The gateway serves HTTP/1.1 only (see `serve`); offering h2 would strand clients that pick it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The `[server]` keys whose value differs, for a reload to report (none of them can change live: the listener,
/// its TLS configuration and its timeouts are set up once). Destructured whole, so a new key cannot be missed.
pub(super) fn changed_keys(
    old: &ServerSettings,
    new: &ServerSettings,
    out: &mut Vec<&'static str>,
) {
    let ServerSettings {
        listen,
        public_base_url,
        max_body_bytes,
        tls,
        shutdown_grace_secs,
        header_timeout_ms,
        body_timeout_ms,
        write_timeout_ms,
        max_header_bytes,
        max_uri_bytes,
        max_connections,
        workers,
        trusted_proxies,
        forwarded_header,
        forwarded_fields,
        drain_delay_secs,
    } = old;
    let same_tls = match (tls, &new.tls) {
        (Some(a), Some(b)) => a.cert_file == b.cert_file && a.key_file == b.key_file,
        (None, None) => true,
        _ => false,
    };
    for (key, same) in [
        ("server.listen", *listen == new.listen),
        (
            "server.public_base_url",
            *public_base_url == new.public_base_url,
        ),
        (
            "server.max_body_bytes",
            *max_body_bytes == new.max_body_bytes,
        ),
        ("server.tls", same_tls),
        ("server.workers", *workers == new.workers),
        (
            "server.shutdown_grace_secs",
            *shutdown_grace_secs == new.shutdown_grace_secs,
        ),
        (
            "server.header_timeout_ms",
            *header_timeout_ms == new.header_timeout_ms,
        ),
        (
            "server.body_timeout_ms",
            *body_timeout_ms == new.body_timeout_ms,
        ),
        (
            "server.write_timeout_ms",
            *write_timeout_ms == new.write_timeout_ms,
        ),
        (
            "server.max_header_bytes",
            *max_header_bytes == new.max_header_bytes,
        ),
        ("server.max_uri_bytes", *max_uri_bytes == new.max_uri_bytes),
        (
            "server.max_connections",
            *max_connections == new.max_connections,
        ),
        (
            "server.trusted_proxies",
            *trusted_proxies == new.trusted_proxies,
        ),
        (
            "server.forwarded_header",
            *forwarded_header == new.forwarded_header,
        ),
        (
            "server.forwarded_fields",
            *forwarded_fields == new.forwarded_fields,
        ),
        (
            "server.drain_delay_secs",
            *drain_delay_secs == new.drain_delay_secs,
        ),
    ] {
        if !same {
            out.push(key);
        }
    }
}
