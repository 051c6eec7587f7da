//! The connection registry: which API key names which connection, with what credentials.
//!
//! Keys are stored and looked up by their SHA-256 (see [`api_key`]), so the configuration never holds a usable
//! key. A registry is built whole from one configuration and never changed; a reload builds another and hands
//! over the connections that did not change, so their refresh tokens and cached access tokens carry on.

mod api_key;
pub mod bearer;
mod refresh_token;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::http::{HeaderName, HeaderValue};
use governor::nanos::Nanos;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::domain::ConnectionId;
pub use api_key::{ApiKey, KEY_PREFIX, KeyMap, Lookup, hash_api_key, issue_api_key};
pub(crate) use refresh_token::write_atomically;
pub use refresh_token::{FileIdentities, RefreshTokenStore, file_identity};

pub static X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

pub struct Connection {
    pub id: ConnectionId,
    pub credentials: Credentials,
    /// Tells this connection apart from an earlier or later one of the same ID (a reload that changed its
    /// credentials): access tokens are cached per instance, so a token got with old credentials is never used
    /// with new ones, even if a call in flight on the old configuration stores one after the reload.
    instance: u64,
    /// The access token the token source last handed out for this connection, read before its cache: the
    /// connection is already at hand on every call, where the cache's look-up (hashing the key, its access
    /// order and frequency bookkeeping) touches memory of its own, which with many connections is cache misses
    /// on every call. The token source alone sets and clears it, as it does the cache's entry.
    token: arc_swap::ArcSwapOption<AccessToken>,
    /// How many times the kept token has been dropped: a token read from the cache before a drop is not kept
    /// after it (see [`Connection::keep_token`]).
    drops: AtomicU64,
}

impl Connection {
    pub fn new(id: ConnectionId, credentials: Credentials) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self {
            id,
            credentials,
            instance: NEXT.fetch_add(1, Ordering::Relaxed),
            token: arc_swap::ArcSwapOption::empty(),
            drops: AtomicU64::new(0),
        }
    }

    /// The token last handed out for this connection, if it is not yet due for renewal.
    pub(crate) fn current_token(&self) -> Option<Arc<AccessToken>> {
        self.token
            .load_full()
            .filter(|token| token.renew_at > std::time::Instant::now())
    }

    /// To pass to [`Connection::keep_token`]: read before the cache is.
    pub(crate) fn token_drops(&self) -> u64 {
        self.drops.load(Ordering::Acquire)
    }

    /// Keeps `token`, read from the cache after `drops` was: unless a drop came in between (the cache's entry
    /// removed, so this may be the very token that was refused), which would otherwise leave the refused token
    /// kept here after the cache had let it go.
    pub(crate) fn keep_token(&self, token: &Arc<AccessToken>, drops: u64) {
        self.token.store(Some(Arc::clone(token)));
        if self.drops.load(Ordering::Acquire) != drops {
            self.drop_token(Some(token));
        }
    }

    /// Clears the kept token: `only` that one, or whatever is kept. Called after the cache's entry is removed.
    pub(crate) fn drop_token(&self, only: Option<&Arc<AccessToken>>) {
        self.drops.fetch_add(1, Ordering::AcqRel);
        match only {
            Some(token) => {
                let kept = self.token.load();
                if kept.as_ref().is_some_and(|kept| Arc::ptr_eq(kept, token)) {
                    self.token.compare_and_swap(&*kept, None);
                }
            }
            None => self.token.store(None),
        }
    }

    pub fn instance(&self) -> u64 {
        self.instance
    }
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
        /// Shared by every instance of the connection (see [`CredentialReader`]): one file, one lock.
        refresh_token: Arc<RefreshTokenStore>,
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

    /// Whether a token got with `self` is as good as one got with `other`: same tenant, application and secret
    /// values, and the same refresh token store.
    pub fn same_as(&self, other: &Credentials) -> bool {
        let same_secret =
            |a: &SecretString, b: &SecretString| a.expose_secret() == b.expose_secret();
        match (self, other) {
            (
                Credentials::AppOnly {
                    tenant_id,
                    client_id,
                    client_secret,
                },
                Credentials::AppOnly {
                    tenant_id: t,
                    client_id: c,
                    client_secret: s,
                },
            ) => tenant_id == t && client_id == c && same_secret(client_secret, s),
            (
                Credentials::AppUser {
                    tenant_id,
                    client_id,
                    client_secret,
                    refresh_token,
                },
                Credentials::AppUser {
                    tenant_id: t,
                    client_id: c,
                    client_secret: s,
                    refresh_token: r,
                },
            ) => {
                tenant_id == t
                    && client_id == c
                    && match (client_secret, s) {
                        (Some(a), Some(b)) => same_secret(a, b),
                        (None, None) => true,
                        _ => false,
                    }
                    && Arc::ptr_eq(refresh_token, r)
            }
            _ => false,
        }
    }
}

