//! Layered configuration: one TOML file (`config/default.toml`, the sandbox profile, unless `--config FILE`
//! names another), then environment variables `PCGW_SECTION__KEY` on top.
//!
//! Unknown keys are errors: a misspelt key silently ignored is how a gateway ends up in production with the
//! sandbox's settings. Every error names the key it is about.

mod admin;
mod api_keys;
mod auth;
mod connections;
mod file;
mod log;
mod metrics;
mod quota;
mod redis;
mod server;
mod triggers;
mod upstream;

use std::path::{Path, PathBuf};

use figment::providers::Env;
use figment::{Figment, Metadata, Source};
use serde::Deserialize;
use url::Url;

use crate::connection::ApiKey;
use crate::quota::{QuotaOptions, SharedOptions};
use crate::sandbox::SandboxOptions;
pub use admin::AdminSettings;
pub use api_keys::{Expiry, KeyHashes, KeySettings};
pub use auth::{AuthSettings, IssuerSettings};
pub use connections::{ConnectionSettings, CredentialSettings, RegisteredConnection};
pub use log::{LogFormat, LogSettings};
pub use metrics::MetricsSettings;
pub use quota::{LimitSettings, QuotaSettings};
pub use redis::{QuotaBackend, RedisSettings};
pub use server::{ServerSettings, TlsSettings, server_config};
pub use triggers::TriggerSettings;
pub use upstream::UpstreamSettings;

/// The file read when `--config` is not given, relative to the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "config/default.toml";

/// The sandbox profile's demo API keys; a profile that calls the real Partner Center must not accept them.
pub const DEMO_API_KEYS: [&str; 2] = ["demo-key-contoso", "demo-key-fabrikam"];

/// The configuration as written: one table per section, `[[connections]]` aside (see [`file`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: ServerSettings,
    #[serde(default)]
    upstream: UpstreamSettings,
    #[serde(default)]
    auth: AuthSettings,
    #[serde(default)]
    quota: QuotaSettings,
    #[serde(default)]
    redis: RedisSettings,
    #[serde(default)]
    sandbox: SandboxOptions,
    #[serde(default)]
    admin: AdminSettings,
    #[serde(default)]
    metrics: MetricsSettings,
    #[serde(default)]
    log: LogSettings,
    #[serde(default)]
    triggers: TriggerSettings,
}

/// The configuration, checked, in the components' own types.
#[derive(Debug)]
pub struct Settings {
    pub server: ServerSettings,
    pub upstream: UpstreamSettings,
    pub auth: AuthSettings,
    pub quota: QuotaOptions,
    /// `quota.backend = "redis"`: where the shared count lives; none with the memory backend.
    pub redis: Option<SharedOptions>,
    pub sandbox: SandboxOptions,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    pub triggers: TriggerSettings,
    pub connections: Vec<RegisteredConnection>,
    /// The keys of `POST /admin/reload`; none: the endpoint is off.
    pub admin_keys: Vec<ApiKey>,
    /// Where this configuration was read from, to read it again on a reload.
    origin: Origin,
}

/// A configuration's source: a file (with the `PCGW_` environment over it), or TOML text.
#[derive(Clone)]
enum Origin {
    File(PathBuf),
    Text(String),
}

