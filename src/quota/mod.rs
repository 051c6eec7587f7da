//! Per-connection quotas, enforced by governor's GCRA and described truthfully to the caller.
//!
//! Two shapes of the same `calls` per `period` contract:
//! - **default**: burst = `calls`, refill one call every `period / calls`. A quiet connection may spend its
//!   whole quota at once, then one call per refill step. Over a rolling period it can admit up to about twice
//!   `calls` (a full burst, then a period of refills), which is what Azure API Management's and nginx's
//!   limiters also allow.
//! - **strict window** (`quota.strict_window = true`): burst = ⌈calls/2⌉, refill one call every
//!   `period / (calls − burst)` (rounded up to the nanosecond), so that no closed window of one period ever
//!   holds more than `calls` admitted calls. For 100 per 60 s: 50 at once, then one every 1.2 s.
//!
//! Where the count lives is `quota.backend`: here, in this process (`memory`, the default), or in Redis for
//! every replica at once (`redis`, [`redis`]), with the same shape and the same answers. With Redis, the
//! buckets here hold each replica's share of the quota (quota ÷ `redis.replicas`), counted only while Redis is
//! unavailable and `redis.fail_open` is on.
//!
//! governor decides. This module gives it a state store of our own ([`QuotaStore`]) for three reasons:
//! memory (a key is kept as a 128-bit digest of the connection ID next to its 8-byte state, so a tracked
//! connection costs tens of bytes however long its ID), a cap on the number of tracked connections, and
//! truthful headers (governor's `StateSnapshot` hides the theoretical arrival time that "seconds until the next
//! call is admitted" needs; the store sees it).

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use governor::RateLimiter;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;

mod limit;
pub mod redis;

use crate::clock::Clock;
use crate::domain::ConnectionId;
pub use crate::redis_link::Topology;
use limit::Shape;
pub use limit::{LimitError, QuotaLimit, QuotaOptions};
pub use redis::{SharedError, SharedOptions, SharedQuota};

/// What the caller is told about its quota on every answered call.
#[derive(Debug, Clone)]
pub struct QuotaState {
    /// The quota the call was counted against.
    pub limit: QuotaLimit,
    /// Calls that would be admitted right now, after this one.
    pub remaining: u32,
    /// Whole seconds (rounded up) until the next call would be admitted; 0 when one would be now.
    pub reset_secs: u64,
}

/// A call over quota: when to come back, and the state to report.
#[derive(Debug, Clone)]
pub struct Refused {
    pub retry_after_secs: u64,
    pub state: QuotaState,
}

type Limiter = RateLimiter<ConnectionId, QuotaStore, Clock, NoOpMiddleware<Nanos>>;

struct Bucket {
    key: BucketKey,
    shape: Shape,
    limit: QuotaLimit,
    limiter: Limiter,
    forced_evictions: Arc<AtomicU64>,
}

impl Bucket {
    fn new(key: BucketKey, clock: &Clock) -> Self {
        let BucketKey { limit, max_keys } = key;
        let shape = limit.shape();
        let forced_evictions = Arc::new(AtomicU64::new(0));
        let store = QuotaStore::new(shape, max_keys, forced_evictions.clone());
        Bucket {
            key,
            shape,
            limit,
            limiter: RateLimiter::new(limit.gcra(), store, clock.clone()),
            forced_evictions,
        }
    }

    fn admit(&self, connection: &ConnectionId) -> Result<QuotaState, Refused> {
        let outcome = self.limiter.check_key(connection);
        let measure = LAST_MEASURE
            .take()
            .expect("the quota store records every measurement");
        let (t, tau) = (self.shape.t(), self.shape.tau());
        match (outcome, measure.tat_after) {
            (Ok(()), Some(tat)) => {
                let remaining =
                    ((measure.t0 + tau + t).saturating_sub(tat).min(tau + t) / t) as u32;
                let wait = (tat.saturating_sub(tau)).saturating_sub(measure.t0);
                Ok(QuotaState {
                    limit: self.limit,
                    remaining,
                    reset_secs: ceil_secs(wait),
                })
            }
            (Err(_), _) => {
                // governor refused because now < tat - tau; that difference is exactly the wait.
                let tat = measure.tat_before.unwrap_or(measure.t0);
                let wait = tat.saturating_sub(tau).saturating_sub(measure.t0);
                let retry_after_secs = ceil_secs(wait).max(1);
                let state = QuotaState {
                    limit: self.limit,
                    remaining: 0,
                    reset_secs: retry_after_secs,
                };
                Err(Refused {
                    retry_after_secs,
                    state,
                })
            }
            (Ok(()), None) => unreachable!("an admitted call stores its new state"),
        }
    }
}

