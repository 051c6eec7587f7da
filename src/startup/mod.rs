//! Building and running the server: `Application::build` binds (port 0 works, for tests), starts the embedded
//! sandbox when the configuration names no Partner Center, and wires the gateway; `run_until_stopped` serves
//! until the shutdown future completes, letting in-flight calls finish (see [`drain`]). With `server.tls` it
//! serves HTTPS itself ([`tls`]). The administrator's commands that act on connections without serving,
//! [`login`] and [`check`], reach Partner Center and the token authority through the same [`Upstreams`].

pub mod check;
mod drain;
pub mod login;
mod router;
mod serve;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::{
    ConfigError, RegisteredConnection, Settings, UpstreamSettings, server_config, trimmed,
};
use crate::connection::bearer::{BearerValidator, TrustedIssuer};
use crate::connection::{Connection, Registry};
use crate::edge::{Gateway, Inner};
use crate::quota::Quotas;
use crate::readiness::Readiness;
use crate::sandbox::{self, SandboxHandle};
use crate::upstream::PartnerCenter;
use crate::upstream::breaker::{Admission, Breaker};
use crate::upstream::tokens::TokenSource;

/// How long an exit waits for a refresh-token exchange already under way (see `TokenSource::settle`): a token
/// request answers in well under a second, and the supervisor's kill should not come first.
const SETTLE_EXCHANGES: Duration = Duration::from_secs(5);

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    sandbox: Option<Arc<SandboxHandle>>,
    gateway: Gateway,
    evict_every: Duration,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    shutdown_grace: Duration,
    drain_delay: Duration,
    header_timeout: Duration,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::real()).await
    }

    /// As [`Application::build`], with the quotas, the JWKS refetch window and the breakers' cooldowns on
    /// `clock`: tests move a manual clock instead of waiting.
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let registry = registry(&settings)?;
        let overrides = settings
            .connections
            .iter()
            .filter_map(|c| c.quota.map(|q| (c.id.clone(), q)));
        let upstreams = Upstreams::start(&settings).await?;
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
        let gateway = Gateway::new(Inner {
            quotas: Quotas::new(&settings.quota, overrides, &clock),
            bearer,
            tokens: Arc::new(upstreams.token_source(&settings, &clock)),
            registry,
            admission: Admission::new(
                settings.upstream.max_concurrent_calls.get(),
                settings.upstream.max_queued_calls,
                Duration::from_millis(settings.upstream.queue_timeout_ms),
            ),
            partner_center: upstreams.partner_center(&settings, &clock),
            readiness: Arc::new(Readiness::new(
                upstreams.http.clone(),
                format!("{}/", upstreams.base),
                format!("{}/", upstreams.authority),
            )),
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
        let router = router::router(gateway.clone(), demo);
        Ok(Self {
            listener,
            router,
            sandbox,
            gateway,
            evict_every: Duration::from_secs(settings.quota.evict_interval_secs.get()),
            tls,
            shutdown_grace: Duration::from_secs(settings.server.shutdown_grace_secs),
            drain_delay: Duration::from_secs(settings.server.drain_delay_secs),
            header_timeout: Duration::from_millis(settings.server.header_timeout_ms.get()),
        })
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
            header_timeout,
        } = self;
        let gateway_tokens = Arc::clone(&gateway.tokens);
        let readiness = Arc::clone(&gateway.readiness);
        let evictor = tokio::spawn(async move {
            let mut tick = tokio::time::interval(evict_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                gateway.quotas.evict_idle();
            }
        });
        let in_flight = drain::InFlight::default();
        let router = router.layer(axum::middleware::from_fn_with_state(
            in_flight.clone(),
            drain::track,
        ));
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
                    let listener = tls::TlsListener::new(listener, config);
                    let listener = drain::Draining::new(listener, in_flight.clone());
                    serve::serve(listener, router, header_timeout, shutdown).await
                }
                None => {
                    let listener = drain::Draining::new(listener, in_flight.clone());
                    serve::serve(listener, router, header_timeout, shutdown).await
                }
            }
        };
        // A rolled refresh token is on disk (temp file, fsync, rename) before it is ever used (see `tokens`), and
        // the exchange runs in a task of its own, so a call cut off here does not lose it; `settle` waits for an
        // exchange still under way, so that the process does not exit between the two.
        let served = drain::within_grace(served, stopping, shutdown_grace, &in_flight).await;
        gateway_tokens.settle(SETTLE_EXCHANGES).await;
        evictor.abort();
        drop(sandbox);
        served
    }
}

/// Every connection of the configuration with its credentials read (secrets, refresh token files), so a
/// missing secret stops start-up instead of failing the first call.
fn registry(settings: &Settings) -> Result<Registry, ConfigError> {
    let mut connections = Vec::new();
    for (i, c) in settings.connections.iter().enumerate() {
        connections.push((c.api_key_sha256, connection(i, c)?));
    }
    Ok(Registry::new(connections))
}

/// The `i`th connection of the configuration with its credentials read; an error names the key at fault.
fn connection(i: usize, c: &RegisteredConnection) -> Result<Connection, ConfigError> {
    let credentials = c.credentials.resolve().map_err(|e| {
        ConfigError::key(
            format!("connections[{i}].credentials.{}", e.field),
            e.problem,
        )
    })?;
    Ok(Connection {
        id: c.id.clone(),
        credentials,
    })
}

/// Partner Center and the token authority as this configuration reaches them, with the one HTTP client for
/// both. In the sandbox profile (no `upstream.base_url`) the sandbox, started here on a loopback port, is both.
struct Upstreams {
    sandbox: Option<Arc<SandboxHandle>>,
    /// Partner Center's base URL, with no trailing slash.
    base: String,
    /// The token authority's, with no trailing slash.
    authority: String,
    http: reqwest::Client,
}

impl Upstreams {
    async fn start(settings: &Settings) -> anyhow::Result<Self> {
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
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(settings.upstream.connect_timeout())
            .timeout(settings.upstream.timeout())
            // A redirect would send the connection's token wherever Partner Center (or an attacker in the path)
            // pointed; Partner Center's API does not redirect, so any redirect is an error to surface.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            sandbox,
            base,
            authority,
            http,
        })
    }

    fn token_source(&self, settings: &Settings, clock: &Clock) -> TokenSource {
        TokenSource::new(
            self.http.clone(),
            self.authority.clone(),
            settings.auth.scope.clone(),
            settings.connections.len() as u64,
            breaker(&settings.upstream, "token authority", clock),
            clock.clone(),
        )
    }

    fn partner_center(&self, settings: &Settings, clock: &Clock) -> PartnerCenter {
        PartnerCenter::new(
            self.http.clone(),
            self.base.clone(),
            settings.upstream.retry_policy(),
            breaker(&settings.upstream, "Partner Center", clock),
        )
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