/// The registered connections and the keys that open them.
pub struct Registry {
    keys: KeyMap<Arc<Connection>>,
    by_id: HashMap<ConnectionId, Arc<Connection>>,
}

impl Registry {
    /// The registered connections, each with its keys.
    pub fn new(connections: impl IntoIterator<Item = (Arc<Connection>, Vec<ApiKey>)>) -> Self {
        let connections = connections.into_iter();
        let mut registry = Self {
            keys: KeyMap::with_capacity(connections.size_hint().0),
            by_id: HashMap::with_capacity(connections.size_hint().0),
        };
        for (connection, keys) in connections {
            for key in keys {
                registry.keys.insert(key, Arc::clone(&connection));
            }
            registry.by_id.insert(connection.id.clone(), connection);
        }
        registry
    }

    /// The connection the presented key opens at `now` (see [`KeyMap`] for why a map lookup leaks nothing).
    pub fn by_api_key(&self, key: &[u8], now: OffsetDateTime) -> Lookup<&Arc<Connection>> {
        self.keys.lookup(key, now)
    }

    pub fn get(&self, id: &ConnectionId) -> Option<&Arc<Connection>> {
        self.by_id.get(id)
    }

    pub fn connections(&self) -> impl Iterator<Item = &Arc<Connection>> {
        self.by_id.values()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
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

/// Where a client secret is read from at start-up (and at each reload).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    /// One connection's credentials, read on their own (a whole configuration's: [`CredentialReader`]).
    pub fn resolve(&self) -> Result<Credentials, CredentialError> {
        CredentialReader::default()
            .resolve(self)
            .map(Resolved::finish)
    }
}

/// Reads the credentials of a whole configuration: each secret file or variable once, however many connections
/// name it (a hundred thousand connections of one application would otherwise read one file a hundred thousand
/// times), and on a reload the refresh token files the running connections hold open, which stay open (see
/// [`CredentialReader::keep_open`]).
#[derive(Default)]
pub struct CredentialReader {
    secrets: HashMap<SecretSource, SecretString>,
    /// By [`file_identity`].
    open: HashMap<PathBuf, Arc<RefreshTokenStore>>,
    identities: FileIdentities,
}

/// A connection's credentials as read, and the token of a sign-in made since the gateway last read or wrote its
/// refresh token file, if there was one.
pub struct Resolved {
    pub credentials: Credentials,
    new_sign_in: Option<SecretString>,
}

impl Resolved {
    pub fn signed_in_again(&self) -> bool {
        self.new_sign_in.is_some()
    }

    /// The credentials, with the new sign-in (if any) taken into the refresh token store: called once the whole
    /// configuration is known to be good, so that a refused reload changes nothing.
    pub fn finish(self) -> Credentials {
        if let (Some(token), Credentials::AppUser { refresh_token, .. }) =
            (self.new_sign_in, &self.credentials)
        {
            refresh_token.adopt(token);
        }
        self.credentials
    }
}

impl CredentialReader {
    /// Refresh token files already open in the running registry. Each stays one store, shared by the old
    /// connection and its successor: a call in flight on the old configuration may still roll the token, and a
    /// second store of the same file would then hold a token the authority has voided.
    pub fn keep_open(&mut self, registry: &Registry) {
        for connection in registry.connections() {
            if let Credentials::AppUser { refresh_token, .. } = &connection.credentials {
                let identity = self.identities.of(&refresh_token.path);
                self.open.insert(identity, Arc::clone(refresh_token));
            }
        }
    }

