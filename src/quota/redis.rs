//! The quota counted once for every replica, in Redis (`quota.backend = "redis"`).
//!
//! Each call runs one Lua script ([`GCRA`]) on the connection's own key, atomically: it reads Redis's `TIME`, so
//! the replicas' clocks never matter, applies the same GCRA as the memory backend (same burst, same refill step,
//! same answers), and sets the key to expire when the bucket is full again, so an idle connection costs Redis
//! nothing. The key is `{pcgw:quota:<connection ID>}`: the braces are a Cluster hash tag, and a connection ID
//! is no secret. go-redis/redis_rate's script is the model; ours also returns what the `RateLimit` headers need.
//!
//! Time in the script is in microseconds, `TIME`'s resolution: Lua's numbers are doubles, exact only up to 2⁵³,
//! and nanoseconds since 1970 are past that. The refill step is rounded up to a whole microsecond, so a strict
//! window can only get stricter, never admit one call too many.
//!
//! In front of Redis, this replica remembers the connections Redis refused and until when ([`Over`]): until
//! then it refuses them itself, without a round trip. That can never admit what Redis refuses (it only
//! refuses), and it refuses no call Redis would admit: the time is counted from before the request was sent.
//!
//! Every round trip has a deadline (`redis.timeout_ms`). A Redis that does not answer in time or cannot be
//! reached is an outage; the caller ([`super::Quotas::check`]) then counts locally or refuses, as
//! `redis.fail_open` says. An outage is logged once when it begins and once when it ends, never per call. An
//! answer that is not the script's three numbers, or an error about this call alone (a foreign script under our
//! name), is met the same way for that call, but is no outage: Redis answers, and one connection's odd key must
//! not make every other connection's call log Redis gone and back. The script itself repairs a key of the wrong
//! type.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ::redis::{Script, Value};
use secrecy::{ExposeSecret, SecretString};

use super::{QuotaLimit, QuotaState, Refused, ceil_secs};
use crate::clock::Clock;
use crate::domain::ConnectionId;
use crate::redis_link::{RedisLink, Topology, describe};
use crate::worker::PerWorker;

/// GCRA by virtual scheduling on the bucket's theoretical arrival time (`tat`), as the memory backend's
/// governor does. KEYS[1]: the connection's bucket. ARGV: the refill step `t` and the tolerance `tau`
/// (`t × (burst − 1)`), in microseconds, and the shape they make. A bucket written under another shape keeps
/// its debt, clamped to the new shape's emptiest bucket (`now + tau + t`, where a burst from full ends): replicas
/// may disagree on a connection's quota for a while (a reload on one, a rolling deploy), and starting full at
/// each change of shape would let calls alternating between them through without end. The clamp keeps a call
/// from waiting longer than the new quota ever makes one wait. Returns {admitted, remaining, wait}: `wait` (µs)
/// until the next call would be admitted. A key that is not such a bucket (another type, a time that is not a
/// number) is replaced by a new one: left as it is, it would fail this connection's every call, forever (it has
/// no expiry), and the connection's count only starts again from a full bucket.
const GCRA: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local t = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = now
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'hash' then
  local stored = redis.call('HMGET', KEYS[1], 'tat', 'shape')
  local read = tonumber(stored[1])
  if read then
    tat = read
    if stored[2] ~= ARGV[3] then tat = math.min(tat, now + tau + t) end
  elseif stored[1] then
    redis.call('DEL', KEYS[1])
  end
elseif kind ~= 'none' then
  redis.call('DEL', KEYS[1])
end
local earliest = tat - tau
if now < earliest then
  return {0, 0, earliest - now}
end
local new_tat = math.max(tat, now) + t
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', new_tat), 'shape', ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil((new_tat - now) / 1000))
local remaining = math.floor(math.min(now + tau + t - new_tat, tau + t) / t)
return {1, remaining, math.max(new_tat - tau - now, 0)}
";

/// Where the shared count lives and how its outages are met; parsed from `[redis]` at load.
#[derive(Debug, Clone)]
pub struct SharedOptions {
    /// `redis://` or `rediss://`; it may carry a password, so it is never shown as it is.
    pub url: SecretString,
    /// A single server, a Cluster (the URL names one node) or a Sentinel (the URL names it, with the master's
    /// name).
    pub topology: Topology,
    /// The deadline of one round trip.
    pub timeout: Duration,
    /// Redis unavailable: count locally, each replica its share (true), or refuse with 503 (false).
    pub fail_open: bool,
    /// How many replicas share the quota: the local share during an outage is the quota divided by this.
    pub replicas: NonZeroU32,
}