/// Whole seconds, rounded up: rounding down would send a caller back too early.
fn ceil_secs(nanos: u64) -> u64 {
    nanos.div_ceil(1_000_000_000)
}

/// The shared count refused to decide and `redis.fail_open` is off: the call is refused with 503.
#[derive(Debug, Clone)]
pub struct Unavailable {
    pub retry_after_secs: u64,
}

/// Every connection's quota: the configured one, or its override.
pub struct Quotas {
    /// The memory backend's buckets; with Redis, the local shares.
    default: Arc<Bucket>,
    overrides: HashMap<ConnectionId, Arc<Bucket>>,
    shared: Option<Shared>,
}

/// The Redis backend: the client (one for the process, carried over by reloads) and the whole quotas, which
/// Redis counts.
struct Shared {
    redis: Arc<SharedQuota>,
    default: QuotaLimit,
    overrides: HashMap<ConnectionId, QuotaLimit>,
}

/// What makes two buckets interchangeable: the same quota (its numbers and so its shape) and cap.
#[derive(Clone, Copy, PartialEq, Eq)]
struct BucketKey {
    limit: QuotaLimit,
    max_keys: NonZeroUsize,
}

impl Quotas {
    /// The connections in `overrides` each get their own limit (a bucket of their own); every other
    /// connection gets `options.limit`.
    pub fn new(
        options: &QuotaOptions,
        overrides: impl IntoIterator<Item = (ConnectionId, QuotaLimit)>,
        clock: &Clock,
    ) -> Self {
        Self::build(None, options, overrides, clock, None)
    }

    /// As [`Quotas::new`], counted in Redis through `redis` (see [`redis`]): the buckets here hold the local
    /// shares, for outages.
    pub fn shared(
        options: &QuotaOptions,
        overrides: impl IntoIterator<Item = (ConnectionId, QuotaLimit)>,
        clock: &Clock,
        redis: Arc<SharedQuota>,
    ) -> Self {
        Self::build(None, options, overrides, clock, Some(redis))
    }

    /// The quotas of a reloaded configuration, for calls from now on. A bucket whose quota, shape and cap are
    /// unchanged is this one's, shared, so its connections keep what they have spent; a changed quota starts a
    /// new bucket, so it applies from the next call (with a full bucket: the old state was counted against
    /// other numbers). Calls admitted before keep the bucket they were counted in.
    pub fn reconfigured(
        &self,
        options: &QuotaOptions,
        overrides: impl IntoIterator<Item = (ConnectionId, QuotaLimit)>,
        clock: &Clock,
    ) -> Self {
        let redis = self.shared.as_ref().map(|s| Arc::clone(&s.redis));
        let rebuilt = Self::build(Some(self), options, overrides, clock, redis);
        // The refusals this replica remembers were Redis's under the old quotas: a raised quota would otherwise
        // go on refusing here what Redis now admits, until the remembered time ran out.
        if let (Some(old), Some(new)) = (&self.shared, &rebuilt.shared)
            && (old.default != new.default || old.overrides != new.overrides)
        {
            new.redis.forget_refusals();
        }
        rebuilt
    }

    fn build(
        running: Option<&Quotas>,
        options: &QuotaOptions,
        overrides: impl IntoIterator<Item = (ConnectionId, QuotaLimit)>,
        clock: &Clock,
        redis: Option<Arc<SharedQuota>>,
    ) -> Self {
        let overrides: Vec<_> = overrides.into_iter().collect();
        let replicas = redis.as_ref().map(|r| r.options().replicas);
        let local = |limit: QuotaLimit| match replicas {
            Some(replicas) => limit.share(replicas),
            None => limit,
        };
        let bucket = |current: Option<&Arc<Bucket>>, limit, max_keys| {
            let key = BucketKey { limit, max_keys };
            match current {
                Some(bucket) if bucket.key == key => Arc::clone(bucket),
                _ => Arc::new(Bucket::new(key, clock)),
            }
        };
        let one = NonZeroUsize::MIN;
        Self {
            default: bucket(
                running.map(|q| &q.default),
                local(options.limit),
                options.max_tracked_connections,
            ),
            overrides: overrides
                .iter()
                .map(|(id, limit)| {
                    let current = running.and_then(|q| q.overrides.get(id));
                    let bucket = bucket(current, local(*limit), one);
                    (id.clone(), bucket)
                })
                .collect(),
            shared: redis.map(|redis| Shared {
                redis,
                default: options.limit,
                overrides: overrides.into_iter().collect(),
            }),
        }
    }

