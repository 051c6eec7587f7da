//! The part of the configuration that a reload replaces while the gateway serves: the registry of connections
//! and their keys, the quotas, and the admin keys.
//!
//! It sits behind an [`ArcSwap`] in the shared state. A call loads it once, when it is authenticated, and from
//! then on holds only what it took from it (its connection, with that connection's credentials, and the quota it
//! was counted against), so a call in flight finishes on the configuration it started with while the next call
//! sees the new one. Swapping is one pointer store; readers never wait for it.

use arc_swap::ArcSwap;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::connection::{KeyMap, Registry};
use crate::quota::Quotas;

pub struct Snapshot {
    pub registry: Registry,
    pub quotas: Quotas,
    /// What `POST /admin/reload` accepts; empty, it is off.
    pub admin_keys: KeyMap<()>,
}

pub type Live = ArcSwap<Snapshot>;

/// What a reload changed, as the admin endpoint answers it and the log reports it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadSummary {
    /// Connections registered now.
    pub connections: usize,
    pub added: usize,
    pub removed: usize,
    /// Connections whose credentials changed (or that were signed in again): they start with no cached token.
    pub changed: usize,
    /// Connections that kept their credentials, cached tokens and refresh tokens (their keys and quota may have
    /// changed).
    pub unchanged: usize,
    /// Keys that differ in the file but take effect only after a restart.
    pub needs_restart: Vec<&'static str>,
}

/// A reload's outcome: what changed, or why the new configuration was refused (the configuration error's text,
/// as start-up would print it) and nothing changed.
pub type ReloadOutcome = Result<ReloadSummary, String>;

/// Asks the wiring, which knows where the configuration comes from, to read it again. Reloads run one at a time,
/// in the order asked, whether they come from here or from SIGHUP.
#[derive(Clone)]
pub struct Reloads(mpsc::Sender<oneshot::Sender<ReloadOutcome>>);

impl Reloads {
    pub fn new() -> (Self, mpsc::Receiver<oneshot::Sender<ReloadOutcome>>) {
        let (tx, rx) = mpsc::channel(16);
        (Self(tx), rx)
    }

    /// Reloads and waits for the outcome; `None` when the gateway is stopping and reloads no more.
    pub async fn reload(&self) -> Option<ReloadOutcome> {
        let (tx, rx) = oneshot::channel();
        self.0.send(tx).await.ok()?;
        rx.await.ok()
    }
}