impl SharedOptions {
    /// Checks that `url` is one the client can use (`redis://` or `rediss://`, a host); the error never quotes
    /// it, since it may carry a password.
    pub fn check_url(url: &SecretString) -> Result<(), String> {
        let parsed = url::Url::parse(url.expose_secret())
            .map_err(|e| format!("not a URL ({e}); expected redis://host:port or rediss://…"))?;
        if !matches!(parsed.scheme(), "redis" | "rediss") {
            return Err(format!(
                "scheme {:?}: expected redis:// or rediss:// (TLS)",
                parsed.scheme()
            ));
        }
        ::redis::Client::open(url.expose_secret())
            .map(drop)
            .map_err(|e| format!("not usable: {}", describe(&e)))
    }
}

/// Why a round trip gave no decision.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SharedError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Redis(String),
    /// Redis answered this call with an error of its own (not of the link or the server as a whole).
    #[error("an error about this call: {0}")]
    Refused(String),
    #[error("an answer that is not the quota script's: {0}")]
    Garbage(String),
}

/// Connections refused by Redis, and until when on this replica's clock (nanoseconds).
type Over = Mutex<HashMap<ConnectionId, u64>>;

/// Past this many remembered refusals, the expired ones are dropped on the next insert.
const OVER_PRUNE_AT: usize = 10_000;

pub struct SharedQuota {
    /// A link of its own for each serving worker, so that a call's round trip (the multiplexed connection's task)
    /// runs on the call's own thread: see [`crate::worker`].
    link: PerWorker<RedisLink>,
    script: Script,
    options: SharedOptions,
    over: Over,
    clock: Clock,
    down: AtomicBool,
    odd_answer_seen: AtomicBool,
}

impl SharedQuota {
    /// Prepares the client; nothing is connected until the first call, so a Redis that is down does not stop
    /// the gateway from starting (its calls then meet the outage policy). `workers`: the serving workers
    /// (`crate::worker`), each given a connection of its own. Must run inside Tokio.
    pub fn new(options: SharedOptions, clock: Clock, workers: usize) -> Result<Self, String> {
        let link = PerWorker::try_new(workers, |_| {
            RedisLink::new(&options.url, &options.topology, options.timeout)
        })?;
        Ok(Self {
            link,
            script: Script::new(GCRA),
            options,
            over: Mutex::new(HashMap::new()),
            clock,
            down: AtomicBool::new(false),
            odd_answer_seen: AtomicBool::new(false),
        })
    }

    pub fn options(&self) -> &SharedOptions {
        &self.options
    }

    /// The URL, its password replaced.
    pub fn shown_url(&self) -> &str {
        self.link.get().shown()
    }

    /// Whether the last round trip failed (an outage under way).
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    fn now(&self) -> u64 {
        governor::clock::Clock::now(&self.clock).as_u64()
    }

    /// One call on `connection`, counted against `limit` in Redis.
    pub async fn admit(
        &self,
        connection: &ConnectionId,
        limit: QuotaLimit,
    ) -> Result<Result<QuotaState, Refused>, SharedError> {
        let sent = self.now();
        if let Some(wait) = self.refused_here(connection, sent) {
            return Ok(Err(refusal(limit, wait)));
        }
        let shape = limit.shape();
        let t = shape.t().div_ceil(1000);
        let tau = t * u64::from(shape.burst.get() - 1);
        let key = format!("{{pcgw:quota:{connection}}}");
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(key)
            .arg(t)
            .arg(tau)
            .arg(format!("{t}:{tau}"));
        let outcome = self
            .link
            .get()
            .within(self.options.timeout, |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await;
        let decision = match outcome {
            None => Err(SharedError::Timeout(self.options.timeout)),
            Some(Err(e)) if about_this_call(&e) => Err(SharedError::Refused(describe(&e))),
            Some(Err(e)) => Err(SharedError::Redis(describe(&e))),
            Some(Ok(value)) => read(&value),
        };
        self.note(&decision);
        let (admitted, remaining, wait_us) = decision?;
        let wait_ns = wait_us.saturating_mul(1000);
        if !admitted {
            self.remember_refusal(connection, sent.saturating_add(wait_ns));
            return Ok(Err(refusal(limit, wait_ns)));
        }
        Ok(Ok(QuotaState {
            limit,
            remaining,
            reset_secs: ceil_secs(wait_ns),
        }))
    }

    /// Nanoseconds this replica still refuses `connection` for, from Redis's last refusal.
    fn refused_here(&self, connection: &ConnectionId, now: u64) -> Option<u64> {
        let over = self.over.lock().unwrap_or_else(|p| p.into_inner());
        over.get(connection)
            .and_then(|until| until.checked_sub(now))
            .filter(|wait| *wait > 0)
    }

    fn remember_refusal(&self, connection: &ConnectionId, until: u64) {
        let now = self.now();
        let mut over = self.over.lock().unwrap_or_else(|p| p.into_inner());
        if over.len() >= OVER_PRUNE_AT {
            over.retain(|_, until| *until > now);
        }
        over.insert(connection.clone(), until);
    }

    /// Forgets every refusal remembered: the quotas they were made under changed.
    pub fn forget_refusals(&self) {
        self.over.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Forgets refusals that have run out (on the quota's eviction timer).
    pub fn evict_idle(&self) {
        let now = self.now();
        self.over
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, until| *until > now);
    }

    /// Logs an outage when it begins and when it ends, once each.
    fn note<T>(&self, decision: &Result<T, SharedError>) {
        match decision {
            Err(cause @ (SharedError::Garbage(_) | SharedError::Refused(_))) => {
                // Each one is this call's alone; the first is worth a line, the rest only at debug level.
                if !self.odd_answer_seen.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        redis = %self.link.get().shown(), %cause,
                        "Redis answered the quota script with something else: the call was decided as in an outage (further ones at debug level)"
                    );
                } else {
                    tracing::debug!(redis = %self.link.get().shown(), %cause, "Redis answered the quota script with something else");
                }
            }
            Err(cause) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    let replicas = self.options.replicas.get();
                    if self.options.fail_open {
                        tracing::warn!(
                            redis = %self.link.get().shown(), %cause, replicas,
                            "Redis unavailable: each replica now enforces its share of every quota (quota / redis.replicas) until it is back"
                        );
                    } else {
                        tracing::error!(
                            redis = %self.link.get().shown(), %cause,
                            "Redis unavailable: calls are refused with 503 until it is back (redis.fail_open = false)"
                        );
                    }
                }
            }
            Ok(_) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!(redis = %self.link.get().shown(), "Redis available again: the shared quota count resumes");
                }
            }
        }
    }

    /// Whether Redis answers a `PING` in time, for `/readyz`; the error is what the body may say.
    pub async fn ping(&self) -> Result<(), &'static str> {
        let deadline = self.options.timeout.max(Duration::from_millis(500));
        let ping = ::redis::cmd("PING");
        let answered = self
            .link
            .get()
            .within(deadline, |mut c| async move {
                ping.query_async::<String>(&mut c).await
            })
            .await;
        match answered {
            Some(Ok(pong)) if pong == "PONG" => Ok(()),
            Some(Ok(_)) => Err("unexpected answer"),
            Some(Err(e)) => {
                tracing::warn!(redis = %self.link.get().shown(), cause = %describe(&e), "not ready: Redis unreachable");
                Err("unreachable")
            }
            None => Err("no answer in time"),
        }
    }
}