    /// Reads the secrets (environment variables, files) and opens the refresh token file, so a missing secret
    /// stops start-up, or a reload, instead of failing the first call.
    pub fn resolve(&mut self, source: &CredentialSource) -> Result<Resolved, CredentialError> {
        Ok(match source {
            CredentialSource::AppOnly {
                tenant_id,
                client_id,
                client_secret,
            } => Resolved {
                credentials: Credentials::AppOnly {
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    client_secret: self.secret(client_secret)?,
                },
                new_sign_in: None,
            },
            CredentialSource::AppUser {
                tenant_id,
                client_id,
                client_secret,
                refresh_token_file,
                refresh_token_seed,
            } => {
                let client_secret = client_secret.as_ref().map(|s| self.secret(s)).transpose()?;
                let problem = |problem| CredentialError {
                    field: "refresh_token_file",
                    problem,
                };
                // At start nothing is open, and no path need be resolved.
                let open = match self.open.is_empty() {
                    true => None,
                    false => self.open.get(&self.identities.of(refresh_token_file)),
                };
                let (refresh_token, new_sign_in) = match open {
                    Some(store) => (Arc::clone(store), store.signed_in_again().map_err(problem)?),
                    None => (
                        Arc::new(
                            RefreshTokenStore::open(
                                refresh_token_file,
                                refresh_token_seed.as_ref(),
                            )
                            .map_err(problem)?,
                        ),
                        None,
                    ),
                };
                Resolved {
                    credentials: Credentials::AppUser {
                        tenant_id: tenant_id.clone(),
                        client_id: client_id.clone(),
                        client_secret,
                        refresh_token,
                    },
                    new_sign_in,
                }
            }
        })
    }

    fn secret(&mut self, source: &SecretSource) -> Result<SecretString, CredentialError> {
        if let Some(secret) = self.secrets.get(source) {
            return Ok(secret.clone());
        }
        let secret = source.read()?;
        self.secrets.insert(source.clone(), secret.clone());
        Ok(secret)
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
            SecretSource::File(path) => read_secret_file(path).map_err(|problem| CredentialError {
                field: "client_secret_file",
                problem,
            }),
        }
    }
}

fn read_secret_file(path: &Path) -> Result<SecretString, String> {
    let value = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(value.into())
}

pub struct AccessToken {
    pub(crate) secret: SecretString,
    /// `Bearer <secret>`, marked sensitive (never printed by `Debug`, nor indexed by HTTP/2's HPACK), made once
    /// with the token rather than on each of its calls; none when the token cannot be a header value. Not in a
    /// `secrecy` type: reqwest takes a `HeaderValue`, which cannot zeroize. This copy lives as long as the
    /// token's own secret and is dropped with it, not zeroized, as the per-call copies it replaces were not.
    bearer: Option<HeaderValue>,
    pub(crate) renew_at: Instant,
    /// On the gateway's clock, for `TokenSource::forget`.
    pub(crate) fetched_at: Nanos,
}

impl AccessToken {
    pub(crate) fn new(secret: SecretString, renew_at: Instant, fetched_at: Nanos) -> Self {
        let bearer = HeaderValue::try_from(format!("Bearer {}", secret.expose_secret()))
            .ok()
            .map(|mut value| {
                value.set_sensitive(true);
                value
            });
        Self {
            secret,
            bearer,
            renew_at,
            fetched_at,
        }
    }

    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }

    /// The `Authorization` header that presents it, if the token can be one.
    pub fn bearer(&self) -> Option<&HeaderValue> {
        self.bearer.as_ref()
    }
}

/// The connection a call is made on, as the authentication layer named it.
pub enum CallerConnection {
    /// A connection of the registry: the gateway holds its credentials and gets its tokens.
    Registered(Arc<Connection>),
    /// A maker's own validated Entra token, forwarded to Partner Center unchanged: `authorization` is the
    /// `Authorization` header that presents it (`Bearer <token>`), marked sensitive. The gateway never renews
    /// it, nor reads it again, so it is kept only as that header: not in a `secrecy` type, since reqwest takes a
    /// `HeaderValue` (see [`AccessToken`]'s own header), and dropped with the call.
    PassThrough {
        id: ConnectionId,
        authorization: HeaderValue,
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
