//! partner-center-sandbox: an emulator of Microsoft Partner Center and of the Entra ID (v2) token endpoint in
//! front of it, over deterministic demo data, for testing a Partner Center client without a partner tenant.
//!
//! It is served over real HTTP, so that paging, header handling, URL encoding and token refresh are exercised
//! exactly as they would be against the real services: the gateway's sandbox profile embeds it on a loopback
//! port, and the `partner-center-sandbox` binary (or the gateway's `sandbox` subcommand) serves it alone.
//!
//! Modules, in the order a request meets them:
//!
//! - this file: [`spawn`] and the accept loop (which can drop a connection on purpose, see [`Fault`]), the
//!   router, and the front door every request passes: the `/v1` call counter, the optional partner-level
//!   throttle ([`SandboxOptions`]), the JSON content type and the `MS-RequestId` / `MS-CorrelationId` echo.
//!   [`SandboxHandle`] stops the server when dropped and lets tests read the counters and arm faults.
//! - `tokens`: the Entra lookalike: the token endpoint (`client_credentials`, rolling `refresh_token` and
//!   `device_code` grants), RS256 access and refresh tokens signed with the committed key and carrying `amr`,
//!   the JWKS and OpenID configuration, verification of the access tokens the API receives, and the try-it-out
//!   route that mints a demo maker's token.
//! - `device_code`: the device authorization grant (RFC 8628) as Entra runs it: `/devicecode`, the codes
//!   waiting for a sign-in, and `/devicelogin`, the page (and form post) where a person, or a test, approves a
//!   code with or without multifactor authentication.
//! - `api`: the `/v1` endpoints other than agreements, and what all of them share: bearer-token checks
//!   (app-only, or App+User with multifactor authentication), query parameters matched case-insensitively, collections, and the
//!   `MS-ContinuationToken` paging of customers.
//! - `agreements`: agreement metadata and the partner's confirmations of customer agreements (App+User only,
//!   idempotent per `MS-RequestId`).
//! - `activity`: the activity log (`GET /v1/auditrecords`): every write the sandbox accepts, and the changes its
//!   own helpers (`POST /sandbox/customers`, `/sandbox/orders`, `/sandbox/subscriptions/{id}/seats`,
//!   `/sandbox/activity`) make, as Partner Center's audit records.
//! - `errors`: error bodies shaped like Partner Center's (the classic envelope, the newer one, the front door's
//!   429).
//! - `data`: the customers, subscriptions, orders and invoices, derived from SHA-256 of stable labels so every
//!   process sees the same ones.
//! - [`demo`]: the published demo tenant, app and seed refresh token.
//! - [`cli`]: the command line shared by the `partner-center-sandbox` binary and the gateway's `sandbox`
//!   subcommand.

mod activity;
mod agreements;
mod api;
pub mod cli;
mod data;
mod device_code;
mod errors;
mod tokens;

#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

