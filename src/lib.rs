//! partner-center-gateway: the deprecated Microsoft Partner Center connector's operations, republished for
//! Power Automate, Logic Apps and Power Apps makers, each call proxied to Partner Center on the caller's
//! connection and under that connection's quota.
//!
//! # The house
//!
//! Layers, bottom first. A module imports (`use crate::…` or an inline `crate::…` path) only modules of the
//! layers below its own, or of its own layer where that closes no cycle; never one above. `.ci/layers` reads
//! this list, and `.ci/test` (CI) fails on an import that points up or closes a cycle.
//!
//! 1. base: `clock`, `correlation`, `trace_context`, `call_record`, `error`, `domain`, `sandbox`, `telemetry`, `redis_link`, `worker`
//! 2. components: `connection`, `quota`, `upstream`, `readiness`, `openapi`, `triggers`
//! 3. edge: `edge`
//! 4. surface: `routes`, `connector`
//! 5. settings: `config`
//! 6. wiring: `startup`
//! 7. command line: `cli`
//!
//! The components never read the configuration: [`config`] parses the file at load (and at each reload) into
//! their own types (a quota's checked limit, a connection's ID, key hashes and where its secrets are), and
//! [`startup`] builds the components from that; [`cli`] reads it too, for its subcommands.
//!
//! Layout, bottom first:
//!
//! - [`clock`]: the gateway's clock (quotas, breaker cooldowns, the JWKS refetch window, keys' expiry dates); moved
//!   by hand in tests.
//! - [`correlation`]: the per-call correlation ID, echoed and sent to Partner Center.
//! - `trace_context`: the call's W3C trace context (`traceparent`, `tracestate`), continued or started, sent to
//!   Partner Center with the gateway's span as parent, and returned.
//! - `call_record`: what a call did (connection, Partner Center's status, attempts and time, `MS-RequestId`,
//!   the cause of an error), noted by the layers that know and written once as the call's log line.
//! - [`error`]: the one error type at the HTTP edge and its status mapping.
//! - [`domain`]: newtypes parsed at the edge (`CustomerTenantId`, `ConnectionId`, ...).
//! - [`telemetry`]: the metrics' names, declared once, and the per-gateway recorder the components record
//!   into (`startup` renders it for `GET /metrics`).
//! - `redis_link`: one Redis (a server, or a Cluster), as the components that share state between replicas
//!   reach it, connected on first use; its URL shown only with the password replaced.
//! - [`worker`]: which serving worker (a single-threaded runtime of its own) the current thread is, and a value
//!   kept once per worker (the upstream client, whose pooled connections are tasks of the runtime that opened
//!   them).
//! - [`sandbox`]: an embedded Partner Center (API, token endpoint, JWKS) over deterministic data: the
//!   `partner-center-sandbox` crate of this workspace (`sandbox/`), which also runs on its own, and imports
//!   nothing of the gateway.
//! - [`connection`]: who the caller is: API keys (issued, hashed, looked up by hash with their expiry), the
//!   registry of keys → connections and their credentials (rolling refresh tokens on disk), a validated Entra bearer
//!   token passed through (`connection::bearer`), and the caller's connection.
//! - [`quota`]: governor limiters keyed on the connection ID, each built from a limit that holds its checked
//!   shape (`quota::QuotaLimit`), or the same count shared by every replica in Redis (`quota::redis`); it
//!   answers numbers, the edge writes the headers.
//! - [`upstream`]: the one reqwest client that calls Partner Center, with retries (`upstream::retry`); access
//!   tokens per connection, which it also drops when Partner Center refuses one (`upstream::tokens`); the
//!   tokens shared by the replicas through Redis (`upstream::shared_tokens`); the device code sign-in
//!   (`upstream::device_code`) and what a token says of its sign-in (`upstream::claims`);
//!   circuit breakers and the concurrency limit with its bounded queue (`upstream::breaker`).
//! - `readiness`: whether the gateway can serve (`/readyz`): Partner Center and the token authority answer
//!   within a timeout, and no drain has begun; the result cached for a moment.
//! - `triggers`: the polling triggers over Partner Center's activity log: which records each delivers, and its
//!   state (cursor, filter, the query still being paged), signed and bound to the connection, which travels in
//!   the `Location` URL so any replica answers the next poll.
//! - `openapi`: the contract: the OpenAPI document's base and finish, the models and their display names, and
//!   the query parameters and error responses the operations share.
//! - `edge`: shared state (the live configuration a reload swaps: `edge::live`), extractors (`Caller`,
//!   `CustomerPath`, `QueryParams`, `LinkBase`, the call context), answers and `nextLink` paging, the triggers'
//!   polling answers (`edge::polling`: 202 or 200 with `Location` and `Retry-After`), the scheme and
//!   host that trusted proxies forward (`edge::forwarded`), and authentication with the `RateLimit` headers
//!   (`edge::auth`, and the admin key's check); `edge::operation` is the one service an operation's call
//!   passes through before its handler: `edge::observe` counts and times it under its operationId, then
//!   `edge::auth` admits it; `edge::call_log` writes each call's line and `edge::refusals` sums up the refused
//!   ones; `edge::protocol` checks that a request has one valid `Host`; `edge::body` reads a request body as
//!   sent.
//! - [`routes`]: one file per operation, collected with their descriptions; the admin endpoint (`routes::admin`).
//! - [`connector`]: the Power Platform custom-connector package (Swagger 2.0 in en-US and pt-BR,
//!   `apiProperties.json`, icon) converted from the OpenAPI document, its export, and the router that serves
//!   the documents and Swagger UI.
//! - [`config`]: layered settings (TOML file, then `PCGW_` environment), one file per section, checked on load
//!   (the `[sandbox]` table is the sandbox crate's own `SandboxOptions`).
//! - [`startup`]: `Application::build` (binds, starts the sandbox when no real Partner Center is configured,
//!   builds the components from the settings and assembles the router with its middleware stack, the call
//!   layer around every request: `startup::call_layer`), `run_until_stopped` (the accept loop handing each
//!   connection to a serving worker, `startup::workers`, with header and body timeouts, HTTPS when configured,
//!   and the graceful drain), the reload on SIGHUP or `POST /admin/reload`, the Prometheus exporter behind `/metrics`
//!   (on the main listener or its own), and the administrator's `login` and `check`, over the same upstreams.
//! - [`cli`]: the command line (`keys` among its subcommands).

pub(crate) mod call_record;
pub mod clock;
pub(crate) mod correlation;
pub mod domain;
pub(crate) mod error;
pub mod trace_context;
// Its own crate (sandbox/), so it can run alone; re-exported so tests keep reaching it as `sandbox`.
pub use partner_center_sandbox as sandbox;
pub mod redis_link;
pub mod telemetry;
pub mod worker;

pub mod connection;
pub(crate) mod openapi;
pub mod quota;
pub mod readiness;
pub(crate) mod triggers;
pub mod upstream;

pub(crate) mod edge;

pub mod connector;
pub mod routes;

pub mod config;

pub mod startup;

pub mod cli;
