//! The black-box suite, one integration-test binary with a module per area (as zero-to-production's
//! `tests/api`). Each area was once its own binary, and each linked the whole gateway again: eleven links of
//! ~55 MB per build, which cost CI minutes and disk. `tests/secrets.rs` stays apart because it owns the
//! process's log output.

#[path = "../common/mod.rs"]
mod common;

mod budgets;
mod check;
mod cli;
mod connector;
mod deploy;
mod edge;
mod faults;
mod hardening;
mod login;
mod logs;
mod metrics;
mod openapi;
mod operations;
mod paging;
mod probes;
mod proxies;
mod query;
mod quota;
mod redis;
mod reload;
mod resilience;
mod shutdown;
mod status;
mod tls;
mod tokens;
mod trace;
mod triggers;
mod workers;
