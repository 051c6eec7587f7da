//! The connection registry: which API key names which connection, with what quota and which credentials.
//!
//! Keys are stored and looked up by their SHA-256, so the configuration never holds a usable key and a lookup
//! never compares key bytes directly.

use std::path::Path;
use std::sync::Arc;

use axum::http::HeaderName;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::config::{ConfigError, CredentialSettings, QuotaLimit, Settings};
use crate::domain::ConnectionId;
use crate::tokens::RefreshTokenStore;

pub static X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

pub struct Connection {
    pub id: ConnectionId,
    pub credentials: Credentials,
}

pub enum Credentials {
    AppOnly {
        tenant_id: String,
        client_id: String,
        client_secret: SecretString,
    },
    AppUser {
        tenant_id: String,
        client_id: String,
        client_secret: Option<SecretString>,
        refresh_token: RefreshTokenStore,
    },
}

impl Credentials {
    pub fn tenant_id(&self) -> &str {
        match self {
            Credentials::AppOnly { tenant_id, .. } | Credentials::AppUser { tenant_id, .. } => {
                tenant_id
            }
        }
    }
}

pub struct Registry {
    /// Few entries (one per registered connection), scanned in full on every lookup: see `by_api_key`.
    by_key_hash: Vec<([u8; 32], Arc<Connection>)>,
}

pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Registry {
    /// Resolves every connection's secrets (environment variables, files) now, so a missing secret stops
    /// start-up instead of failing the first call.
    pub fn from_settings(
        settings: &Settings,
    ) -> Result<(Self, Vec<(ConnectionId, QuotaLimit)>), ConfigError> {
        let mut by_key_hash = Vec::new();
        let mut overrides = Vec::new();
        for (i, c) in settings.connections.iter().enumerate() {
            let key = |field: &str| format!("connections[{i}].credentials.{field}");
            let id = ConnectionId::parse(&c.id)
                .map_err(|e| ConfigError::key(format!("connections[{i}].id"), e))?;
            let credentials = match &c.credentials {
                CredentialSettings::AppOnly {
                    tenant_id,
                    client_id,
                    client_secret_env,
                    client_secret_file,
                } => Credentials::AppOnly {
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    client_secret: read_secret(
                        &key,
                        client_secret_env.as_deref(),
                        client_secret_file.as_deref(),
                    )?
                    .expect("validated: app_only has a secret"),
                },
                CredentialSettings::AppUser {
                    tenant_id,
                    client_id,
                    client_secret_env,
                    client_secret_file,
                    refresh_token_file,
                    refresh_token_seed,
                } => Credentials::AppUser {
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    client_secret: read_secret(
                        &key,
                        client_secret_env.as_deref(),
                        client_secret_file.as_deref(),
                    )?,
                    refresh_token: RefreshTokenStore::open(
                        refresh_token_file,
                        refresh_token_seed.as_ref(),
                    )
                    .map_err(|e| ConfigError::key(key("refresh_token_file"), e))?,
                },
            };
            let mut hash = [0u8; 32];
            hex::decode_to_slice(&c.api_key_sha256, &mut hash)
                .map_err(|e| ConfigError::key(format!("connections[{i}].api_key_sha256"), e))?;
            if let Some(q) = c.quota {
                overrides.push((id.clone(), q));
            }
            by_key_hash.push((hash, Arc::new(Connection { id, credentials })));
        }
        Ok((Self { by_key_hash }, overrides))
    }

    /// The connection whose key this is. Every registered hash is compared, in constant time and without
    /// stopping at a match, so the time taken says nothing about which key, or how much of one, was right.
    pub fn by_api_key(&self, key: &[u8]) -> Option<&Arc<Connection>> {
        let presented: [u8; 32] = Sha256::digest(key).into();
        let mut found = u64::MAX;
        for (i, (hash, _)) in self.by_key_hash.iter().enumerate() {
            found.conditional_assign(&(i as u64), hash.ct_eq(&presented));
        }
        self.by_key_hash
            .get(usize::try_from(found).ok()?)
            .map(|(_, connection)| connection)
    }
}

fn read_secret(
    key: &dyn Fn(&str) -> String,
    env: Option<&str>,
    file: Option<&Path>,
) -> Result<Option<SecretString>, ConfigError> {
    if let Some(var) = env {
        let value = std::env::var(var).map_err(|_| {
            ConfigError::key(
                key("client_secret_env"),
                format!("environment variable {var} is not set"),
            )
        })?;
        return Ok(Some(value.into()));
    }
    if let Some(path) = file {
        let value = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::key(
                key("client_secret_file"),
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let value = value.trim();
        if value.is_empty() {
            return Err(ConfigError::key(
                key("client_secret_file"),
                format!("{} is empty", path.display()),
            ));
        }
        return Ok(Some(value.into()));
    }
    Ok(None)
}
