//! Reading the configuration again while serving: on SIGHUP, and on `POST /admin/reload`.
//!
//! A reload reads the same file and `PCGW_` environment as the start did, checks it whole exactly as start-up
//! would, and only then swaps in a new [`Snapshot`] (connections, keys, quotas, admin keys); an invalid file
//! changes nothing, and its error (naming the key) is logged and answered. A connection whose credentials read
//! the same as before is carried over as it is, with its refresh token store and its cached access token; one
//! whose credentials changed, or that someone signed in again, is a new instance with no token yet; a removed
//! one's cached token is dropped. Quotas are carried over per bucket (see [`Quotas::reconfigured`]). Everything
//! else (listener, TLS, upstream, authority, sandbox) is built once: a change there is logged as needing a
//! restart.

use std::sync::Arc;

use tokio::signal::unix::Signal;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::config::{ConfigError, Settings};
use crate::connection::{Connection, CredentialReader, Credentials, KeyMap, Registry};
use crate::edge::Gateway;
use crate::edge::live::{ReloadOutcome, ReloadSummary, Snapshot};
use crate::quota::{Quotas, SharedQuota};

/// A snapshot, what changed, the connections it retires, and those signed in again (whose new refresh token the
/// replicas must share).
pub(super) type Built = (
    Snapshot,
    ReloadSummary,
    Vec<Arc<Connection>>,
    Vec<Arc<Connection>>,
);

/// The live part of `settings`, with what changed from `running` (none at start). Reads every connection's
/// secrets and refresh token file; the first that cannot be read fails the whole, naming its key.
pub(super) fn snapshot(
    settings: &Settings,
    running: Option<&Snapshot>,
    clock: &Clock,
    redis: Option<Arc<SharedQuota>>,
) -> Result<Built, ConfigError> {
    let mut reader = CredentialReader::default();
    if let Some(running) = running {
        reader.keep_open(&running.registry);
    }
    let mut resolved = Vec::with_capacity(settings.connections.len());
    for (i, c) in settings.connections.iter().enumerate() {
        let credentials = reader.resolve(&c.credentials).map_err(|e| {
            ConfigError::key(
                format!("connections[{i}].credentials.{}", e.field),
                e.problem,
            )
        })?;
        resolved.push(credentials);
    }
    // From here on nothing can fail: what the reload changes outside the snapshot (a new sign-in taken into a
    // refresh token store) happens only now.
    let mut summary = ReloadSummary::default();
    let mut retired = Vec::new();
    let mut signed_in = Vec::new();
    let mut connections = Vec::with_capacity(resolved.len());
    for (c, resolved) in settings.connections.iter().zip(resolved) {
        let old = running.and_then(|r| r.registry.get(&c.id));
        let connection = match old {
            Some(old)
                if !resolved.signed_in_again()
                    && old.credentials.same_as(&resolved.credentials) =>
            {
                summary.unchanged += 1;
                Arc::clone(old)
            }
            old => {
                let again = old.is_some() && resolved.signed_in_again();
                match old {
                    Some(old) => {
                        summary.changed += 1;
                        retired.push(Arc::clone(old));
                    }
                    None => summary.added += 1,
                }
                let connection = Arc::new(Connection::new(c.id.clone(), resolved.finish()));
                if again {
                    signed_in.push(Arc::clone(&connection));
                }
                connection
            }
        };
        connections.push((connection, c.api_keys.clone()));
    }
    let registry = Registry::new(connections);
    if let Some(running) = running {
        for old in running.registry.connections() {
            if registry.get(&old.id).is_none() {
                summary.removed += 1;
                retired.push(Arc::clone(old));
            }
        }
    }
    summary.connections = registry.len();
    let overrides = settings
        .connections
        .iter()
        .filter_map(|c| c.quota.map(|q| (c.id.clone(), q)));
    let quotas = match running {
        Some(running) => running
            .quotas
            .reconfigured(&settings.quota, overrides, clock),
        None => match redis {
            Some(redis) => Quotas::shared(&settings.quota, overrides, clock, redis),
            None => Quotas::new(&settings.quota, overrides, clock),
        },
    };
    let mut admin_keys = KeyMap::with_capacity(settings.admin_keys.len());
    for key in &settings.admin_keys {
        admin_keys.insert(*key, ());
    }
    let snapshot = Snapshot {
        registry,
        quotas,
        admin_keys,
    };
    Ok((snapshot, summary, retired, signed_in))
}

/// Serves reload requests, one at a time: from the admin endpoint (answered) and from SIGHUP (logged).
pub(super) struct Reloader {
    pub(super) gateway: Gateway,
    /// The configuration the gateway started with, connections aside: where to read it again, and the settings
    /// a reload cannot change, to tell which of them differ now.
    pub(super) started: Arc<Settings>,
    pub(super) clock: Clock,
    pub(super) requests: mpsc::Receiver<oneshot::Sender<ReloadOutcome>>,
    pub(super) hangups: Option<Signal>,
}

impl Reloader {
    pub(super) async fn run(mut self) {
        loop {
            let answer = tokio::select! {
                Some(answer) = self.requests.recv() => Some(answer),
                Some(()) = hangup(&mut self.hangups) => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    None
                }
                else => return,
            };
            let outcome = self.reload().await;
            if let Some(answer) = answer {
                let _ = answer.send(outcome);
            }
        }
    }

    async fn reload(&self) -> ReloadOutcome {
        let running = self.gateway.live.load_full();
        let (started, clock) = (Arc::clone(&self.started), self.clock.clone());
        // Reading and checking a large file, and every connection's secrets, is blocking work.
        let built = tokio::task::spawn_blocking(move || {
            let new = started.reread()?;
            let needs_restart = started.needs_restart(&new);
            let (snapshot, summary, retired, signed_in) =
                snapshot(&new, Some(&running), &clock, None)?;
            Ok::<_, ConfigError>((snapshot, summary, retired, signed_in, needs_restart))
        })
        .await
        .unwrap_or_else(|e| Err(ConfigError(format!("the reload failed: {e}"))));
        let (snapshot, mut summary, retired, signed_in, needs_restart) = match built {
            Ok(built) => built,
            Err(e) => {
                tracing::error!(error = %e, "configuration reload refused; the running configuration is unchanged");
                return Err(e.to_string());
            }
        };
        self.gateway.live.store(Arc::new(snapshot));
        for connection in &retired {
            self.gateway.tokens.forget_connection(connection).await;
        }
        if let Some(shared) = self.gateway.tokens.shared() {
            for connection in &signed_in {
                let Credentials::AppUser { refresh_token, .. } = &connection.credentials else {
                    continue;
                };
                let token = refresh_token.current.lock().await.clone();
                match shared.push(&connection.id, &token).await {
                    Ok(generation) => {
                        tracing::info!(connection = %connection.id, generation, "signed in again: the new refresh token is stored in Redis")
                    }
                    Err(cause) => {
                        tracing::warn!(connection = %connection.id, %cause, "signed in again, but Redis did not store the new refresh token; run share-refresh-token --replace")
                    }
                }
            }
        }
        for key in &needs_restart {
            tracing::warn!(
                key,
                "changed in the configuration, but needs a restart to take effect"
            );
        }
        summary.needs_restart = needs_restart;
        tracing::info!(
            connections = summary.connections,
            added = summary.added,
            removed = summary.removed,
            changed = summary.changed,
            unchanged = summary.unchanged,
            "configuration reloaded"
        );
        Ok(summary)
    }
}

async fn hangup(signal: &mut Option<Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}
