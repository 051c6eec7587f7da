//! Building and running the server: `Application::build` binds (port 0 works, for tests), starts the embedded
//! sandbox when the configuration names no Partner Center, and wires the gateway; `run_until_stopped` serves
//! until the shutdown future completes, letting in-flight calls finish (see [`drain`]), and reads the
//! configuration again on SIGHUP or `POST /admin/reload` ([`reload`]). With `server.tls` it serves HTTPS itself
//! ([`tls`]). The administrator's commands that act on connections without serving, [`login`] and [`check`],
//! reach Partner Center and the token authority through the same [`Upstreams`].

mod budgets;
mod call_layer;
pub mod check;
mod conn_io;
mod drain;
mod exporter;
pub mod login;
mod reload;
mod router;
mod serve;
mod tls;
mod workers;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::{
    ConfigError, RegisteredConnection, Settings, UpstreamSettings, server_config, trimmed,
};
use crate::connection::bearer::{BearerValidator, TrustedIssuer};
use crate::connection::{Connection, Registry};
use crate::edge::live::Reloads;
use crate::edge::{Gateway, Inner};
use crate::quota::SharedQuota;
use crate::readiness::Readiness;
use crate::redis_link::RedisLink;
use crate::sandbox::{self, SandboxHandle};
use crate::telemetry::Metrics;
use crate::upstream::PartnerCenter;
use crate::upstream::breaker::{Admission, Breaker};
use crate::upstream::shared_tokens::SharedTokens;
use crate::upstream::tokens::TokenSource;
use crate::worker::PerWorker;

/// How long an exit waits for a refresh-token exchange already under way (see `TokenSource::settle`): a token
/// request answers in well under a second, and the supervisor's kill should not come first.
const SETTLE_EXCHANGES: Duration = Duration::from_secs(5);