/// Whether Redis refused this one command (a script's own error, a wrong type), rather than the connection, the
/// server or the cluster failing it.
fn about_this_call(e: &::redis::RedisError) -> bool {
    use ::redis::{ErrorKind, ServerErrorKind};
    matches!(
        e.kind(),
        ErrorKind::Extension | ErrorKind::Server(ServerErrorKind::ExecAbort)
    ) && !e.is_io_error()
        && !e.is_timeout()
}

/// The script's answer: exactly three integers, the first 0 or 1, none negative.
fn read(value: &Value) -> Result<(bool, u32, u64), SharedError> {
    let garbage = || SharedError::Garbage(format!("{value:?}").chars().take(80).collect());
    let Value::Array(items) = value else {
        return Err(garbage());
    };
    let numbers: Vec<i64> = items
        .iter()
        .map(|item| match item {
            Value::Int(n) if *n >= 0 => Ok(*n),
            _ => Err(garbage()),
        })
        .collect::<Result<_, _>>()?;
    match numbers[..] {
        [admitted @ (0 | 1), remaining, wait] => Ok((
            admitted == 1,
            u32::try_from(remaining).map_err(|_| garbage())?,
            wait as u64,
        )),
        _ => Err(garbage()),
    }
}

/// A refusal `wait_ns` from the next admission, answered as the memory backend answers one.
fn refusal(limit: QuotaLimit, wait_ns: u64) -> Refused {
    let retry_after_secs = ceil_secs(wait_ns).max(1);
    Refused {
        retry_after_secs,
        state: QuotaState {
            limit,
            remaining: 0,
            reset_secs: retry_after_secs,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_that_is_refused_is_never_quoted() {
        let err =
            SharedOptions::check_url(&SecretString::from("http://:s3cret-pass@x")).unwrap_err();
        assert!(!err.contains("s3cret-pass"), "{err}");
    }

    #[test]
    fn answers_other_than_the_scripts_are_garbage() {
        let ints = |v: &[i64]| Value::Array(v.iter().map(|n| Value::Int(*n)).collect());
        assert_eq!(read(&ints(&[1, 99, 0])).unwrap(), (true, 99, 0));
        assert_eq!(read(&ints(&[0, 0, 600_000])).unwrap(), (false, 0, 600_000));
        for bad in [
            ints(&[2, 0, 0]),
            ints(&[1, 2]),
            ints(&[1, -1, 0]),
            Value::Okay,
            Value::Nil,
            Value::Array(vec![Value::Int(1), Value::Nil, Value::Int(0)]),
        ] {
            assert!(
                matches!(read(&bad), Err(SharedError::Garbage(_))),
                "{bad:?}"
            );
        }
    }
}