pub mod demo {
    /// The partner tenant the demo connections belong to.
    pub const PARTNER_TENANT_ID: &str = "8f5c9f0a-3f6e-4a4e-9d3b-5d3c2b1a0e9f";
    pub const CLIENT_ID: &str = "5b1e0c33-7d1f-4d8e-a1c4-0f6f3b2a9e11";
    pub const CLIENT_SECRET: &str = "sandbox-demo-client-secret";
    /// Refresh token the sandbox accepts (once per sandbox process) for the demo App+User connection "contoso-demo".
    pub const CONTOSO_REFRESH_TOKEN_SEED: &str = "sandbox-demo-refresh-token-contoso-admin";
    pub const SEED_CUSTOMER_ID: &str = "c501c3c4-d776-40ef-9ecf-9cefb59442c1";
    pub const SEED_PARTNER_ID: &str = "4847383";
    pub const MCA_TEMPLATE_ID: &str = "117a77b0-9360-443b-8795-c6dedc750cf9";
    pub const PARTNER_CENTER_RESOURCE: &str = "https://api.partnercenter.microsoft.com";
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxOptions {
    /// Partner-level throttle over all /v1 calls (None = off).
    pub(crate) throttle: Option<Throttle>,
    /// What `/devicecode` answers about polling and expiry.
    #[serde(default)]
    pub(crate) device_code: DeviceCodeOptions,
}

impl SandboxOptions {
    /// The `interval` the device-code endpoint answers, in seconds: 0 lets a test's sign-in poll without
    /// waiting (Entra answers 5).
    pub fn device_code_interval(mut self, seconds: u64) -> Self {
        self.device_code.interval_secs = seconds;
        self
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DeviceCodeOptions {
    /// Seconds a client waits between polls (`interval`); polling sooner is answered `slow_down`.
    pub(crate) interval_secs: u64,
    /// Seconds a code stays valid (`expires_in`).
    pub(crate) expires_in_secs: u64,
}

/// Entra's own values: a user has 15 minutes to sign in, and clients poll every 5 seconds.
impl Default for DeviceCodeOptions {
    fn default() -> Self {
        Self {
            interval_secs: 5,
            expires_in_secs: 900,
        }
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Throttle {
    pub(crate) calls: std::num::NonZeroU32,
    pub(crate) period_secs: std::num::NonZeroU64,
}

/// A running sandbox; dropping it stops the server.
pub struct SandboxHandle {
    addr: SocketAddr,
    sandbox: Arc<Sandbox>,
    task: tokio::task::JoinHandle<()>,
    /// Dropping it tells open keep-alive connections to close, which
    /// aborting the accept loop alone would leave serving.
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl SandboxHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// e.g. "http://127.0.0.1:43121" (no trailing slash)
    pub fn base_url(&self) -> String {
        self.sandbox.tokens.base_url().to_owned()
    }

    /// Number of requests that reached any /v1 endpoint (counted before auth/throttle checks).
    pub fn api_calls(&self) -> u64 {
        self.sandbox.api_calls.load(Ordering::Relaxed)
    }

    /// Number of requests that reached the token endpoint.
    pub fn token_calls(&self) -> u64 {
        self.sandbox.token_calls.load(Ordering::Relaxed)
    }

    /// Number of agreements stored for a customer.
    pub fn agreements_stored(&self, customer_id: &str) -> usize {
        self.sandbox.agreements_stored(customer_id)
    }

    /// Arms `fault` for the next `times` requests it applies to.
    pub fn inject(&self, fault: Fault, times: u32) {
        *lock(&self.sandbox.faults).entry(fault).or_default() += times;
    }

    /// The sandbox profile's try-it-out routes, for the gateway to serve on its own address, and their
    /// description for the gateway's `/openapi.json`: `POST /sandbox/users/{name}/token` mints a token for a
    /// demo maker of that name, and the activity helpers add to the activity log.
    pub fn demo_routes(&self) -> (Router, utoipa::openapi::OpenApi) {
        let (router, api) = utoipa_axum::router::OpenApiRouter::new()
            .routes(utoipa_axum::routes!(tokens::user_token))
            .routes(utoipa_axum::routes!(activity::add_customer))
            .routes(utoipa_axum::routes!(activity::add_order))
            .routes(utoipa_axum::routes!(activity::change_seats))
            .routes(utoipa_axum::routes!(activity::add_activity))
            .split_for_parts();
        (router.with_state(self.sandbox.clone()), api)
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        self.task.abort();
    }
}

/// Serve the sandbox on an already-bound listener (port 0 works) in a spawned task.
pub async fn spawn(
    listener: tokio::net::TcpListener,
    options: SandboxOptions,
) -> std::io::Result<SandboxHandle> {
    let addr = listener.local_addr()?;
    let sandbox = Arc::new(Sandbox::new(base_url_for(addr), &options));
    let app = router(sandbox.clone());
    let (shutdown, shutdown_signal) = tokio::sync::oneshot::channel::<()>();
    // No log line here: whoever started it says where it listens, once (the binary's `url=` line, the
    // gateway's "embedded Partner Center sandbox started").
    let task = tokio::spawn(serve(listener, app, sandbox.clone(), shutdown_signal));
    Ok(SandboxHandle {
        addr,
        sandbox,
        task,
        shutdown: Some(shutdown),
    })
}

/// The accept loop. Not `axum::serve`: its service cannot fail, and the "drop after commit" fault needs exactly
/// that, a request that is acted on and then answered by a closed connection, as a crash or a network cut would.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    sandbox: Arc<Sandbox>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tower::ServiceExt;
    // Owned by this task: when the handle aborts it, every open connection goes with it.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "sandbox accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => return,
        };
        let (app, sandbox) = (app.clone(), sandbox.clone());
        let service = hyper::service::service_fn(
            move |request: hyper::Request<hyper::body::Incoming>| {
                let (app, sandbox) = (app.clone(), sandbox.clone());
                async move {
                    let drop_after = request.method() == axum::http::Method::POST
                        && request.uri().path().starts_with("/v1/")
                        && sandbox.take_fault(Fault::DropAfterCommit);
                    let response = app
                        .oneshot(request.map(axum::body::Body::new))
                        .await
                        .unwrap_or_else(|e| match e {});
                    if drop_after {
                        tracing::info!(status = %response.status(), "sandbox fault: dropping the connection instead of answering");
                        return Err(std::io::Error::other(
                            "sandbox fault: connection dropped after the write was acted on",
                        ));
                    }
                    Ok(response)
                }
            },
        );
        connections.spawn(async move {
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        // Reap finished connections so the set does not grow with every one ever served.
        while connections.try_join_next().is_some() {}
    }
}

/// Faults a test (or a curious admin) can arm, each for a number of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The next POST to the Partner Center API is acted on (an agreement is stored) and then the connection is
    /// dropped unanswered.
    DropAfterCommit,
}

/// A wildcard bind address is not something a client can connect to, so the
/// advertised URL (and the token issuer) uses loopback instead.
fn base_url_for(addr: SocketAddr) -> String {
    let mut advertised = addr;
    if addr.ip().is_unspecified() {
        advertised.set_ip(if addr.is_ipv4() {
            Ipv4Addr::LOCALHOST.into()
        } else {
            Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{advertised}")
}

/// Everything the handlers share.
struct Sandbox {
    data: data::Dataset,
    tokens: tokens::TokenIssuer,
    refresh_ledger: Mutex<tokens::RefreshLedger>,
    device_codes: Mutex<device_code::DeviceCodes>,
    device_code_options: DeviceCodeOptions,
    agreements: Mutex<agreements::AgreementStore>,
    activity: Mutex<activity::ActivityLog>,
    limiter: Option<DefaultDirectRateLimiter>,
    api_calls: AtomicU64,
    token_calls: AtomicU64,
    faults: Mutex<std::collections::HashMap<Fault, u32>>,
}

impl Sandbox {
    fn new(base_url: String, options: &SandboxOptions) -> Self {
        Self {
            data: data::Dataset::generate(),
            tokens: tokens::TokenIssuer::new(base_url),
            refresh_ledger: Mutex::default(),
            device_codes: Mutex::default(),
            device_code_options: options.device_code.clone(),
            agreements: Mutex::default(),
            activity: Mutex::default(),
            limiter: options
                .throttle
                .as_ref()
                .map(|t| RateLimiter::direct(t.quota())),
            api_calls: AtomicU64::new(0),
            token_calls: AtomicU64::new(0),
            faults: Mutex::default(),
        }
    }

    /// Consumes one arming of `fault`, if any.
    fn take_fault(&self, fault: Fault) -> bool {
        let mut faults = lock(&self.faults);
        match faults.get_mut(&fault) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    fn agreements_stored(&self, customer_id: &str) -> usize {
        let key = data::normalize_guid(customer_id).unwrap_or_else(|| customer_id.to_owned());
        lock(&self.agreements).count(&key)
    }

    /// `Err(seconds)` when the caller must wait.
    fn check_throttle(&self) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            // Clients sleep for Retry-After; a value of 0 would make them spin.
            wait.as_secs_f64().ceil().max(1.0) as u64
        })
    }
}

impl Throttle {
    fn quota(&self) -> Quota {
        // GCRA: the whole allowance may be spent at once, then it refills
        // evenly over the period, like a fixed window without the cliff.
        let per_call = Duration::from_secs(self.period_secs.get()) / self.calls.get();
        Quota::with_period(per_call)
            .unwrap_or_else(|| Quota::per_second(std::num::NonZeroU32::MAX))
            .allow_burst(self.calls)
    }
}

/// A poisoned lock only means another request panicked mid-update; the
/// sandbox's state stays usable for the requests that follow.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(tokens::token_endpoint))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(device_code::authorize),
        )
        .route(
            "/devicelogin",
            get(device_code::sign_in_page).post(device_code::approve),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(tokens::jwks))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(tokens::openid_configuration),
        )
        .route("/sandbox/users/{name}/token", post(tokens::user_token))
        .route("/sandbox/customers", post(activity::add_customer))
        .route("/sandbox/orders", post(activity::add_order))
        .route(
            "/sandbox/subscriptions/{subscription_id}/seats",
            post(activity::change_seats),
        )
        .route("/sandbox/activity", post(activity::add_activity))
        .route("/v1/auditrecords", get(activity::list_audit_records))
        .route("/v1/customers", get(api::list_customers))
        .route("/v1/customers/{customer_id}", get(api::get_customer))
        .route(
            "/v1/customers/{customer_id}/subscriptions",
            get(api::list_subscriptions),
        )
        .route("/v1/customers/{customer_id}/orders", get(api::list_orders))
        .route(
            "/v1/customers/{customer_id}/agreements",
            get(agreements::list_customer_agreements).post(agreements::create_customer_agreement),
        )
        .route("/v1/invoices", get(api::list_invoices))
        .route("/v1/agreements", get(agreements::agreement_metadata))
        .fallback(api::unknown_path)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(middleware::from_fn_with_state(sandbox.clone(), front_door))
        .with_state(sandbox)
}

/// What Partner Center's front door does for every request: count, throttle,
/// and stamp the response headers clients rely on.
async fn front_door(State(sandbox): State<Arc<Sandbox>>, request: Request, next: Next) -> Response {
    let echoed: Vec<_> = [api::MS_REQUEST_ID, api::MS_CORRELATION_ID]
        .into_iter()
        .filter_map(|name| {
            let value = request.headers().get(name)?.clone();
            Some((name, value))
        })
        .collect();

    let path = request.uri().path();
    let mut response = if path == "/v1" || path.starts_with("/v1/") {
        sandbox.api_calls.fetch_add(1, Ordering::Relaxed);
        match sandbox.check_throttle() {
            Ok(()) => next.run(request).await,
            Err(seconds) => errors::PcError::throttled(seconds).into_response(),
        }
    } else {
        next.run(request).await
    };

    let headers = response.headers_mut();
    // Every answer is JSON but the sign-in page, which a browser must see as HTML.
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if !is_html {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    for (name, value) in echoed {
        headers.insert(name, value);
    }
    response
}