/// The triggers' key and pace from `[triggers]`. With no key configured (the sandbox profile only: the
/// configuration requires one otherwise), one is made for this process.
fn trigger_pace(settings: &Settings) -> Result<crate::triggers::Triggers, ConfigError> {
    let key = match settings.triggers.signing_key()? {
        Some(key) => key,
        None => rand::random::<[u8; 32]>().to_vec().into(),
    };
    Ok(crate::triggers::Triggers {
        signer: crate::triggers::Signer::new(key),
        page_size: settings.triggers.page_size.get(),
        poll_interval_secs: settings.triggers.poll_interval_secs,
        lag: time::Duration::seconds(settings.triggers.lag_secs(settings.uses_sandbox()) as i64),
    })
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    sandbox: Option<Arc<SandboxHandle>>,
    gateway: Gateway,
    evict_every: Duration,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    shutdown_grace: Duration,
    drain_delay: Duration,
    connection_budgets: serve::ConnectionBudgets,
    /// `server.workers`, resolved.
    workers: usize,
    reloader: reload::Reloader,
    /// `metrics.listen`: `/metrics` alone on a listener of its own, instead of on the main one.
    metrics_listener: Option<(TcpListener, axum::Router)>,
    metrics_handle: metrics_exporter_prometheus::PrometheusHandle,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::real()).await
    }

    /// As [`Application::build`], with the quotas, the JWKS refetch window and the breakers' cooldowns on
    /// `clock`: tests move a manual clock instead of waiting.
    pub async fn build_with_clock(mut settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        // Read once: the CPUs available come from the process's affinity and cgroup files.
        let workers = settings.server.workers();
        // Built once and carried over by every reload; it connects on the first call, so a Redis that is down
        // does not stop the start (calls then meet `redis.fail_open`).
        let redis = match &settings.redis {
            Some(options) => {
                let redis = SharedQuota::new(options.clone(), clock.clone(), workers)
                    .map_err(|e| ConfigError::key("redis.url", e))?;
                tracing::info!(redis = %redis.shown_url(), topology = ?options.topology, replicas = options.replicas.get(), "quotas are counted in Redis, shared by every replica");
                if options.replicas.get() == 1 {
                    tracing::warn!(
                        "redis.replicas is 1: while Redis is unavailable every replica admits the whole quota on its own; set it to the number of replicas"
                    );
                }
                Some(Arc::new(redis))
            }
            None => None,
        };
        let (live, ..) = reload::snapshot(&settings, None, &clock, redis.clone())?;
        // Registered before the gateway says it listens: SIGHUP's default action would end the process.
        let hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(signal) => Some(signal),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; reload with POST /admin/reload");
                None
            }
        };
        let exporter = exporter::Exporter::new(settings.metrics.connection_label);
        let mut upstreams = Upstreams::start(&settings, workers).await?;
        upstreams.metrics = exporter.metrics.clone();
        // The sandbox is the only issuer its profile trusts; its address is only known now.
        let issuers = match &upstreams.sandbox {
            Some(s) => vec![TrustedIssuer {
                issuer: format!("{}/{{tenantid}}/v2.0", s.base_url()),
                jwks_uri: format!("{}/common/discovery/v2.0/keys", s.base_url()),
            }],
            None => settings
                .auth
                .issuers
                .iter()
                .map(|i| TrustedIssuer {
                    issuer: i.issuer.clone(),
                    jwks_uri: i.jwks_uri.to_string(),
                })
                .collect(),
        };
        let bearer = BearerValidator::new(
            upstreams.http.clone(),
            issuers,
            settings.auth.audiences.clone(),
            settings.auth.allowed_tenants.clone(),
            settings.auth.leeway_secs,
            clock.clone(),
        );
        let triggers = trigger_pace(&settings)?;
        let (reloads, reload_requests) = Reloads::new();
        let gateway = Gateway::new(Inner {
            live: ArcSwap::from_pointee(live),
            reloads,
            clock: clock.clone(),
            bearer,
            tokens: Arc::new(upstreams.token_source(&settings, &clock)),
            admission: Admission::new(
                settings.upstream.max_concurrent_calls.get(),
                settings.upstream.max_queued_calls,
                Duration::from_millis(settings.upstream.queue_timeout_ms),
            )
            .recorded(exporter.metrics.clone()),
            partner_center: upstreams.partner_center(&settings, &clock),
            readiness: Arc::new(
                Readiness::new(
                    upstreams.http.clone(),
                    format!("{}/", upstreams.base),
                    format!("{}/", upstreams.authority),
                )
                .with_redis(redis),
            ),
            public_base_url: settings.server.public_base_url.as_ref().map(trimmed),
            scheme: if settings.server.tls.is_some() {
                "https"
            } else {
                "http"
            },
            trusted_proxies: crate::edge::forwarded::TrustedProxies::new(
                settings
                    .server
                    .trusted_proxies
                    .iter()
                    .map(|p| p.0)
                    .collect(),
                // Checked at load: set whenever any proxy is trusted; without one, nothing is read.
                settings
                    .server
                    .forwarded_header
                    .unwrap_or(crate::edge::forwarded::ForwardedHeader::Forwarded),
                settings.server.forwarded_fields(),
            ),
            max_body_bytes: settings.server.max_body_bytes,
            body_timeout: Duration::from_millis(settings.server.body_timeout_ms.get()),
            metrics: exporter.metrics.clone(),
            activity: crate::edge::activity::Activity::new(clock.clone()),
            upstream: match &upstreams.sandbox {
                Some(_) => "embedded sandbox".to_owned(),
                None => upstreams.base.clone(),
            },
            triggers,
        });
        let tls = settings
            .server
            .tls
            .as_ref()
            .map(server_config)
            .transpose()?;
        let listener = TcpListener::bind(settings.server.listen).await?;
        let sandbox = upstreams.sandbox;
        // Lets a maker try the OAuth path (from Swagger UI, or curl) with tokens of made-up users.
        let demo = sandbox.as_ref().map(|sandbox| sandbox.demo_routes());
        let (gw, handle) = (gateway.clone(), exporter.handle.clone());
        let (scrape_on_main, metrics_listener) = match settings.metrics.listen {
            Some(addr) => (
                None,
                Some((
                    TcpListener::bind(addr).await.map_err(|e| {
                        ConfigError::key("metrics.listen", format!("cannot listen on {addr}: {e}"))
                    })?,
                    exporter::router::<()>(gw, handle),
                )),
            ),
            None => (Some(exporter::router(gw, handle)), None),
        };
        let router = router::router(
            gateway.clone(),
            demo,
            scrape_on_main,
            budgets::RequestBudgets {
                max_body_bytes: settings.server.max_body_bytes,
                max_uri_bytes: settings.server.max_uri_bytes,
            },
        );
        let evict_every = Duration::from_secs(settings.quota.evict_interval_secs.get());
        let shutdown_grace = Duration::from_secs(settings.server.shutdown_grace_secs);
        let drain_delay = Duration::from_secs(settings.server.drain_delay_secs);
        let connection_budgets = serve::ConnectionBudgets {
            header_timeout: Duration::from_millis(settings.server.header_timeout_ms.get()),
            limits: conn_io::Limits {
                write_timeout: Duration::from_millis(settings.server.write_timeout_ms.get()),
                max_header_bytes: settings.server.max_header_bytes,
                max_uri_bytes: settings.server.max_uri_bytes,
            },
            max_connections: settings.server.max_connections.get(),
        };
        serve::raise_descriptor_limit(descriptors_needed(&settings, sandbox.is_some()));
        // The registry holds them now; a reload reads the file again rather than compare with these.
        settings.connections = Vec::new();
        let reloader = reload::Reloader {
            gateway: gateway.clone(),
            started: Arc::new(settings),
            clock,
            requests: reload_requests,
            hangups,
        };
        Ok(Self {
            listener,
            router,
            sandbox,
            gateway,
            evict_every,
            tls,
            shutdown_grace,
            drain_delay,
            connection_budgets,
            workers,
            reloader,
            metrics_listener,
            metrics_handle: exporter.handle,
        })
    }

    /// Where `/metrics` is served when `metrics.listen` gives it a listener of its own.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .map(|(l, _)| l.local_addr().expect("a bound listener has an address"))
    }

    /// `https` when the gateway terminates TLS itself, `http` otherwise.
    pub fn scheme(&self) -> &'static str {
        self.gateway.scheme
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The embedded sandbox, when this configuration uses it (tests read its call counters).
    pub fn sandbox(&self) -> Option<Arc<SandboxHandle>> {
        self.sandbox.clone()
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Self {
            listener,
            router,
            sandbox,
            gateway,
            evict_every,
            tls,
            shutdown_grace,
            drain_delay,
            connection_budgets,
            workers,
            reloader,
            metrics_listener,
            metrics_handle,
        } = self;
        let workers = workers::Workers::start(workers, SETTLE_EXCHANGES)?;
        // Histogram samples wait in the recorder until a scrape or an upkeep folds them into buckets; without a
        // scraper they would pile up.
        let upkeep = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                metrics_handle.run_upkeep();
            }
        });
        // Plain HTTP on its own address, for a scraper on a private network; it stops with the process.
        let metrics_server = metrics_listener.map(|(listener, router)| {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            })
        });
        let gateway_tokens = Arc::clone(&gateway.tokens);
        let readiness = Arc::clone(&gateway.readiness);
        let evictor = tokio::spawn(async move {
            let mut tick = tokio::time::interval(evict_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                gateway.live.load().quotas.evict_idle();
            }
        });
        let reloader = tokio::spawn(reloader.run());
        let in_flight = drain::InFlight::default();
        let router = router.layer(drain::Track(in_flight.clone()));
        let (stopping_tx, stopping) = tokio::sync::oneshot::channel();
        let shutdown = async move {
            shutdown.await;
            readiness.drain();
            if !drain_delay.is_zero() {
                tracing::info!(
                    drain_delay_secs = drain_delay.as_secs(),
                    "draining: /readyz answers 503 while calls are still served, then the listener closes"
                );
                tokio::time::sleep(drain_delay).await;
            }
            let _ = stopping_tx.send(());
        };
        let served = async {
            match tls {
                Some(config) => {
                    // Handshakes under way are descriptors too: no more of them than connections served.
                    let listener =
                        tls::TlsListener::new(listener, config, connection_budgets.max_connections);
                    let listener = drain::Draining::new(listener, in_flight.clone());
                    serve::serve(listener, router, connection_budgets, &workers, shutdown).await
                }
                None => {
                    let listener = drain::Draining::new(listener, in_flight.clone());
                    serve::serve(listener, router, connection_budgets, &workers, shutdown).await
                }
            }
        };
        // A rolled refresh token is on disk (temp file, fsync, rename) before it is ever used (see `tokens`), and
        // the exchange runs in a task of its own, so a call cut off here does not lose it; `settle` waits for an
        // exchange still under way, so that the process does not exit between the two.
        let served = drain::within_grace(served, stopping, shutdown_grace, &in_flight).await;
        // No reload after this point: one could open refresh token stores that the settling below does not see.
        reloader.abort();
        gateway_tokens.settle(SETTLE_EXCHANGES).await;
        // After the exchanges: one still writing its refresh token when `settle` gave up is waited for here.
        workers.stop().await;
        evictor.abort();
        upkeep.abort();
        if let Some(server) = metrics_server {
            server.abort();
        }
        drop(sandbox);
        served
    }
}

