//! partner-center-gateway: the deprecated Microsoft Partner Center connector's operations, republished for
//! Power Automate, Logic Apps and Power Apps makers, each call proxied to Partner Center on the caller's
//! connection and under that connection's quota.
//!
//! Layout, in the order a call meets it:
//!
//! - [`cli`] and [`startup`]: the command line, `Application::build` (binds, starts the sandbox when no real
//!   Partner Center is configured) and `run_until_stopped` (the accept loop, with header and body timeouts,
//!   HTTPS when configured, and the graceful drain).
//! - [`config`]: layered settings (TOML file, then `PCGW_` environment), checked on load.
//! - [`routes`]: the router factory and one file per operation; the middleware stack is explained there.
//! - [`correlation`]: the per-call correlation ID, echoed and sent to Partner Center.
//! - [`auth`]: who is calling (API key, or a validated Entra bearer token passed through) and the quota check,
//!   with the `RateLimit` headers every answered call carries.
//! - [`connections`]: the registry of API keys → connections and their credentials.
//! - [`quota`]: governor limiters keyed on the connection ID.
//! - [`domain`]: newtypes parsed at the edge (`CustomerTenantId`, `ConnectionId`, ...).
//! - [`gateway`]: shared state, extractors and the steps every operation takes.
//! - [`tokens`]: access tokens per connection (moka cache) and rolling refresh tokens on disk.
//! - [`upstream`]: the one reqwest client that calls Partner Center, with retries.
//! - [`breaker`]: circuit breakers per upstream and the concurrency limit with its bounded queue.
//! - [`retry`]: when to ask Partner Center again (`Retry-After` in both forms, backoff).
//! - [`paging`]: `nextLink` for paged collections.
//! - [`error`]: the one error type at the HTTP edge and its status mapping.
//! - [`sandbox`]: an embedded Partner Center (API, token endpoint, JWKS) over deterministic data: the
//!   `partner-center-sandbox` crate of this workspace (`sandbox/`), which also runs on its own.
//! - [`openapi`]: the OpenAPI 3.1 document generated from the routes, Swagger UI, and the Power Platform
//!   custom-connector package (Swagger 2.0 in en-US and pt-BR, `apiProperties.json`, icon) converted from it.

pub mod auth;
pub mod breaker;
pub mod cli;
pub mod config;
pub mod connections;
pub mod correlation;
pub mod domain;
pub mod error;
pub mod gateway;
pub mod openapi;
pub mod paging;
pub mod quota;
pub mod retry;
pub mod routes;
// Its own crate (sandbox/), so it can run alone; re-exported so tests keep reaching it as `sandbox`.
pub use partner_center_sandbox as sandbox;
pub mod startup;
pub mod tokens;
pub mod upstream;