    /// The quota `connection` is counted against: its override, or the configured one.
    pub fn limit_of(&self, connection: &ConnectionId) -> QuotaLimit {
        match &self.shared {
            Some(shared) => *shared.overrides.get(connection).unwrap_or(&shared.default),
            None => {
                self.overrides
                    .get(connection)
                    .unwrap_or(&self.default)
                    .limit
            }
        }
    }

    /// The configured quota, which every connection without an override gets.
    pub fn default_limit(&self) -> QuotaLimit {
        match &self.shared {
            Some(shared) => shared.default,
            None => self.default.limit,
        }
    }

    /// The Redis backend's client, when the count is shared.
    pub fn redis(&self) -> Option<&Arc<SharedQuota>> {
        self.shared.as_ref().map(|s| &s.redis)
    }

    /// Admits one call and reports the quota after it, or refuses it and says when to come back: counted in
    /// Redis with the Redis backend, else here. Redis unavailable: counted here against this replica's share
    /// with `redis.fail_open`, else [`Unavailable`]. Never an error for any other reason.
    pub async fn check(
        &self,
        connection: &ConnectionId,
    ) -> Result<Result<QuotaState, Refused>, Unavailable> {
        let Some(shared) = &self.shared else {
            return Ok(self.admit(connection));
        };
        let limit = *shared.overrides.get(connection).unwrap_or(&shared.default);
        // Boxed: the Redis round trip's future is kilobytes, and unboxed it would be part of every call's
        // future, moved with it, on the memory backend too, which never awaits it.
        match Box::pin(shared.redis.admit(connection, limit)).await {
            Ok(decision) => Ok(decision),
            Err(_) if shared.redis.options().fail_open => Ok(self.admit(connection)),
            Err(_) => Err(Unavailable {
                retry_after_secs: 1,
            }),
        }
    }

    /// Admits one call against this process's own count: the memory backend's whole quota, or with Redis this
    /// replica's share. Reports the quota after it, or refuses it and says when to come back.
    pub fn admit(&self, connection: &ConnectionId) -> Result<QuotaState, Refused> {
        self.overrides
            .get(connection)
            .unwrap_or(&self.default)
            .admit(connection)
    }

    /// Forgets connections whose bucket is full again: they are indistinguishable from new ones, so nothing is
    /// lost. Run on a timer; memory then follows the number of recently active connections.
    pub fn evict_idle(&self) {
        for bucket in std::iter::once(&self.default).chain(self.overrides.values()) {
            bucket.limiter.retain_recent();
            bucket.limiter.shrink_to_fit();
        }
        if let Some(shared) = &self.shared {
            shared.redis.evict_idle();
        }
    }

    /// Connections currently tracked (for logs and benchmarks).
    pub fn tracked(&self) -> usize {
        self.default.limiter.len()
    }

    /// Tracked connections dropped at the cap while their bucket was not yet full (see [`QuotaStore`]).
    pub fn forced_evictions(&self) -> u64 {
        self.default.forced_evictions.load(Ordering::Relaxed)
    }
}

/// What the store saw of the last measurement on this thread, in governor's time frame (nanoseconds since the
/// limiter started). governor's check is synchronous, so the measurement and its reading happen on one thread
/// with nothing in between.
#[derive(Clone, Copy)]
struct Measure {
    t0: u64,
    tat_before: Option<u64>,
    tat_after: Option<u64>,
}

thread_local! {
    static LAST_MEASURE: Cell<Option<Measure>> = const { Cell::new(None) };
}

/// A 128-bit digest of a connection ID: two independent, randomly keyed SipHashes. Collisions would merge two
/// connections' quotas; at a million keys their probability is about 10⁻²⁷.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Digest(u64, u64);

impl std::hash::Hash for Digest {
    /// The map's hash is one half of the digest (the other half picked the shard), used as it is.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.1);
    }
}

/// The key is already a uniform hash; hashing it again would only cost time.
#[derive(Default)]
struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 words are hashed")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Shard = HashMap<Digest, u64, BuildHasherDefault<PassThroughHasher>>;

