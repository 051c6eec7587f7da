//! Whether the gateway can serve calls now: what `/readyz` answers, for load balancers and Kubernetes.
//!
//! Ready means the configuration loaded and the listener is up (both true once anything answers), Partner
//! Center and the token authority each answer something, anything, over HTTP within [`PROBE_TIMEOUT`] (an
//! unauthenticated `GET` of the configured base URL: a 404 or 401 proves the path works; no connection or no
//! answer in time does not), and no shutdown has begun. There is no Redis backend yet, so that check says so.
//!
//! A result is reused for [`CACHE_FOR`], and probes that arrive while one is under way wait for it, so a storm
//! of probes costs Partner Center at most one request per upstream per interval. Once the drain has begun the
//! answer is "not ready" at once, without asking anyone.
//!
//! The body names each check and its outcome, never a URL, an address or an upstream's error text: `/readyz` is
//! served to anyone who can reach the listener. The log line of a failed check names the URL and the cause.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::quota::SharedQuota;

/// How long an upstream has to answer a probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a result is reused.
pub const CACHE_FOR: Duration = Duration::from_secs(1);

pub struct Readiness {
    http: reqwest::Client,
    /// Check name, and the URL probed.
    upstreams: [(&'static str, String); 2],
    draining: AtomicBool,
    last: tokio::sync::Mutex<Option<(Instant, Report)>>,
    redis: Option<Arc<SharedQuota>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// Each check by name: `ok`, or what is wrong.
    pub checks: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    pub fn ready(&self) -> bool {
        self.status == "ready"
    }
}

impl Readiness {
    /// `partner_center` and `token_authority` are the base URLs calls and token requests go to.
    pub fn new(http: reqwest::Client, partner_center: String, token_authority: String) -> Self {
        Self {
            http,
            upstreams: [
                ("partner_center", partner_center),
                ("token_authority", token_authority),
            ],
            draining: AtomicBool::new(false),
            last: tokio::sync::Mutex::new(None),
            redis: None,
        }
    }

    /// The Redis quota backend's client, checked too.
    pub fn with_redis(mut self, redis: Option<Arc<SharedQuota>>) -> Self {
        self.redis = redis;
        self
    }

    /// From now on, not ready: the shutdown has begun.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub async fn report(&self) -> Report {
        if self.draining.load(Ordering::Relaxed) {
            return draining();
        }
        let mut last = self.last.lock().await;
        if let Some((at, report)) = last.as_ref()
            && at.elapsed() < CACHE_FOR
        {
            return report.clone();
        }
        let report = self.probe().await;
        *last = Some((Instant::now(), report.clone()));
        report
    }

    async fn probe(&self) -> Report {
        // Side by side, so a slow upstream does not delay the other's check.
        let [(pc, pc_url), (ta, ta_url)] = &self.upstreams;
        let redis = async {
            match &self.redis {
                Some(redis) => Some((redis.ping().await, redis.options().fail_open)),
                None => None,
            }
        };
        let (pc_outcome, ta_outcome, redis) =
            tokio::join!(self.reach(pc_url), self.reach(ta_url), redis);
        let outcomes = [(*pc, pc_url, pc_outcome), (*ta, ta_url, ta_outcome)];
        let mut checks = serde_json::Map::new();
        checks.insert("configuration".into(), "ok".into());
        checks.insert("listener".into(), "ok".into());
        let mut ready = true;
        for (name, url, outcome) in outcomes {
            let text = match outcome {
                Ok(()) => "ok".to_owned(),
                Err((said, cause)) => {
                    ready = false;
                    tracing::warn!(check = name, %url, %cause, "not ready: upstream unreachable");
                    format!("unreachable: {said}")
                }
            };
            checks.insert(name.into(), text.into());
        }
        let redis = match redis {
            None => "not configured".to_owned(),
            Some((Ok(()), _)) => "ok".to_owned(),
            Some((Err(said), true)) => {
                format!("{said}: each replica enforces its share of the quota")
            }
            Some((Err(said), false)) => {
                ready = false;
                format!("{said}: calls are refused")
            }
        };
        checks.insert("redis".into(), redis.into());
        Report {
            status: if ready { "ready" } else { "not_ready" },
            checks,
        }
    }

    /// Any HTTP answer is reachable. The error is what the body may say, and the whole cause for the log.
    async fn reach(&self, url: &str) -> Result<(), (&'static str, String)> {
        let sent = self.http.get(url).timeout(PROBE_TIMEOUT).send().await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) => {
                let said = if e.is_timeout() {
                    "no answer in time"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "connection broken"
                };
                Err((said, cause_chain(&e)))
            }
        }
    }
}

fn draining() -> Report {
    let mut checks = serde_json::Map::new();
    checks.insert("shutdown".into(), "draining".into());
    Report {
        status: "not_ready",
        checks,
    }
}

fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