/// The file descriptors the budgets may take at once: the connections served and the probes' reserve (twice the
/// connections with TLS, whose handshakes under way are as many again), one per upstream call in flight and as
/// many again for the idle connections the serving workers' pools keep while other workers' calls are in flight
/// (all of that twice with the embedded sandbox, which holds the other end), and a margin for the listeners, the
/// runtime and files.
fn descriptors_needed(settings: &Settings, sandbox: bool) -> u64 {
    const MARGIN: usize = 64;
    let connections = settings.server.max_connections.get();
    let handshakes = if settings.server.tls.is_some() {
        connections
    } else {
        0
    };
    let calls = settings.upstream.max_concurrent_calls.get() * 2 * if sandbox { 2 } else { 1 };
    (connections + handshakes + serve::PROBE_RESERVE + calls + MARGIN) as u64
}

/// What start-up builds from the connections of `settings` (each one's credentials read, its keys registered,
/// the quotas set up), as [`Application::build`] does it; it returns the registry. For benchmarks.
pub fn registry(settings: &Settings, clock: &Clock) -> Result<Registry, ConfigError> {
    reload::snapshot(settings, None, clock, None).map(|(live, ..)| live.registry)
}

/// The `i`th connection of the configuration with its credentials read; an error names the key at fault.
fn connection(i: usize, c: &RegisteredConnection) -> Result<Connection, ConfigError> {
    let credentials = c.credentials.resolve().map_err(|e| {
        ConfigError::key(
            format!("connections[{i}].credentials.{}", e.field),
            e.problem,
        )
    })?;
    Ok(Connection::new(c.id.clone(), credentials))
}

