//! The connection registry: which API key names which connection, with what quota and which credentials.
//!
//! Keys are stored and looked up by their SHA-256, so the configuration never holds a usable key and a lookup
//! never compares key bytes directly.

pub mod bearer;
mod refresh_token;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::http::HeaderName;
use governor::nanos::Nanos;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::domain::ConnectionId;
pub use refresh_token::RefreshTokenStore;
pub(crate) use refresh_token::write_atomically;

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
    /// The registered connections, each with the SHA-256 of its API key.
    pub fn new(connections: Vec<([u8; 32], Connection)>) -> Self {
        Self {
            by_key_hash: connections
                .into_iter()
                .map(|(hash, connection)| (hash, Arc::new(connection)))
                .collect(),
        }
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

/// A connection's credentials as configured: where its secrets are, not yet the secrets themselves.
#[derive(Debug)]
pub enum CredentialSource {
    AppOnly {
        tenant_id: String,
        client_id: String,
        client_secret: SecretSource,
    },
    AppUser {
        tenant_id: String,
        client_id: String,
        client_secret: Option<SecretSource>,
        refresh_token_file: PathBuf,
        /// Written to `refresh_token_file` only when that file does not exist yet (first start).
        refresh_token_seed: Option<SecretString>,
    },
}

/// Where a client secret is read from at start-up.
#[derive(Debug)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

/// A credential that could not be read: the configuration field it came from, and why.
#[derive(Debug)]
pub struct CredentialError {
    pub field: &'static str,
    pub problem: String,
}

impl CredentialSource {
    /// Reads the secrets (environment variables, files) and opens the refresh token file, so a missing secret
    /// stops start-up instead of failing the first call.
    pub fn resolve(&self) -> Result<Credentials, CredentialError> {
        Ok(match self {
            CredentialSource::AppOnly {
                tenant_id,
                client_id,
                client_secret,
            } => Credentials::AppOnly {
                tenant_id: tenant_id.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.read()?,
            },
            CredentialSource::AppUser {
                tenant_id,
                client_id,
                client_secret,
                refresh_token_file,
                refresh_token_seed,
            } => Credentials::AppUser {
                tenant_id: tenant_id.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.as_ref().map(SecretSource::read).transpose()?,
                refresh_token: RefreshTokenStore::open(
                    refresh_token_file,
                    refresh_token_seed.as_ref(),
                )
                .map_err(|problem| CredentialError {
                    field: "refresh_token_file",
                    problem,
                })?,
            },
        })
    }
}

impl SecretSource {
    /// The secret, from the environment or its file.
    pub fn read(&self) -> Result<SecretString, CredentialError> {
        match self {
            SecretSource::Env(var) => {
                let value = std::env::var(var).map_err(|_| CredentialError {
                    field: "client_secret_env",
                    problem: format!("environment variable {var} is not set"),
                })?;
                Ok(value.into())
            }
            SecretSource::File(path) => {
                let problem = |problem| CredentialError {
                    field: "client_secret_file",
                    problem,
                };
                let value = std::fs::read_to_string(path)
                    .map_err(|e| problem(format!("cannot read {}: {e}", path.display())))?;
                let value = value.trim();
                if value.is_empty() {
                    return Err(problem(format!("{} is empty", path.display())));
                }
                Ok(value.into())
            }
        }
    }
}

pub struct AccessToken {
    pub(crate) secret: SecretString,
    pub(crate) renew_at: Instant,
    /// On the gateway's clock, for `TokenSource::forget`.
    pub(crate) fetched_at: Nanos,
}

impl AccessToken {
    /// A caller's own token, forwarded as it came; the gateway never renews it.
    pub fn forwarded(secret: SecretString) -> Self {
        Self {
            secret,
            renew_at: Instant::now(),
            fetched_at: Nanos::from(0),
        }
    }

    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

/// The connection a call is made on, as the authentication layer named it.
pub enum CallerConnection {
    /// A connection of the registry: the gateway holds its credentials and gets its tokens.
    Registered(Arc<Connection>),
    /// A maker's own validated Entra token, forwarded to Partner Center unchanged.
    PassThrough {
        id: ConnectionId,
        token: AccessToken,
    },
}

impl CallerConnection {
    pub fn id(&self) -> &ConnectionId {
        match self {
            CallerConnection::Registered(connection) => &connection.id,
            CallerConnection::PassThrough { id, .. } => id,
        }
    }
}
