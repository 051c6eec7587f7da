//! One Redis, as the components that share state through it reach it (the quota's count, the connections'
//! tokens): a single server through the redis crate's connection manager (multiplexed, reconnecting), a Redis
//! Cluster through its cluster connection, or the master a Redis Sentinel names (asked again after a command
//! fails, so that a failover is followed). Nothing connects until the first command, so a Redis that is
//! down never stops the gateway from starting; what a command meets then is its caller's to decide.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use ::redis::cluster_async::ClusterConnection;
use ::redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use ::redis::{Cmd, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use arc_swap::ArcSwapOption;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

pub struct RedisLink {
    link: Link,
    shown: String,
}

/// How the Redis behind a URL is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// One server (or a proxy in front of several).
    Single,
    /// The URL names one node of a Redis Cluster.
    Cluster,
    /// The URL names a Sentinel, which names the master of this name.
    Sentinel(String),
}

enum Link {
    Single(ConnectionManager),
    Cluster {
        client: Arc<::redis::cluster::ClusterClient>,
        connection: Arc<OnceCell<ClusterConnection>>,
        setup: Arc<Setup>,
    },
    Sentinel {
        client: Arc<tokio::sync::Mutex<SentinelClient>>,
        master: Arc<ArcSwapOption<MultiplexedConnection>>,
        config: Arc<::redis::AsyncConnectionConfig>,
        setup: Arc<Setup>,
    },
}

/// A Cluster's or a Sentinel's connection setup (several round trips: the slots, or the Sentinel then the
/// master), run in a task of its own. A call waits for it only as long as its own deadline allows; the setup
/// goes on to its end, so one that takes longer than one call's deadline is not cancelled and begun again by
/// every call, and the calls after it find the connection made.
#[derive(Default)]
struct Setup {
    running: std::sync::atomic::AtomicBool,
    finished: tokio::sync::Notify,
    failure: std::sync::Mutex<Option<RedisError>>,
}

impl Setup {
    /// What `current` finds, else after a setup (`run`, started unless one is under way) has finished.
    async fn wait<T>(
        self: &Arc<Self>,
        current: impl Fn() -> Option<T>,
        run: impl Future<Output = RedisResult<()>> + Send + 'static,
    ) -> RedisResult<T> {
        use std::sync::atomic::Ordering;
        let finished = self.finished.notified();
        tokio::pin!(finished);
        // Registered before the look, so a setup finishing in between is not missed.
        finished.as_mut().enable();
        if let Some(found) = current() {
            return Ok(found);
        }
        if !self.running.swap(true, Ordering::AcqRel) {
            let setup = Arc::clone(self);
            tokio::spawn(async move {
                let outcome = run.await;
                *setup.failure.lock().unwrap_or_else(|p| p.into_inner()) = outcome.err();
                setup.running.store(false, Ordering::Release);
                setup.finished.notify_waiters();
            });
        }
        finished.await;
        if let Some(found) = current() {
            return Ok(found);
        }
        let failure = self
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Err(failure.unwrap_or_else(|| {
            RedisError::from((::redis::ErrorKind::Io, "Redis connection setup failed"))
        }))
    }
}

/// A connection to run commands on, cheap to clone.
#[derive(Clone)]
pub enum RedisConnection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(MultiplexedConnection),
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConnection::Single(c) => c.req_packed_command(cmd),
            RedisConnection::Cluster(c) => c.req_packed_command(cmd),
            RedisConnection::Sentinel(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConnection::Single(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConnection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConnection::Sentinel(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConnection::Single(c) => c.get_db(),
            RedisConnection::Cluster(c) => c.get_db(),
            RedisConnection::Sentinel(c) => c.get_db(),
        }
    }
}