/// governor's keyed state, sharded under mutexes, keyed by digest, capped.
///
/// At the cap, a new connection first makes room by dropping the shard's connections whose bucket is full
/// again (nothing is lost). Only if every tracked connection in the shard is still paying off calls is one
/// dropped anyway: the one whose bucket is closest to full, so the debt forgiven is the smallest possible. The
/// new connection is always limited exactly; such drops are counted in `forced_evictions`.
pub struct QuotaStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    keys: [RandomState; 2],
    /// The refill step in nanoseconds, to read `now` back out of governor's decision function.
    t: u64,
    forced_evictions: Arc<AtomicU64>,
}

impl QuotaStore {
    fn new(shape: Shape, max_keys: NonZeroUsize, forced_evictions: Arc<AtomicU64>) -> Self {
        // The cap is enforced per shard, so shards only come in once each can hold many connections: with a
        // small cap, a shard of one slot would make two connections that hash alike evict each other on every
        // call, and neither would ever be limited. Under 2,048 connections one shard keeps the cap exact.
        let shards = (max_keys.get() / 1024).clamp(1, 64);
        Self {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: (max_keys.get() / shards).max(1),
            keys: [RandomState::new(), RandomState::new()],
            t: shape.t(),
            forced_evictions,
        }
    }

    fn digest(&self, key: &ConnectionId) -> Digest {
        Digest(
            self.keys[0].hash_one(key.as_str()),
            self.keys[1].hash_one(key.as_str()),
        )
    }

    fn shard(&self, digest: &Digest) -> std::sync::MutexGuard<'_, Shard> {
        let index = (digest.0 % self.shards.len() as u64) as usize;
        // A panic while holding a shard cannot leave a half-written u64; the data stays usable.
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn make_room(&self, shard: &mut Shard, t0: u64) {
        shard.retain(|_, tat| *tat > t0);
        if shard.len() >= self.per_shard
            && let Some(closest) = shard.iter().min_by_key(|(_, tat)| **tat).map(|(k, _)| *k)
        {
            shard.remove(&closest);
            self.forced_evictions.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl StateStore for QuotaStore {
    type Key = ConnectionId;

    fn measure_and_replace<T, F, E>(&self, key: &ConnectionId, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let digest = self.digest(key);
        let mut shard = self.shard(&digest);
        let tat_before = shard.get(&digest).copied();
        // governor keeps `now` to itself; asking its decision function about a bucket that was full long ago
        // (tat = 0) always admits and answers now + t, which gives now back.
        let t0 = match f(Some(Nanos::from(0))) {
            Ok((_, next)) => next.as_u64() - self.t,
            Err(_) => unreachable!("a bucket full since the epoch admits any call"),
        };
        let outcome = f(tat_before.map(Nanos::from));
        let tat_after = match &outcome {
            Ok((_, tat)) => {
                if tat_before.is_none() && shard.len() >= self.per_shard {
                    self.make_room(&mut shard, t0);
                }
                shard.insert(digest, tat.as_u64());
                Some(tat.as_u64())
            }
            Err(_) => None,
        };
        LAST_MEASURE.set(Some(Measure {
            t0,
            tat_before,
            tat_after,
        }));
        outcome.map(|(value, _)| value)
    }
}

impl ShrinkableKeyedStateStore<ConnectionId> for QuotaStore {
    fn retain_recent(&self, drop_below: Nanos) {
        let drop_below = drop_below.as_u64();
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|_, tat| *tat > drop_below);
        }
    }

    fn shrink_to_fit(&self) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            // Only when mostly empty: shrinking a busy shard would just make it grow again.
            if shard.capacity() > 4 * shard.len() + 64 {
                shard.shrink_to_fit();
            }
        }
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::{NonZeroU32, NonZeroU64};
    use std::time::Duration;

    fn settings(calls: u32, secs: u64, strict_window: bool, max_tracked: usize) -> QuotaOptions {
        QuotaOptions {
            limit: QuotaLimit::new(
                NonZeroU32::new(calls).unwrap(),
                NonZeroU64::new(secs).unwrap(),
                strict_window,
            )
            .unwrap(),
            max_tracked_connections: NonZeroUsize::new(max_tracked).unwrap(),
            evict_interval_secs: NonZeroU64::new(60).unwrap(),
        }
    }