/// The text is not shown: it may hold a refresh token seed, which the parsed settings keep secret.
impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File(path) => f.debug_tuple("File").field(path).finish(),
            Origin::Text(text) => write!(f, "Text({} bytes)", text.len()),
        }
    }
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
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        let file = file::split(&text, &path.display().to_string())?;
        let tables = file::Tables {
            tables: file.tables,
            metadata: Metadata::named("TOML file").source(Source::File(path.to_owned())),
        };
        Self::from_figment(
            Figment::from(tables).merge(Self::env()),
            file.connections,
            Origin::File(path.to_owned()),
        )
    }

    /// `log.format` from the file (or [`DEFAULT_CONFIG_FILE`]) and `PCGW_LOG__FORMAT`, read before anything else
    /// so that the whole log, the loading's own warnings included, is in one format. Anything unreadable is the
    /// default here: the full load that follows reports it.
    pub fn log_format(file: Option<&Path>) -> LogFormat {
        let path = file.unwrap_or(Path::new(DEFAULT_CONFIG_FILE));
        let env = Env::prefixed("PCGW_LOG__").map(|key| format!("log.{key}").into());
        let tables = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| file::split(&text, &path.display().to_string()).ok())
            .map(|split| split.tables)
            .unwrap_or_default();
        let tables = file::Tables {
            tables,
            metadata: Metadata::named("TOML file").source(Source::File(path.to_owned())),
        };
        Figment::from(tables)
            .merge(env)
            .extract_inner::<LogFormat>("log.format")
            .unwrap_or_default()
    }

    /// Parses a configuration given as TOML text (tests, and the embedded examples), with no environment.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        const SOURCE: &str = "TOML source string";
        let file = file::split(text, SOURCE)?;
        let tables = file::Tables {
            tables: file.tables,
            metadata: Metadata::named(SOURCE),
        };
        Self::from_figment(
            Figment::from(tables),
            file.connections,
            Origin::Text(text.to_owned()),
        )
    }

    /// Reads the configuration again from where this one came from: the same file and the `PCGW_` environment
    /// (which a process cannot have changed under it), or the same text.
    pub fn reread(&self) -> Result<Self, ConfigError> {
        match &self.origin {
            Origin::File(path) => Self::load(Some(path)),
            Origin::Text(text) => Self::from_toml(text),
        }
    }

    /// The keys whose value in `new` differs from this configuration's and that a running gateway cannot take
    /// on: every setting but `[[connections]]`, `[admin]` and `[quota]`'s numbers, which a reload applies.
    pub fn needs_restart(&self, new: &Settings) -> Vec<&'static str> {
        let mut changed = Vec::new();
        server::changed_keys(&self.server, &new.server, &mut changed);
        upstream::changed_keys(&self.upstream, &new.upstream, &mut changed);
        auth::changed_keys(&self.auth, &new.auth, &mut changed);
        self.triggers.changed_keys(&new.triggers, &mut changed);
        redis::changed_keys(&self.redis, &new.redis, &mut changed);
        if self.quota.evict_interval_secs != new.quota.evict_interval_secs {
            changed.push("quota.evict_interval_secs");
        }
        if self.metrics.connection_label != new.metrics.connection_label {
            changed.push("metrics.connection_label");
        }
        if self.metrics.listen != new.metrics.listen {
            changed.push("metrics.listen");
        }
        if self.log.format != new.log.format {
            changed.push("log.format");
        }
        // The sandbox crate's options have no PartialEq; their Debug form shows every field.
        if format!("{:?}", self.sandbox) != format!("{:?}", new.sandbox) {
            changed.push("sandbox");
        }
        changed
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

    fn from_figment(
        figment: Figment,
        connections: Vec<ConnectionSettings>,
        origin: Origin,
    ) -> Result<Self, ConfigError> {
        let file: File = figment.extract().map_err(|e| ConfigError(describe(e)))?;
        Self::parse(file, connections, origin)
    }

    pub fn uses_sandbox(&self) -> bool {
        self.upstream.base_url.is_none()
    }

    fn parse(
        file: File,
        connections: Vec<ConnectionSettings>,
        origin: Origin,
    ) -> Result<Self, ConfigError> {
        if let Some(url) = &file.upstream.base_url {
            check_base_url("upstream.base_url", url)?;
        }
        check_base_url("auth.authority", &file.auth.authority)?;
        file.server.check()?;
        let quota = file.quota.parse()?;
        let redis = file.redis.parse(file.quota.backend)?;
        let mut keys = api_keys::KeyOwners::new(file.upstream.base_url.is_none());
        let connections = connections::parse(connections, &mut keys, file.quota.strict_window)?;
        let admin_keys = admin::parse(file.admin, &mut keys)?;
        file.triggers.check(file.upstream.base_url.is_none())?;
        Ok(Settings {
            connections,
            admin_keys,
            origin,
            server: file.server,
            upstream: file.upstream,
            auth: file.auth,
            quota,
            redis,
            sandbox: file.sandbox,
            metrics: file.metrics,
            log: file.log,
            triggers: file.triggers,
        })
    }
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
            // A list's elements as the gateway's own errors name them: `connections[0].id`, not `connections.0.id`.
            let mut key = String::new();
            for part in &e.path {
                match part.parse::<usize>() {
                    Ok(index) => key.push_str(&format!("[{index}]")),
                    Err(_) if key.is_empty() => key.push_str(part),
                    Err(_) => key.push_str(&format!(".{part}")),
                }
            }
            let key = key.to_ascii_lowercase();
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

    const TRIGGER_KEY: &str = "[triggers]\nsigning_key = \"0123456789abcdef0123456789abcdef\"\n";

    #[test]
    fn a_real_partner_center_needs_the_triggers_signing_key() {
        let real = "[upstream]\nbase_url = \"https://api.partnercenter.microsoft.com\"\n";
        let e = Settings::from_toml(real).unwrap_err().to_string();
        assert!(e.contains("triggers.signing_key_file"), "{e}");
        Settings::from_toml(&format!("{real}{TRIGGER_KEY}")).unwrap();
    }

    #[test]
    fn triggers_read_two_minutes_behind_a_real_partner_center_and_at_once_in_the_sandbox() {
        let real = "[upstream]\nbase_url = \"https://api.partnercenter.microsoft.com\"\n";
        let settings = Settings::from_toml(&format!("{real}{TRIGGER_KEY}")).unwrap();
        assert_eq!(settings.triggers.lag_secs(settings.uses_sandbox()), 120);
        let settings = Settings::from_toml("").unwrap();
        assert_eq!(settings.triggers.lag_secs(settings.uses_sandbox()), 0);
        let settings = Settings::from_toml(&format!("{real}{TRIGGER_KEY}lag_secs = 30\n")).unwrap();
        assert_eq!(settings.triggers.lag_secs(settings.uses_sandbox()), 30);
    }

    #[test]
    fn the_shipped_profiles_parse() {
        let sandbox = Settings::from_toml(include_str!("../../config/default.toml")).unwrap();
        assert!(sandbox.uses_sandbox());
        assert_eq!(sandbox.server.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(sandbox.connections.len(), 2);
        let real =
            Settings::from_toml(include_str!("../../config/partner-center.example.toml")).unwrap();
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
    fn a_quota_that_cannot_be_enforced_stops_start_up_naming_its_key() {
        let connection = |quota: &str| {
            include_str!("../../config/default.toml").replacen(
                "[connections.credentials]",
                &format!("quota = {quota}\n\n[connections.credentials]"),
                1,
            )
        };
        for (toml, key, problem) in [
            // A refill step under a nanosecond.
            (
                "[quota]\ncalls = 4294967295\nperiod_secs = 1\n".to_owned(),
                "`quota`",
                "too fine",
            ),
            (
                connection("{ calls = 4294967295, period_secs = 1 }"),
                "`connections[0].quota`",
                "too fine",
            ),
            // Longer than the clock's nanoseconds can count: governor would panic on it.
            (
                "[quota]\ncalls = 1\nperiod_secs = 20000000000\n".to_owned(),
                "`quota`",
                "period_secs",
            ),
            (
                connection("{ calls = 1, period_secs = 20000000000 }"),
                "`connections[0].quota`",
                "period_secs",
            ),
        ] {
            let e = Settings::from_toml(&toml).unwrap_err().to_string();
            assert!(e.contains(key) && e.contains(problem), "{toml}: {e}");
        }
        // Strict windows spread half the calls over the period: a step that is fine there is accepted.
        Settings::from_toml("[quota]\ncalls = 4294967295\nperiod_secs = 1\nstrict_window = true\n")
            .unwrap();
    }

    #[test]
    fn the_metrics_section_is_off_and_on_the_main_listener_by_default() {
        let settings = Settings::from_toml("").unwrap();
        assert!(!settings.metrics.connection_label);
        assert_eq!(settings.metrics.listen, None);
        let settings =
            Settings::from_toml("[metrics]\nlisten = \"10.0.0.5:9090\"\nconnection_label = true\n")
                .unwrap();
        assert!(settings.metrics.connection_label);
        assert_eq!(
            settings.metrics.listen,
            Some("10.0.0.5:9090".parse().unwrap())
        );
        for (toml, key) in [
            ("[metrics]\nlisten = \"everywhere\"\n", "metrics.listen"),
            ("[metrics]\nconection_label = true\n", "conection_label"),
        ] {
            let e = Settings::from_toml(toml).unwrap_err().to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let settings = Settings::from_toml(
            "[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\", \"fd00::/8\"]\nforwarded_header = \"x-forwarded\"\n",
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
            let e = Settings::from_toml(&format!(
                "[server]\ntrusted_proxies = [{bad}]\nforwarded_header = \"forwarded\"\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(e.contains("server.trusted_proxies"), "{bad}: {e}");
        }
    }

    #[test]
    fn what_is_believed_from_trusted_proxies_is_said_not_guessed() {
        use crate::edge::forwarded::{ForwardedField, ForwardedHeader};
        let load = |keys: &str| Settings::from_toml(&format!("[server]\n{keys}\n"));
        let settings =
            load("trusted_proxies = [\"10.0.0.0/8\"]\nforwarded_header = \"x-forwarded\"").unwrap();
        assert_eq!(
            settings.server.forwarded_header,
            Some(ForwardedHeader::XForwarded)
        );
        assert_eq!(settings.server.forwarded_fields(), [ForwardedField::Proto]);
        let settings = load(
            "trusted_proxies = [\"10.0.0.0/8\"]\nforwarded_header = \"forwarded\"\nforwarded_fields = [\"proto\", \"host\"]",
        )
        .unwrap();
        assert_eq!(
            settings.server.forwarded_header,
            Some(ForwardedHeader::Forwarded)
        );
        assert_eq!(
            settings.server.forwarded_fields(),
            [ForwardedField::Proto, ForwardedField::Host]
        );
        for (keys, key) in [
            // Proxies without the header they set.
            (
                "trusted_proxies = [\"10.0.0.0/8\"]",
                "server.forwarded_header",
            ),
            // A header or fields without proxies, which would do nothing.
            (
                "forwarded_header = \"forwarded\"",
                "server.forwarded_header",
            ),
            ("forwarded_fields = [\"proto\"]", "server.forwarded_fields"),
            // No field, or one that does not exist, or a family that does not.
            (
                "trusted_proxies = [\"10.0.0.0/8\"]\nforwarded_header = \"forwarded\"\nforwarded_fields = []",
                "server.forwarded_fields",
            ),
            (
                "trusted_proxies = [\"10.0.0.0/8\"]\nforwarded_header = \"forwarded\"\nforwarded_fields = [\"port\"]",
                "forwarded_fields",
            ),
            (
                "trusted_proxies = [\"10.0.0.0/8\"]\nforwarded_header = \"both\"",
                "forwarded_header",
            ),
        ] {
            let e = load(keys).unwrap_err().to_string();
            assert!(e.contains(key), "{keys}: {e}");
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
            include_str!("../../config/default.toml")
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("connections[2].credentials.refresh_token_file"),
            "{e}"
        );
        let own = second.replace("config/../var/contoso-demo", "var/contoso-second");
        Settings::from_toml(&format!(
            "{}{own}",
            include_str!("../../config/default.toml")
        ))
        .unwrap();
    }

    #[test]
    fn a_real_upstream_refuses_the_demo_keys() {
        let sandbox = include_str!("../../config/default.toml");
        let real = format!(
            "{sandbox}\n[upstream]\nbase_url = \"https://api.partnercenter.microsoft.com\"\n"
        );
        let e = Settings::from_toml(&real).unwrap_err().to_string();
        assert!(
            e.contains("connections[0].api_key_sha256") && e.contains("demo"),
            "{e}"
        );
    }

    /// A connection with `keys` (TOML lines) and the sandbox's app-only credentials.
    fn connection(id: &str, keys: &str) -> String {
        format!(
            r#"
[[connections]]
id = "{id}"
{keys}
[connections.credentials]
kind = "app_only"
tenant_id = "8f5c9f0a-3f6e-4a4e-9d3b-5d3c2b1a0e9f"
client_id = "5b1e0c33-7d1f-4d8e-a1c4-0f6f3b2a9e11"
client_secret_file = "config/sandbox/demo-client-secret"
"#
        )
    }

    fn hash(n: u8) -> String {
        format!("{:064x}", n)
    }

    #[test]
    fn a_connection_lists_its_keys_in_either_form_each_with_an_optional_expiry() {
        let toml = [
            connection("one", &format!("api_key_sha256 = \"{}\"", hash(1))),
            connection(
                "many",
                &format!("api_key_sha256 = [\"{}\", \"{}\"]", hash(2), hash(3)),
            ),
            connection(
                "lapsing",
                &format!(
                    "api_keys = [{{ sha256 = \"{}\", expires = \"2027-01-31\" }}, {{ sha256 = \"{}\" }}]",
                    hash(4),
                    hash(5)
                ),
            ),
            // Tables of their own, an unquoted TOML date-time, and both fields at once.
            connection(
                "tables",
                &format!(
                    "api_key_sha256 = \"{}\"\n[[connections.api_keys]]\nsha256 = \"{}\"\nexpires = 2027-01-31T18:00:00+01:00\n\
                     [[connections.api_keys]]\nsha256 = \"{}\"\nexpires = 2027-02-01\n",
                    hash(6),
                    hash(7),
                    hash(8)
                ),
            ),
            connection("revoked", "api_keys = []"),
            connection("never-keyed", ""),
        ]
        .concat();
        let settings = Settings::from_toml(&toml).unwrap();
        let keys: Vec<Vec<(u8, Option<String>)>> = settings
            .connections
            .iter()
            .map(|c| {
                c.api_keys
                    .iter()
                    .map(|k| {
                        let expires = k.expires.map(|e| {
                            e.format(&time::format_description::well_known::Rfc3339)
                                .unwrap()
                        });
                        (k.sha256[31], expires)
                    })
                    .collect()
            })
            .collect();
        let at = |s: &str| Some(s.to_owned());
        assert_eq!(
            keys,
            vec![
                vec![(1, None)],
                vec![(2, None), (3, None)],
                vec![(4, at("2027-01-31T00:00:00Z")), (5, None)],
                vec![
                    (6, None),
                    (7, at("2027-01-31T17:00:00Z")),
                    (8, at("2027-02-01T00:00:00Z"))
                ],
                vec![],
                vec![],
            ]
        );
    }

    #[test]
    fn a_key_opens_one_thing_and_every_error_names_the_key_at_fault() {
        let cases = [
            (
                [
                    connection("a", &format!("api_key_sha256 = \"{}\"", hash(1))),
                    connection(
                        "b",
                        &format!("api_key_sha256 = [\"{}\", \"{}\"]", hash(2), hash(1)),
                    ),
                ]
                .concat(),
                "`connections[1].api_key_sha256[1]`: is already a key of connection \"a\" (connections[0])",
            ),
            (
                [
                    connection("a", &format!("api_key_sha256 = \"{}\"", hash(1))),
                    connection("b", &format!("api_keys = [{{ sha256 = \"{}\" }}]", hash(1))),
                ]
                .concat(),
                "`connections[1].api_keys[0].sha256`: is already a key of connection \"a\"",
            ),
            (
                connection(
                    "a",
                    &format!("api_key_sha256 = [\"{}\", \"{}\"]", hash(1), hash(1)),
                ),
                "`connections[0].api_key_sha256[1]`: is listed twice for connection \"a\"",
            ),
            (
                format!(
                    "[admin]\napi_key_sha256 = [\"{}\"]\n{}",
                    hash(1),
                    connection("a", &format!("api_key_sha256 = \"{}\"", hash(1)))
                ),
                "`admin.api_key_sha256`: is already a key of connection \"a\"",
            ),
            (
                connection("a", "api_key_sha256 = \"5F3C\""),
                "`connections[0].api_key_sha256`: must be 64 lower-case hex digits",
            ),
            (
                connection(
                    "a",
                    &format!(
                        "api_keys = [{{ sha256 = \"{}\", expires = \"31/01/2027\" }}]",
                        hash(1)
                    ),
                ),
                "connections[0].api_keys[0].expires",
            ),
        ];
        for (toml, expected) in cases {
            let e = Settings::from_toml(&toml).unwrap_err().to_string();
            assert!(e.contains(expected), "expected {expected:?} in: {e}");
        }
    }

    #[test]
    fn only_what_a_reload_cannot_apply_needs_a_restart() {
        let base = Settings::from_toml(include_str!("../../config/default.toml")).unwrap();
        let edited = include_str!("../../config/default.toml")
            .replace("127.0.0.1:8080", "127.0.0.1:9090")
            .replace("calls = 100", "calls = 50")
            .replace("max_body_bytes = 65536", "max_body_bytes = 1024")
            + "\n[admin]\napi_key_sha256 = \"0000000000000000000000000000000000000000000000000000000000000009\"\n"
            + "\n[metrics]\nconnection_label = true\n\n[log]\nformat = \"json\"\n";
        let new = Settings::from_toml(&edited).unwrap();
        assert_eq!(
            base.needs_restart(&new),
            [
                "server.listen",
                "server.max_body_bytes",
                "metrics.connection_label",
                "log.format"
            ]
        );
        assert!(base.needs_restart(&base.reread().unwrap()).is_empty());
    }
}