impl RedisLink {
    /// `url` is `redis://` or `rediss://`: the server, one node of a Cluster, or a Sentinel (whose URL's
    /// user, password, database and TLS apply to the master too). Each answer is awaited at most `timeout`; a
    /// connection attempt a little longer. Must run inside Tokio.
    pub fn new(url: &SecretString, topology: &Topology, timeout: Duration) -> Result<Self, String> {
        let connect = timeout.max(Duration::from_millis(200));
        let link = if let Topology::Sentinel(master) = topology {
            let info = url
                .expose_secret()
                .into_connection_info()
                .map_err(|e| describe(&e))?;
            let mut node = SentinelNodeConnectionInfo::default()
                .set_redis_connection_info(info.redis_settings().clone());
            if url.expose_secret().starts_with("rediss://") {
                node = node.set_tls_mode(::redis::TlsMode::Secure);
            }
            let client = SentinelClient::build(
                vec![url.expose_secret()],
                master.as_str(),
                Some(node),
                SentinelServerType::Master,
            )
            .map_err(|e| describe(&e))?;
            Link::Sentinel {
                client: Arc::new(tokio::sync::Mutex::new(client)),
                master: Arc::new(ArcSwapOption::empty()),
                config: Arc::new(
                    ::redis::AsyncConnectionConfig::new()
                        .set_connection_timeout(Some(connect))
                        .set_response_timeout(Some(timeout)),
                ),
                setup: Arc::default(),
            }
        } else if *topology == Topology::Cluster {
            let client = ::redis::cluster::ClusterClient::builder(vec![url.expose_secret()])
                .connection_timeout(connect)
                .response_timeout(timeout)
                .build()
                .map_err(|e| describe(&e))?;
            Link::Cluster {
                client: Arc::new(client),
                connection: Arc::new(OnceCell::new()),
                setup: Arc::default(),
            }
        } else {
            let client = ::redis::Client::open(url.expose_secret()).map_err(|e| describe(&e))?;
            let config = ::redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(connect))
                .set_response_timeout(Some(timeout))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_millis(500));
            Link::Single(
                ConnectionManager::new_lazy_with_config(client, config)
                    .map_err(|e| describe(&e))?,
            )
        };
        Ok(Self {
            link,
            shown: redacted(url),
        })
    }

    /// A connection, connecting a Cluster (or finding the Sentinel's master) on first use.
    pub async fn connection(&self) -> RedisResult<RedisConnection> {
        match &self.link {
            Link::Single(manager) => Ok(RedisConnection::Single(manager.clone())),
            Link::Cluster {
                client,
                connection,
                setup,
            } => {
                let (client, cell) = (Arc::clone(client), Arc::clone(connection));
                let run = async move {
                    cell.get_or_try_init(|| client.get_async_connection())
                        .await
                        .map(drop)
                };
                setup
                    .wait(|| connection.get().cloned(), run)
                    .await
                    .map(RedisConnection::Cluster)
            }
            Link::Sentinel {
                client,
                master,
                config,
                setup,
            } => {
                let (client, found, config) =
                    (Arc::clone(client), Arc::clone(master), Arc::clone(config));
                let run = async move {
                    let mut client = client.lock().await;
                    let connection = client
                        .async_get_client()
                        .await?
                        .get_multiplexed_async_connection_with_config(config.as_ref())
                        .await?;
                    found.store(Some(Arc::new(connection)));
                    Ok(())
                };
                setup
                    .wait(|| master.load_full().map(|c| (*c).clone()), run)
                    .await
                    .map(RedisConnection::Sentinel)
            }
        }
    }

    /// Runs `command` on a connection within `deadline`, noting a failure (see [`Self::failed`]) so that the
    /// next command behind a Sentinel finds the master again. `None`: no answer in time.
    pub async fn within<T, F, Fut>(&self, deadline: Duration, command: F) -> Option<RedisResult<T>>
    where
        F: FnOnce(RedisConnection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let answer =
            tokio::time::timeout(deadline, async { command(self.connection().await?).await }).await;
        match &answer {
            Err(_) => self.failed(None),
            Ok(Err(e)) => self.failed(Some(e)),
            Ok(Ok(_)) => {}
        }
        answer.ok()
    }

    /// A command failed with `error` (or, with none, got no answer in time). Behind a Sentinel, a broken
    /// connection or a master turned replica (`READONLY`) means a failover may have happened: the next command
    /// asks the Sentinel for the master again. The other links reconnect by themselves.
    pub fn failed(&self, error: Option<&RedisError>) {
        if let Link::Sentinel { master, .. } = &self.link {
            let stale = match error {
                None => true,
                Some(e) => {
                    e.is_unrecoverable_error()
                        || e.is_io_error()
                        || e.is_connection_dropped()
                        || e.code() == Some("READONLY")
                }
            };
            if stale {
                master.store(None);
            }
        }
    }

    /// The URL with its password replaced, for logs and the status page.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// The URL with its password, if any, replaced by `***`.
pub fn redacted(url: &SecretString) -> String {
    match url::Url::parse(url.expose_secret()) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

/// A client error as logs may show it: the redis crate's messages name the failing step or the server's
/// error, never the URL it was given (so no password).
pub fn describe(e: &::redis::RedisError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_never_shown() {
        let url = SecretString::from("redis://gateway:s3cret-pass@redis.internal:6380/0");
        let shown = redacted(&url);
        assert_eq!(shown, "redis://gateway:***@redis.internal:6380/0");
    }
}
