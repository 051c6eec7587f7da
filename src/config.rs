//! Layered configuration: one TOML file (`config/default.toml`, the sandbox profile, unless `--config FILE`
//! names another), then environment variables `PCGW_SECTION__KEY` on top.
//!
//! Unknown keys are errors: a misspelt key silently ignored is how a gateway ends up in production with the
//! sandbox's settings. Every error names the key it is about.

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::sandbox::SandboxOptions;

/// The file read when `--config` is not given, relative to the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "config/default.toml";

/// The sandbox profile's demo API keys; a profile that calls the real Partner Center must not accept them.
pub const DEMO_API_KEYS: [&str; 2] = ["demo-key-contoso", "demo-key-fabrikam"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub server: ServerSettings,
    #[serde(default)]
    pub upstream: UpstreamSettings,
    #[serde(default)]
    pub auth: AuthSettings,
    #[serde(default)]
    pub quota: QuotaSettings,
    #[serde(default)]
    pub sandbox: SandboxOptions,
    #[serde(default)]
    pub connections: Vec<ConnectionSettings>,
}

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
    /// How long a client has to send a request's whole header block; then the connection is closed, so a client
    /// trickling bytes cannot hold a connection forever.
    pub header_timeout_ms: NonZeroU64,
    /// How long a client has to send a request's whole body; then the call is answered 408.
    pub body_timeout_ms: NonZeroU64,
    /// The proxies (addresses or CIDR ranges) whose `Forwarded` / `X-Forwarded-Proto` / `X-Forwarded-Host`
    /// headers say where callers reached the gateway, when `public_base_url` is not set. Empty: nobody's, since
    /// a caller who could set them would choose the host of the links the gateway hands out.
    pub trusted_proxies: Vec<TrustedProxy>,
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
            header_timeout_ms: NonZeroU64::new(30_000).expect("not zero"),
            body_timeout_ms: NonZeroU64::new(30_000).expect("not zero"),
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSettings {
    /// Partner Center's base URL. Absent: the gateway starts its embedded sandbox and calls that.
    pub base_url: Option<Url>,
    pub connect_timeout_ms: NonZeroU64,
    /// Whole-call budget for one Partner Center (or token authority) request.
    pub timeout_ms: NonZeroU64,
    /// Retries of one call after its first attempt (see `upstream::PartnerCenter::send` for which).
    pub max_retries: u32,
    /// No retry of a read starts later than this after the call's first attempt. A write that got no answer is
    /// retried up to `max_retries` times whatever the budget: only its repeat learns whether it was stored.
    pub retry_budget_ms: u64,
    /// First backoff; it doubles per retry, with jitter.
    pub retry_base_delay_ms: u64,
    /// Consecutive failures (no answer, or 5xx) that open an upstream's circuit breaker.
    pub breaker_failures: NonZeroU32,
    /// How long an open breaker refuses calls before it lets one probe through.
    pub breaker_cooldown_secs: u64,
    /// Calls to Partner Center in flight at once.
    pub max_concurrent_calls: NonZeroUsize,
    /// Calls waiting for a turn; past it, 503 at once.
    pub max_queued_calls: usize,
    /// Longest wait for a turn; past it, 503.
    pub queue_timeout_ms: u64,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            connect_timeout_ms: NonZeroU64::new(5_000).unwrap(),
            timeout_ms: NonZeroU64::new(30_000).unwrap(),
            max_retries: 2,
            retry_budget_ms: 10_000,
            retry_base_delay_ms: 200,
            breaker_failures: NonZeroU32::new(5).unwrap(),
            breaker_cooldown_secs: 30,
            max_concurrent_calls: NonZeroUsize::new(256).unwrap(),
            max_queued_calls: 1024,
            queue_timeout_ms: 5_000,
        }
    }
}

