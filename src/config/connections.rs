//! `[[connections]]`: the registered connections, each parsed into an ID, its keys' hashes, an optional quota
//! and the place its credentials are read from.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::api_keys::{KeyHashes, KeyOwners, KeySettings, Owner};
use super::{ConfigError, LimitSettings};
use crate::connection::{ApiKey, CredentialSource, FileIdentities, SecretSource};
use crate::domain::ConnectionId;
use crate::quota::QuotaLimit;

/// A `[[connections]]` entry as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSettings {
    pub id: String,
    /// Lower-case hex SHA-256 of the connection's API key, or a list of them: the keys themselves are never
    /// stored.
    pub api_key_sha256: Option<KeyHashes>,
    /// Keys with an expiry (see `api_keys`).
    pub api_keys: Option<Vec<KeySettings>>,
    pub quota: Option<LimitSettings>,
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

/// A connection, checked: what start-up needs to register it.
#[derive(Debug)]
pub struct RegisteredConnection {
    pub id: ConnectionId,
    /// The connection's keys; none when every key was removed (no call reaches it then).
    pub api_keys: Vec<ApiKey>,
    pub quota: Option<QuotaLimit>,
    pub credentials: CredentialSource,
}

/// Checks the connections as a whole (no ID, key or refresh token file twice; no demo key against the real
/// Partner Center) and parses each; a connection's own quota is shaped as `[quota]`'s `strict_window` says.
pub(super) fn parse(
    connections: Vec<ConnectionSettings>,
    keys: &mut KeyOwners,
    strict_window: bool,
) -> Result<Vec<RegisteredConnection>, ConfigError> {
    let mut parsed = Vec::with_capacity(connections.len());
    let mut seen_ids = std::collections::HashSet::with_capacity(connections.len());
    let mut seen_refresh_files = std::collections::HashSet::new();
    let mut identities = FileIdentities::default();
    for (i, c) in connections.into_iter().enumerate() {
        let key = |field: &str| format!("connections[{i}].{field}");
        let id = ConnectionId::parse(&c.id).map_err(|e| ConfigError::key(key("id"), e))?;
        if !seen_ids.insert(id.clone()) {
            return Err(ConfigError::key(
                key("id"),
                format!("{:?} is used by another connection", c.id),
            ));
        }
        let api_keys = keys.parse(
            Owner::Connection(i, id.clone()),
            c.api_key_sha256,
            c.api_keys,
        )?;
        let quota = c
            .quota
            .map(|q| q.parse(&key("quota"), strict_window))
            .transpose()?;
        let credentials = match c.credentials {
            CredentialSettings::AppOnly {
                tenant_id,
                client_id,
                client_secret_env,
                client_secret_file,
            } => {
                let Some(client_secret) = secret_source(client_secret_env, client_secret_file)
                else {
                    return Err(ConfigError::key(
                        key("credentials"),
                        "an app_only connection needs exactly one of client_secret_env and client_secret_file",
                    ));
                };
                CredentialSource::AppOnly {
                    tenant_id,
                    client_id,
                    client_secret,
                }
            }
            CredentialSettings::AppUser {
                tenant_id,
                client_id,
                client_secret_env,
                client_secret_file,
                refresh_token_file,
                refresh_token_seed,
            } => {
                if client_secret_env.is_some() && client_secret_file.is_some() {
                    return Err(ConfigError::key(
                        key("credentials"),
                        "give at most one of client_secret_env and client_secret_file",
                    ));
                }
                // Refresh tokens roll: each exchange revokes the one before, so two connections sharing
                // a file would keep invalidating each other's sign-in.
                if !seen_refresh_files.insert(identities.of(&refresh_token_file)) {
                    return Err(ConfigError::key(
                        key("credentials.refresh_token_file"),
                        "is another connection's refresh token file; each App+User connection needs its own",
                    ));
                }
                CredentialSource::AppUser {
                    tenant_id,
                    client_id,
                    client_secret: secret_source(client_secret_env, client_secret_file),
                    refresh_token_file,
                    refresh_token_seed,
                }
            }
        };
        let (CredentialSource::AppOnly {
            tenant_id,
            client_id,
            ..
        }
        | CredentialSource::AppUser {
            tenant_id,
            client_id,
            ..
        }) = &credentials;
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
        // Allowed, as what revoking a connection's last key leaves; a misspelt key field would have been refused
        // as unknown.
        if api_keys.is_empty() {
            tracing::warn!(connection = %id, "no API key opens this connection");
        }
        parsed.push(RegisteredConnection {
            id,
            api_keys,
            quota,
            credentials,
        });
    }
    Ok(parsed)
}

/// At most one of the two places a client secret may be named.
fn secret_source(env: Option<String>, file: Option<PathBuf>) -> Option<SecretSource> {
    env.map(SecretSource::Env).or(file.map(SecretSource::File))
}

fn is_tenant(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}