    fn id(s: &str) -> ConnectionId {
        ConnectionId::parse(s).unwrap()
    }

    #[test]
    fn remaining_counts_down_to_zero_and_reset_says_when() {
        let clock = Clock::manual();
        let quotas = Quotas::new(&settings(3, 60, false, 10), [], &clock);
        let a = id("a");
        let seen: Vec<_> = (0..3)
            .map(|_| quotas.admit(&a).unwrap())
            .map(|s| (s.remaining, s.reset_secs))
            .collect();
        assert_eq!(seen, [(2, 0), (1, 0), (0, 20)]);
        let refused = quotas.admit(&a).unwrap_err();
        assert_eq!(refused.retry_after_secs, 20);
        assert_eq!((refused.state.remaining, refused.state.reset_secs), (0, 20));
        clock.advance(Duration::from_secs(20));
        assert_eq!(quotas.admit(&a).unwrap().remaining, 0);
    }

    #[test]
    fn at_the_cap_a_new_connection_is_still_limited_exactly() {
        let clock = Clock::manual();
        let quotas = Quotas::new(&settings(2, 60, false, 1), [], &clock);
        quotas.admit(&id("old")).unwrap();
        for _ in 0..2 {
            quotas.admit(&id("new")).unwrap();
        }
        assert!(
            quotas.admit(&id("new")).is_err(),
            "the newcomer gets its own quota, no more"
        );
        assert_eq!(quotas.tracked(), 1);
    }

    #[test]
    fn under_a_small_cap_every_tracked_connection_keeps_its_debt() {
        let clock = Clock::manual();
        // One call an hour each, 20 connections, cap 64: all fit, so none may be forgotten and called again.
        let quotas = Quotas::new(&settings(1, 3600, false, 64), [], &clock);
        let ids: Vec<_> = (0..20).map(|i| id(&format!("conn-{i}"))).collect();
        for id in &ids {
            quotas.admit(id).unwrap();
        }
        for round in 0..3 {
            for id in &ids {
                assert!(
                    quotas.admit(id).is_err(),
                    "round {round}: {id} admitted twice"
                );
            }
        }
        assert_eq!(quotas.forced_evictions(), 0);
        assert_eq!(quotas.tracked(), 20);
    }

    /// The reference: GCRA by virtual scheduling, in integer nanoseconds, written from the definition.
    struct Model {
        t: u64,
        tau: u64,
        tat: HashMap<usize, u64>,
    }

    impl Model {
        fn admit(&mut self, key: usize, now: u64) -> bool {
            let tat = *self.tat.get(&key).unwrap_or(&now);
            if now + self.tau < tat {
                return false;
            }
            self.tat.insert(key, tat.max(now) + self.t);
            true
        }
    }