impl UpstreamSettings {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms.get())
    }
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.get())
    }
    pub fn retry_policy(&self) -> crate::retry::RetryPolicy {
        crate::retry::RetryPolicy {
            max_retries: self.max_retries,
            budget: Duration::from_millis(self.retry_budget_ms),
            base_delay: Duration::from_millis(self.retry_base_delay_ms),
        }
    }
    pub fn breaker(
        &self,
        name: &'static str,
        clock: &crate::quota::QuotaClock,
    ) -> crate::breaker::Breaker {
        crate::breaker::Breaker::new(
            name,
            self.breaker_failures.get(),
            Duration::from_secs(self.breaker_cooldown_secs),
            clock.clone(),
        )
    }
    pub fn admission(&self) -> crate::breaker::Admission {
        crate::breaker::Admission::new(
            self.max_concurrent_calls.get(),
            self.max_queued_calls,
            Duration::from_millis(self.queue_timeout_ms),
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// The Entra authority; tokens come from `{authority}/{tenant}/oauth2/v2.0/token`. Ignored in the sandbox
    /// profile, where the sandbox is the authority.
    pub authority: Url,
    pub scope: String,
    /// Issuers whose tokens are accepted for bearer pass-through. Ignored in the sandbox profile, where the
    /// sandbox is the only issuer.
    pub issuers: Vec<IssuerSettings>,
    /// Accepted `aud` values: the Partner Center resource, by URI (v1 tokens) or application ID (v2 tokens).
    pub audiences: Vec<String>,
    /// When not empty, only tokens of these tenants (`tid`) are accepted.
    pub allowed_tenants: Vec<String>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSettings {
    /// The `iss` claim, with `{tenantid}` standing for the token's `tid`.
    pub issuer: String,
    pub jwks_uri: Url,
}

impl Default for AuthSettings {
    fn default() -> Self {
        let entra = |issuer: &str, jwks: &str| IssuerSettings {
            issuer: issuer.into(),
            jwks_uri: Url::parse(jwks).unwrap(),
        };
        Self {
            authority: Url::parse("https://login.microsoftonline.com").unwrap(),
            scope: "https://api.partnercenter.microsoft.com/.default".into(),
            issuers: vec![
                entra(
                    "https://login.microsoftonline.com/{tenantid}/v2.0",
                    "https://login.microsoftonline.com/common/discovery/v2.0/keys",
                ),
                entra(
                    "https://sts.windows.net/{tenantid}/",
                    "https://login.microsoftonline.com/common/discovery/keys",
                ),
            ],
            audiences: vec![
                "https://api.partnercenter.microsoft.com".into(),
                // Partner Center's application ID: the `aud` of v2 tokens.
                "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd".into(),
            ],
            allowed_tenants: vec![],
            leeway_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaSettings {
    pub calls: NonZeroU32,
    pub period_secs: NonZeroU64,
    /// Shape the quota so that no window of one period ever admits more than `calls` (see `quota`).
    pub strict_window: bool,
    /// Connections tracked at once; past it, idle ones make room first (see `quota::QuotaStore`).
    pub max_tracked_connections: NonZeroUsize,
    /// How often connections whose bucket is full again are forgotten.
    pub evict_interval_secs: NonZeroU64,
}

impl Default for QuotaSettings {
    /// The original connector's published limit: 100 calls per connection per 60 seconds.
    fn default() -> Self {
        Self {
            calls: NonZeroU32::new(100).unwrap(),
            period_secs: NonZeroU64::new(60).unwrap(),
            strict_window: false,
            max_tracked_connections: NonZeroUsize::new(1_000_000).unwrap(),
            evict_interval_secs: NonZeroU64::new(60).unwrap(),
        }
    }
}

impl QuotaSettings {
    pub fn limit(&self) -> QuotaLimit {
        QuotaLimit {
            calls: self.calls,
            period_secs: self.period_secs,
        }
    }
}

/// A number of calls per period: the global quota, or one connection's override.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QuotaLimit {
    pub calls: NonZeroU32,
    pub period_secs: NonZeroU64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSettings {
    pub id: String,
    /// Lower-case hex SHA-256 of the connection's API key: the key itself is never stored.
    pub api_key_sha256: String,
    pub quota: Option<QuotaLimit>,
    pub credentials: CredentialSettings,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CredentialSettings {
    /// App-only: client credentials grant.
    AppOnly {
        tenant_id: String,
        client_id: String,
        client_secret_env: Option<String>,
        client_secret_file: Option<PathBuf>,
    },
    /// App+User: a rolling refresh token kept in a file the gateway rewrites on every exchange.
    AppUser {
        tenant_id: String,
        client_id: String,
        client_secret_env: Option<String>,
        client_secret_file: Option<PathBuf>,
        refresh_token_file: PathBuf,
        /// Written to `refresh_token_file` only when that file does not exist yet (first start).
        refresh_token_seed: Option<SecretString>,
    },
}

/// A configuration problem, worded for the administrator who has to fix it.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    pub fn key(key: impl std::fmt::Display, problem: impl std::fmt::Display) -> Self {
        ConfigError(format!("`{key}`: {problem}"))
    }
}

impl Settings {
    /// Reads `file` (or [`DEFAULT_CONFIG_FILE`]) and the `PCGW_` environment, then checks what types cannot.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let path = file.unwrap_or(Path::new(DEFAULT_CONFIG_FILE));
        if !path.is_file() {
            return Err(ConfigError(format!(
                "configuration file {} not found",
                path.display()
            )));
        }
        Self::from_figment(Figment::from(Toml::file(path)).merge(Self::env()))
    }

    /// Parses a configuration given as TOML text (tests, and the embedded examples), with no environment.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::from_figment(Figment::from(Toml::string(text)))
    }

    fn env() -> Env {
        // Every key lives in a section, so a configuration variable always has a `__`. The others are not
        // ours: PCGW_CONFIG is the CLI's, and Kubernetes injects PCGW_PORT, PCGW_SERVICE_HOST, ... for a
        // Service named pcgw. Refusing them would stop start-up there; they are ignored, with a warning in
        // case one is a typo (PCGW_SERVER_LISTEN).
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if let Some(rest) = name.strip_prefix("PCGW_")
                && !rest.contains("__")
                && rest != "CONFIG"
            {
                tracing::warn!(
                    variable = %name,
                    "ignored: configuration variables name a section and a key, as in PCGW_SERVER__LISTEN"
                );
            }
        }
        Env::prefixed("PCGW_")
            .filter(|key| key.as_str().contains("__"))
            .split("__")
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(|e| ConfigError(describe(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn uses_sandbox(&self) -> bool {
        self.upstream.base_url.is_none()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.upstream.base_url {
            check_base_url("upstream.base_url", url)?;
        }
        check_base_url("auth.authority", &self.auth.authority)?;
        if let Some(url) = &self.server.public_base_url {
            check_base_url("server.public_base_url", url)?;
        }
        if self.server.max_body_bytes == 0 {
            return Err(ConfigError::key(
                "server.max_body_bytes",
                "must be more than 0",
            ));
        }
        if let Some(tls) = &self.server.tls {
            // Read now, so that an unreadable or mismatched pair stops start-up like any other bad key.
            crate::startup::tls::server_config(tls)?;
        }
        for (i, q) in std::iter::once((None, self.quota.limit())).chain(
            self.connections
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.quota.map(|q| (Some(i), q))),
        ) {
            let key = i.map_or("quota".to_owned(), |i| format!("connections[{i}].quota"));
            crate::quota::check(q).map_err(|e| ConfigError::key(key, e))?;
        }
        let demo_hashes: Vec<String> = DEMO_API_KEYS
            .iter()
            .map(|k| crate::connections::hash_api_key(k))
            .collect();
        let mut seen_ids = std::collections::HashSet::new();
        let mut seen_keys = std::collections::HashSet::new();
        let mut seen_refresh_files = std::collections::HashSet::new();
        for (i, c) in self.connections.iter().enumerate() {
            let key = |field: &str| format!("connections[{i}].{field}");
            crate::domain::ConnectionId::parse(&c.id)
                .map_err(|e| ConfigError::key(key("id"), e))?;
            if !seen_ids.insert(&c.id) {
                return Err(ConfigError::key(
                    key("id"),
                    format!("{:?} is used by another connection", c.id),
                ));
            }
            let hash = &c.api_key_sha256;
            if hash.len() != 64
                || !hash
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                return Err(ConfigError::key(
                    key("api_key_sha256"),
                    "must be 64 lower-case hex digits (sha256sum of the key)",
                ));
            }
            if !seen_keys.insert(hash) {
                return Err(ConfigError::key(
                    key("api_key_sha256"),
                    "is the same key as another connection's",
                ));
            }
            if !self.uses_sandbox() && demo_hashes.contains(hash) {
                return Err(ConfigError::key(
                    key("api_key_sha256"),
                    "is one of the sandbox's published demo keys; a profile that calls the real Partner Center \
                     (upstream.base_url is set) refuses to start with it",
                ));
            }
            let (tenant_id, client_id) = match &c.credentials {
                CredentialSettings::AppOnly {
                    tenant_id,
                    client_id,
                    client_secret_env,
                    client_secret_file,
                } => {
                    if client_secret_env.is_none() == client_secret_file.is_none() {
                        return Err(ConfigError::key(
                            key("credentials"),
                            "an app_only connection needs exactly one of client_secret_env and client_secret_file",
                        ));
                    }
                    (tenant_id, client_id)
                }
                CredentialSettings::AppUser {
                    tenant_id,
                    client_id,
                    client_secret_env,
                    client_secret_file,
                    refresh_token_file,
                    ..
                } => {
                    if client_secret_env.is_some() && client_secret_file.is_some() {
                        return Err(ConfigError::key(
                            key("credentials"),
                            "give at most one of client_secret_env and client_secret_file",
                        ));
                    }
                    // Refresh tokens roll: each exchange revokes the one before, so two connections sharing
                    // a file would keep invalidating each other's sign-in.
                    if !seen_refresh_files.insert(file_identity(refresh_token_file)) {
                        return Err(ConfigError::key(
                            key("credentials.refresh_token_file"),
                            "is another connection's refresh token file; each App+User connection needs its own",
                        ));
                    }
                    (tenant_id, client_id)
                }
            };
            // Both end up in the token request's URL path or form; anything but a GUID or a domain name is a typo.
            if !is_tenant(tenant_id) {
                return Err(ConfigError::key(
                    key("credentials.tenant_id"),
                    "must be a tenant GUID or domain name",
                ));
            }
            if client_id.is_empty()
                || !client_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(ConfigError::key(
                    key("credentials.client_id"),
                    "must be an application (client) ID",
                ));
            }
        }
        Ok(())
    }
}

/// A file's path as the file system resolves it, for telling two spellings of one file apart: `..` resolved,
/// and symlinks followed where the directory exists already (the file itself may not, on a first start).
fn file_identity(path: &Path) -> PathBuf {
    let mut absolute = PathBuf::new();
    for part in std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .components()
    {
        match part {
            std::path::Component::ParentDir => {
                absolute.pop();
            }
            std::path::Component::CurDir => {}
            part => absolute.push(part),
        }
    }
    match (
        absolute
            .parent()
            .and_then(|dir| std::fs::canonicalize(dir).ok()),
        absolute.file_name(),
    ) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => absolute,
    }
}

fn is_tenant(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn check_base_url(key: &str, url: &Url) -> Result<(), ConfigError> {
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError::key(
            key,
            format!("{url} must be an http(s) URL with a host"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::key(
            key,
            format!("{url} must not have a query or fragment"),
        ));
    }
    Ok(())
}

/// One line per error, each naming the key as it is written in the TOML file and where the value came from.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".").to_ascii_lowercase();
            let origin = match &e.metadata {
                Some(m) => match &m.source {
                    Some(source) => format!(" (in {source})"),
                    None => format!(" (from {})", m.name),
                },
                None => String::new(),
            };
            if key.is_empty() {
                format!("{}{origin}", e.kind)
            } else {
                format!("`{key}`: {}{origin}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A base URL as a string with no trailing slash, so that `{base}{path}` never doubles or drops a `/`.
pub fn trimmed(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_profiles_parse() {
        let sandbox = Settings::from_toml(include_str!("../config/default.toml")).unwrap();
        assert!(sandbox.uses_sandbox());
        assert_eq!(sandbox.server.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(sandbox.connections.len(), 2);
        let real =
            Settings::from_toml(include_str!("../config/partner-center.example.toml")).unwrap();
        assert!(!real.uses_sandbox());
    }

    #[test]
    fn errors_name_the_key() {
        let e = Settings::from_toml("[server]\nlisten = \"nowhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.listen"), "{e}");
        let e = Settings::from_toml("[server]\nlistne = \"127.0.0.1:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("listne"), "{e}");
        let e = Settings::from_toml("[quota]\ncalls = 0\nperiod_secs = 60\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("quota.calls"), "{e}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let settings = Settings::from_toml(
            "[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\", \"fd00::/8\"]\n",
        )
        .unwrap();
        let ranges: Vec<String> = settings
            .server
            .trusted_proxies
            .iter()
            .map(|p| p.0.to_string())
            .collect();
        assert_eq!(
            ranges,
            ["127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8"]
        );
        assert!(ServerSettings::default().trusted_proxies.is_empty());
        for bad in [
            "\"10.0.0.0/33\"",
            "\"proxy.internal\"",
            "\"\"",
            "\"10.0.0.1-10.0.0.9\"",
        ] {
            let e = Settings::from_toml(&format!("[server]\ntrusted_proxies = [{bad}]\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("server.trusted_proxies"), "{bad}: {e}");
        }
    }

    #[test]
    fn two_connections_cannot_share_a_refresh_token_file() {
        let second = r#"
[[connections]]
id = "contoso-second"
api_key_sha256 = "0000000000000000000000000000000000000000000000000000000000000001"
[connections.credentials]
kind = "app_user"
tenant_id = "8f5c9f0a-3f6e-4a4e-9d3b-5d3c2b1a0e9f"
client_id = "5b1e0c33-7d1f-4d8e-a1c4-0f6f3b2a9e11"
refresh_token_file = "config/../var/contoso-demo.refresh-token"
"#;
        let e = Settings::from_toml(&format!(
            "{}{second}",
            include_str!("../config/default.toml")
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("connections[2].credentials.refresh_token_file"),
            "{e}"
        );
        let own = second.replace("config/../var/contoso-demo", "var/contoso-second");
        Settings::from_toml(&format!("{}{own}", include_str!("../config/default.toml"))).unwrap();
    }

    #[test]
    fn a_real_upstream_refuses_the_demo_keys() {
        let sandbox = include_str!("../config/default.toml");
        let real = format!(
            "{sandbox}\n[upstream]\nbase_url = \"https://api.partnercenter.microsoft.com\"\n"
        );
        let e = Settings::from_toml(&real).unwrap_err().to_string();
        assert!(
            e.contains("connections[0].api_key_sha256") && e.contains("demo"),
            "{e}"
        );
    }
}