/// Partner Center and the token authority as this configuration reaches them, with the HTTP client for both
/// (and Partner Center's on each serving worker). In the sandbox profile (no `upstream.base_url`) the sandbox, started here on a loopback port, is both.
struct Upstreams {
    sandbox: Option<Arc<SandboxHandle>>,
    /// Partner Center's base URL, with no trailing slash.
    base: String,
    /// The token authority's, with no trailing slash.
    authority: String,
    http: reqwest::Client,
    /// Partner Center's client on each serving worker (`http` on any other thread): a pool of its own per worker,
    /// so a call's upstream connection is a task on the call's own thread.
    per_worker: PerWorker<reqwest::Client>,
    /// Where the components record; off for the administrator's commands, which serve no `/metrics`.
    metrics: Metrics,
}

impl Upstreams {
    async fn start(settings: &Settings, workers: usize) -> anyhow::Result<Self> {
        let sandbox = match settings.uses_sandbox() {
            true => {
                let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
                let handle = sandbox::spawn(listener, settings.sandbox.clone()).await?;
                tracing::info!(url = %handle.base_url(), "embedded Partner Center sandbox started");
                Some(Arc::new(handle))
            }
            false => None,
        };
        let (base, authority) = match (&sandbox, &settings.upstream.base_url) {
            (Some(s), _) => (s.base_url(), s.base_url()),
            (None, Some(url)) => (trimmed(url), trimmed(&settings.auth.authority)),
            (None, None) => unreachable!("no base URL means the sandbox"),
        };
        let calls = settings.upstream.max_concurrent_calls.get();
        let client = |max_idle| {
            crate::upstream::http_client(
                settings.upstream.connect_timeout(),
                settings.upstream.timeout(),
                max_idle,
            )
        };
        let http = client(calls)?;
        let per_worker = PerWorker::try_new(workers, |i| match i {
            0 => Ok(http.clone()),
            _ => client(calls.div_ceil(workers)),
        })?;
        Ok(Self {
            sandbox,
            base,
            authority,
            http,
            per_worker,
            metrics: Metrics::off(),
        })
    }

    fn token_source(&self, settings: &Settings, clock: &Clock) -> TokenSource {
        TokenSource::new(
            self.http.clone(),
            self.authority.clone(),
            settings.auth.scope.clone(),
            breaker(&settings.upstream, "token authority", clock).recorded(self.metrics.clone()),
            clock.clone(),
            self.metrics.clone(),
        )
        .with_shared(
            shared_tokens(settings),
            settings.upstream.connect_timeout() + settings.upstream.timeout(),
        )
    }

    fn partner_center(&self, settings: &Settings, clock: &Clock) -> PartnerCenter {
        PartnerCenter::new(
            self.per_worker.clone(),
            self.base.clone(),
            settings.upstream.max_response_bytes.get(),
            settings.upstream.retry_policy(),
            breaker(&settings.upstream, "Partner Center", clock).recorded(self.metrics.clone()),
            self.metrics.clone(),
        )
    }
}

/// With the Redis backend, the store through which the replicas share the connections' tokens. The URL was
/// checked at load, so the client can be made; it connects on first use. Not in the sandbox profile: each
/// replica's embedded sandbox is a token authority of its own, whose tokens no other replica's takes.
fn shared_tokens(settings: &Settings) -> Option<Arc<SharedTokens>> {
    let options = settings
        .redis
        .as_ref()
        .filter(|_| !settings.uses_sandbox())?;
    match RedisLink::new(&options.url, &options.topology, options.timeout) {
        Ok(link) => Some(Arc::new(SharedTokens::new(link, options.timeout))),
        Err(e) => {
            tracing::error!(error = %e, "tokens cannot be shared through Redis; each replica keeps its own");
            None
        }
    }
}

fn breaker(upstream: &UpstreamSettings, name: &'static str, clock: &Clock) -> Breaker {
    Breaker::new(
        name,
        upstream.breaker_failures.get(),
        Duration::from_secs(upstream.breaker_cooldown_secs),
        clock.clone(),
    )
}

/// Completes on Ctrl-C or SIGTERM (what container runtimes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: /readyz answers 503 from now on");
}