    /// xorshift64*: deterministic schedules without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Thousands of randomized schedules, both modes: the admitted set is exactly the model's, and in strict
    /// mode no closed window of one period holds more than `calls`.
    #[test]
    fn admitted_sets_match_the_reference_model_exactly() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut strict_windows_seen = 0;
        for schedule in 0..3000 {
            let strict = schedule % 2 == 1;
            let calls = 1 + rng.below(12) as u32;
            let period = 1 + rng.below(90);
            let keys = 1 + rng.below(3) as usize;
            let s = settings(calls, period, strict, 1000);
            let clock = Clock::manual();
            let quotas = Quotas::new(&s, [], &clock);
            let period_ns = period * 1_000_000_000;
            // The shape from the README's words, not from `Shape`: by default a burst of `calls` refilled at
            // calls/period; strict, half the calls at once and the rest spread over the period, rounded so that
            // no window of one period can hold more than `calls` (one call: strictly more than a period apart).
            let calls64 = u64::from(calls);
            let (burst, step) = match (strict, calls) {
                (false, _) => (calls64, period_ns / calls64),
                (true, 1) => (1, period_ns + 1),
                (true, _) => {
                    let burst = calls64.div_ceil(2);
                    (burst, period_ns.div_ceil(calls64 - burst))
                }
            };
            let mut model = Model {
                t: step,
                tau: step * (burst - 1),
                tat: HashMap::new(),
            };
            let ids: Vec<_> = (0..keys).map(|k| id(&format!("k{k}"))).collect();
            let mut admitted: Vec<Vec<u64>> = vec![vec![]; keys];
            let mut now = 0u64;
            for _ in 0..(20 + rng.below(200)) {
                // Bursts (zero gaps), gaps around one step, and long pauses.
                let gap = match rng.below(4) {
                    0 => 0,
                    1 => rng.below(step * 2 + 1),
                    2 => rng.below(period_ns / 4 + 1),
                    _ => rng.below(3) * step,
                };
                now += gap;
                clock.advance(Duration::from_nanos(gap));
                let key = rng.below(keys as u64) as usize;
                let expected = model.admit(key, now);
                let actual = quotas.admit(&ids[key]);
                assert_eq!(
                    actual.is_ok(),
                    expected,
                    "schedule {schedule} key {key} at {now} ns"
                );
                if let Err(refused) = &actual {
                    // Coming back after Retry-After is always admitted, per the model too.
                    let wait = refused.retry_after_secs * 1_000_000_000;
                    assert!(now + wait + model.tau >= model.tat[&key]);
                }
                if expected {
                    admitted[key].push(now);
                }
            }
            if strict {
                for times in &admitted {
                    for (i, &start) in times.iter().enumerate() {
                        let in_window = times[i..]
                            .iter()
                            .take_while(|&&t| t <= start + period_ns)
                            .count();
                        assert!(
                            in_window <= calls as usize,
                            "schedule {schedule}: {in_window} > {calls}"
                        );
                        strict_windows_seen += 1;
                    }
                }
            }
        }
        assert!(strict_windows_seen > 10_000);
    }

    #[test]
    fn default_mode_can_exceed_one_window_and_strict_mode_cannot() {
        let count = |strict| {
            let clock = Clock::manual();
            let quotas = Quotas::new(&settings(100, 60, strict, 10), [], &clock);
            let a = id("a");
            let mut admitted = 0;
            // Calls every 100 ms over the closed minute [0 s, 60 s].
            for _ in 0..=600 {
                admitted += usize::from(quotas.admit(&a).is_ok());
                clock.advance(Duration::from_millis(100));
            }
            admitted
        };
        assert_eq!(
            count(false),
            200,
            "a full burst and then a minute of refills"
        );
        assert_eq!(count(true), 100);
    }

    #[test]
    fn idle_connections_are_forgotten_and_nothing_is_lost() {
        let clock = Clock::manual();
        let quotas = Quotas::new(&settings(2, 60, false, 1000), [], &clock);
        for i in 0..100 {
            quotas.admit(&id(&format!("c{i}"))).unwrap();
        }
        // One call refills in 30 s; a minute on, those hundred buckets are long full again.
        clock.advance(Duration::from_secs(61));
        quotas.admit(&id("busy")).unwrap();
        quotas.admit(&id("busy")).unwrap();
        assert_eq!(quotas.tracked(), 101);
        quotas.evict_idle();
        assert_eq!(
            quotas.tracked(),
            1,
            "only the connection still paying off calls is kept"
        );
        assert!(
            quotas.admit(&id("busy")).is_err(),
            "and it is still limited"
        );
    }

    #[test]
    fn a_reconfiguration_keeps_what_unchanged_quotas_have_spent_and_starts_changed_ones_afresh() {
        let clock = Clock::manual();
        let s = settings(2, 3600, false, 10);
        let limit = |calls| {
            QuotaLimit::new(
                NonZeroU32::new(calls).unwrap(),
                NonZeroU64::new(3600).unwrap(),
                false,
            )
            .unwrap()
        };
        let quotas = Quotas::new(
            &s,
            [(id("kept"), limit(1)), (id("raised"), limit(1))],
            &clock,
        );
        for spent in ["default", "kept", "raised"] {
            while quotas.admit(&id(spent)).is_ok() {}
        }
        let reloaded = quotas.reconfigured(
            &s,
            [(id("kept"), limit(1)), (id("raised"), limit(3))],
            &clock,
        );
        assert!(
            reloaded.admit(&id("default")).is_err(),
            "the default bucket kept its state"
        );
        assert!(
            reloaded.admit(&id("kept")).is_err(),
            "an unchanged override kept its state"
        );
        let raised = reloaded.admit(&id("raised")).unwrap();
        assert_eq!((raised.limit.calls().get(), raised.remaining), (3, 2));
        // The global quota changed: every connection on it starts with a full bucket of the new size.
        let global = quotas.reconfigured(&settings(5, 3600, false, 10), [], &clock);
        assert_eq!(global.admit(&id("default")).unwrap().remaining, 4);
    }
}
