//! Access tokens for Partner Center, one connection at a time.
//!
//! Tokens are cached per connection with moka until five minutes before they expire. moka's `try_get_with`
//! runs one initialiser per key and hands its result to every concurrent caller, which is what makes many
//! concurrent cold calls on one connection cost exactly one token request. Keys are a connection's ID and
//! instance (see [`Connection::instance`]) and values are never shared between keys, so one connection's token
//! is never used for another's call, nor for the same connection after a reload changed its credentials.
//!
//! App+User connections hold a rolling refresh token: every exchange returns a new one and voids the old. The
//! new one is written to disk (temp file, fsync, rename, fsync of the directory, mode 0600) before the access
//! token it came with is used, so a crash or restart at any point leaves a usable token on disk.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use governor::clock::Clock as _;
use governor::nanos::Nanos;
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::breaker::Breaker;
use super::shared_tokens::{SharedAccess, SharedTokens};
use crate::clock::Clock;
use crate::connection::{AccessToken, Connection, Credentials, write_atomically};
use crate::domain::ConnectionId;
use crate::error::AppError;
use crate::telemetry::{self, Metrics};

/// Tokens are renewed this long before they expire, so a token never expires in flight.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// A token Partner Center refuses is dropped only if it is at least this old: a token refused as soon as it was
/// issued means the refusal is about the connection (a lost role), not the token, and fetching another on every
/// call would only roll refresh tokens and get the connection throttled by Entra.
const REFUSED_TOKEN_MIN_AGE: Duration = Duration::from_secs(60);
/// A connection's exchange lock in Redis lives for the token request's whole budget (connect and answer, as the
/// HTTP client bounds them) plus this, for the Redis round trips and the file write around it. The lock must
/// outlive the request: were it to run out while the holder still waits, another replica would exchange the
/// same refresh token. The request is never cut short instead: its answer may carry the rolled token, which
/// the authority has already made the only valid one.
const EXCHANGE_LOCK_MARGIN: Duration = Duration::from_secs(10);
/// How often a replica waiting for another's exchange looks for its outcome.
const EXCHANGE_WAIT_STEP: Duration = Duration::from_millis(20);

struct RenewBeforeExpiry;

impl Expiry<TokenKey, Arc<AccessToken>> for RenewBeforeExpiry {
    fn expire_after_create(
        &self,
        _: &TokenKey,
        token: &Arc<AccessToken>,
        now: Instant,
    ) -> Option<Duration> {
        Some(token.renew_at.saturating_duration_since(now))
    }
}

/// Why a token could not be had. Cloneable because moka shares one failure among all the callers it coalesced.
#[derive(Debug, Clone, thiserror::Error)]
enum TokenError {
    #[error("token authority unreachable: {0}")]
    Unreachable(String),
    #[error("token authority timed out: {0}")]
    Timeout(String),
    #[error("token authority refused the credentials: {0}")]
    Refused(String),
    #[error("token authority answered something unusable: {0}")]
    Invalid(String),
    #[error("could not persist the rolled refresh token: {0}")]
    Persist(String),
    #[error("token authority circuit open")]
    CircuitOpen(u64),
    #[error("token authority: {0}")]
    Elsewhere(String),
}

impl From<TokenError> for AppError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Timeout(_) => AppError::GatewayTimeout(e.to_string()),
            TokenError::Refused(_) => AppError::CredentialsRefused(e.to_string()),
            TokenError::Persist(_) => AppError::Internal(e.to_string()),
            TokenError::CircuitOpen(retry_after_secs) => AppError::CircuitOpen {
                upstream: "token authority",
                retry_after_secs,
            },
            TokenError::Unreachable(_) | TokenError::Invalid(_) | TokenError::Elsewhere(_) => {
                AppError::BadGateway(e.to_string())
            }
        }
    }
}

/// A connection's ID and instance.
type TokenKey = (ConnectionId, u64);

fn key(connection: &Connection) -> TokenKey {
    (connection.id.clone(), connection.instance())
}

pub struct TokenSource {
    http: reqwest::Client,
    /// `{authority}` with no trailing slash.
    authority: String,
    scope: String,
    cache: Cache<TokenKey, Arc<AccessToken>>,
    breaker: Breaker,
    clock: Clock,
    /// Each refresh-token exchange holds a read lock from its request until its new token is on disk; shutdown
    /// takes the write lock, so the process never exits between the authority voiding a token and the disk
    /// holding its successor.
    exchanges: tokio::sync::RwLock<()>,
    /// When each connection last got a token from the authority, for the status page. Only registered
    /// connections fetch here, so it is bounded by the registry, as the cache is.
    refreshed: std::sync::Mutex<std::collections::HashMap<ConnectionId, time::OffsetDateTime>>,
    metrics: Metrics,
    /// The cache's hit and miss counters, handles made once (a hit is every call's).
    cache_hits: Option<metrics::Counter>,
    cache_misses: Option<metrics::Counter>,
    /// The tokens every replica shares, with the Redis backend.
    shared: Option<Arc<SharedTokens>>,
    /// How long this replica holds a connection's exchange lock, and about how long another waits for it.
    lock_ttl: Duration,
    /// Refresh tokens this replica rolled while Redis was unavailable, to be stored there once it answers: left
    /// in the file only, Redis's older generation (voided by the roll) would be the one every replica uses.
    off_redis: std::sync::Mutex<std::collections::HashMap<ConnectionId, OffRedisRoll>>,
    /// Whether `off_redis` holds anything (read on every call, so a lock is taken only when it does), and
    /// whether a task is storing them.
    off_redis_any: std::sync::atomic::AtomicBool,
    storing_off_redis: std::sync::atomic::AtomicBool,
}

/// A roll made without Redis: the token it started from (the first, after several) and the newest.
struct OffRedisRoll {
    from: SecretString,
    to: SecretString,
}

/// Why a shared fetch did not give a token: Redis could not be used (the replica then fetches on its own), or
/// the exchange itself failed.
enum SharedFailure {
    Redis(String),
    Token(TokenError),
}

impl TokenSource {
    pub fn new(
        http: reqwest::Client,
        authority: String,
        scope: String,
        breaker: Breaker,
        clock: Clock,
        metrics: Metrics,
    ) -> Self {
        // No capacity: only registered connections have tokens here (a maker's own is never cached), each
        // entry expires within its token's lifetime, and a reload drops the connections it removes or replaces
        // (`forget_connection`), so the cache is bounded by the registry, which a reload may grow.
        let cache = Cache::builder().expire_after(RenewBeforeExpiry).build();
        Self {
            http,
            authority,
            scope,
            cache,
            breaker,
            clock,
            exchanges: tokio::sync::RwLock::new(()),
            refreshed: std::sync::Mutex::default(),
            cache_hits: metrics.register(|| metrics::counter!(telemetry::TOKEN_CACHE_HITS)),
            cache_misses: metrics.register(|| metrics::counter!(telemetry::TOKEN_CACHE_MISSES)),
            metrics,
            shared: None,
            lock_ttl: EXCHANGE_LOCK_MARGIN,
            off_redis: std::sync::Mutex::default(),
            off_redis_any: std::sync::atomic::AtomicBool::new(false),
            storing_off_redis: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Shares the connections' tokens with the other replicas through Redis. `request_budget` is the longest a
    /// token request can take (the HTTP client's connect and request timeouts).
    pub fn with_shared(
        mut self,
        shared: Option<Arc<SharedTokens>>,
        request_budget: Duration,
    ) -> Self {
        self.shared = shared;
        self.lock_ttl = request_budget + EXCHANGE_LOCK_MARGIN;
        self
    }

    /// The shared store, with the Redis backend.
    pub fn shared(&self) -> Option<&Arc<SharedTokens>> {
        self.shared.as_ref()
    }

    /// Partner Center answered `status` to a call made with `token`. A 401 means it no longer takes the token
    /// (revoked, or the app's consent withdrawn): the connection's next call fetches a new one instead of
    /// failing until renewal time.
    pub async fn answered(
        &self,
        connection: &Connection,
        token: &Arc<AccessToken>,
        status: StatusCode,
    ) {
        if status == StatusCode::UNAUTHORIZED {
            self.forget(connection, token).await;
        }
    }

    /// Partner Center answered 401 to `refused`: drops it from the cache, so that the connection's next call
    /// fetches a new one, unless another call already replaced it or it is too young to be the problem.
    async fn forget(&self, connection: &Connection, refused: &Arc<AccessToken>) {
        let age =
            Duration::from_nanos(self.clock.now().saturating_sub(refused.fetched_at).as_u64());
        if let Some(shared) = &self.shared
            && age >= REFUSED_TOKEN_MIN_AGE
        {
            shared.drop_access(&connection.id, &refused.secret).await;
        }
        self.cache
            .entry_by_ref(&key(connection))
            .and_compute_with(|cached| {
                std::future::ready(match cached {
                    Some(cached)
                        if Arc::ptr_eq(cached.value(), refused) && age >= REFUSED_TOKEN_MIN_AGE =>
                    {
                        Op::Remove
                    }
                    _ => Op::Nop,
                })
            })
            .await;
        if age >= REFUSED_TOKEN_MIN_AGE {
            connection.drop_token(Some(refused));
        }
    }

    /// Drops a connection's cached token: a reload removed the connection, or replaced it with one whose
    /// credentials differ.
    pub async fn forget_connection(&self, connection: &Connection) {
        self.cache.invalidate(&key(connection)).await;
        connection.drop_token(None);
    }

    /// Waits, at most `limit`, for the refresh-token exchanges under way to be written to disk, and lets no
    /// new one start. For shutdown.
    pub async fn settle(&self, limit: Duration) {
        match tokio::time::timeout(limit, self.exchanges.write()).await {
            // Held until the process exits: nothing may start an exchange it could not finish.
            Ok(guard) => std::mem::forget(guard),
            Err(_) => tracing::warn!(
                "a refresh-token exchange was still under way at exit; its connection may need a new sign-in"
            ),
        }
    }

    pub async fn token(
        self: &Arc<Self>,
        connection: &Arc<Connection>,
    ) -> Result<Arc<AccessToken>, AppError> {
        if self
            .off_redis_any
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            self.store_off_redis_rolls_soon();
        }
        let drops = connection.token_drops();
        let hit = match connection.current_token() {
            Some(token) => Some(token),
            None => self
                .cache
                .get(&key(connection))
                .await
                .inspect(|token| connection.keep_token(token, drops)),
        };
        if let Some(token) = hit {
            if let Some(hits) = &self.cache_hits {
                hits.increment(1);
            }
            return Ok(token);
        }
        if let Some(misses) = &self.cache_misses {
            misses.increment(1);
        }
        let (source, owned) = (Arc::clone(self), Arc::clone(connection));
        // The fetch runs in a task of its own, which finishes even if the call that started it is dropped (its
        // caller hung up, or a shutdown cut it off): an App+User exchange voids the old refresh token at the
        // authority, so the new one must be read and written to disk whatever happens to that call.
        let fetch = async move {
            tokio::spawn(async move {
                let fetched = source.fetch(&owned).await;
                if fetched.is_ok() {
                    let now = source.clock.now_utc();
                    source
                        .refreshed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(owned.id.clone(), now);
                }
                fetched
            })
            .await
            .unwrap_or_else(|e| Err(TokenError::Invalid(format!("token fetch failed: {e}"))))
        };
        let token = self
            .cache
            .try_get_with(key(connection), fetch)
            .await
            .map_err(|e| AppError::from((*e).clone()))?;
        connection.keep_token(&token, drops);
        Ok(token)
    }

    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// When `connection` last got a token from the authority, if it has since the gateway started.
    pub fn last_refresh(&self, connection: &ConnectionId) -> Option<time::OffsetDateTime> {
        self.refreshed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(connection)
            .copied()
    }

    async fn fetch(&self, connection: &Connection) -> Result<Arc<AccessToken>, TokenError> {
        if let Some(shared) = &self.shared {
            match self.fetch_shared(shared, connection).await {
                Ok(token) => return Ok(token),
                Err(SharedFailure::Token(e)) => return Err(e),
                Err(SharedFailure::Redis(cause)) => tracing::warn!(
                    connection = %connection.id, redis = %shared.shown(), %cause,
                    "Redis unavailable for tokens: this replica asks the token authority on its own"
                ),
            }
            // Exchanging without Redis keeps calls answered (refusing would fail every call of the connection
            // once its access token runs out, for as long as Redis is away); the roll is remembered and stored
            // in Redis as soon as it answers, over the token it started from only.
            return self.fetch_here(connection, true).await;
        }
        self.fetch_here(connection, false).await
    }

    /// Remembers a roll made without Redis, keeping the token the first such roll started from.
    fn rolled_off_redis(&self, id: &ConnectionId, from: &SecretString, to: &SecretString) {
        let mut rolls = self.off_redis.lock().unwrap_or_else(|p| p.into_inner());
        let to = SecretString::from(to.expose_secret());
        match rolls.get_mut(id) {
            Some(roll) => roll.to = to,
            None => {
                let from = SecretString::from(from.expose_secret());
                rolls.insert(id.clone(), OffRedisRoll { from, to });
            }
        }
        self.off_redis_any
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Stores the rolls made without Redis, in a task of its own (one at a time), so that no call waits on a
    /// Redis that may still be away.
    fn store_off_redis_rolls_soon(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        if self.storing_off_redis.swap(true, Ordering::AcqRel) {
            return;
        }
        let source = Arc::clone(self);
        tokio::spawn(async move {
            if let Some(shared) = &source.shared {
                let _ = source.store_off_redis_rolls(shared).await;
            }
            source.storing_off_redis.store(false, Ordering::Release);
        });
    }

    /// Stores each roll made without Redis, if Redis still holds the token it started from (or none); a newer
    /// one there (a new sign-in, another replica's roll) stays. Stops at the first Redis error.
    async fn store_off_redis_rolls(&self, shared: &SharedTokens) -> Result<(), String> {
        let ids: Vec<ConnectionId> = self
            .off_redis
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        for id in ids {
            let Some(roll) = self
                .off_redis
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id)
            else {
                continue;
            };
            match shared.store_off_redis(&id, &roll.from, &roll.to).await {
                Ok(Some(generation)) => tracing::info!(
                    connection = %id, generation,
                    "the refresh token rolled while Redis was unavailable is now stored in Redis"
                ),
                Ok(None) => tracing::warn!(
                    connection = %id,
                    "the refresh token rolled while Redis was unavailable is not stored: Redis holds a newer one, which stays"
                ),
                Err(cause) => {
                    let mut rolls = self.off_redis.lock().unwrap_or_else(|p| p.into_inner());
                    // A roll made since takes precedence over this one's newest, not over its start.
                    let newer = rolls.remove(&id).map(|r| r.to);
                    rolls.insert(
                        id,
                        OffRedisRoll {
                            from: roll.from,
                            to: newer.unwrap_or(roll.to),
                        },
                    );
                    return Err(cause);
                }
            }
        }
        let rolls = self.off_redis.lock().unwrap_or_else(|p| p.into_inner());
        self.off_redis_any
            .store(!rolls.is_empty(), std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// The connection's token as the replicas share it: Redis's, or the one this replica gets while it holds
    /// the exchange lock, or the one another replica stores while it does.
    async fn fetch_shared(
        &self,
        shared: &SharedTokens,
        connection: &Connection,
    ) -> Result<Arc<AccessToken>, SharedFailure> {
        let id = &connection.id;
        // Before any exchange: one that started from Redis's token while a newer one waits here would fail.
        if self
            .off_redis_any
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            self.store_off_redis_rolls(shared)
                .await
                .map_err(SharedFailure::Redis)?;
        }
        let deadline = Instant::now() + self.lock_ttl + Duration::from_secs(1);
        loop {
            if let Some(access) = shared.access(id).await.map_err(SharedFailure::Redis)? {
                return Ok(self.taken_from_redis(access));
            }
            if let Some(held) = shared
                .lock(id, self.lock_ttl)
                .await
                .map_err(SharedFailure::Redis)?
            {
                let outcome = self.exchange_shared(shared, connection).await;
                shared.unlock(id, held).await;
                return outcome;
            }
            // The holder's lock has outlived its request's budget: it died, or hangs on Redis. Exchanging here
            // could spend the token it holds; this call fails and the next one, the lock gone, exchanges.
            if Instant::now() > deadline {
                return Err(SharedFailure::Token(TokenError::Elsewhere(format!(
                    "another replica's token exchange did not finish within {:?}",
                    self.lock_ttl
                ))));
            }
            // Polling, not a subscription: a waiter is rare (cold connections only) and waits one exchange.
            tokio::time::sleep(EXCHANGE_WAIT_STEP).await;
        }
    }

    /// Holding the lock: the exchange, and its outcome stored for the other replicas.
    async fn exchange_shared(
        &self,
        shared: &SharedTokens,
        connection: &Connection,
    ) -> Result<Arc<AccessToken>, SharedFailure> {
        let id = &connection.id;
        // Another replica may have stored one between this replica's look and its lock.
        if let Some(access) = shared.access(id).await.map_err(SharedFailure::Redis)? {
            return Ok(self.taken_from_redis(access));
        }
        let Credentials::AppUser { refresh_token, .. } = &connection.credentials else {
            let token = self
                .fetch_here(connection, false)
                .await
                .map_err(SharedFailure::Token)?;
            let renew_in = token.renew_at.saturating_duration_since(Instant::now());
            if let Err(cause) = shared.store(id, &token.secret, renew_in, 0, None).await {
                tracing::warn!(connection = %id, %cause, "could not share the access token through Redis");
            }
            return Ok(token);
        };
        let stored = shared.refresh(id).await.map_err(SharedFailure::Redis)?;
        let mut current = refresh_token.current.lock().await;
        let _exchange = self.exchanges.read().await;
        // Redis's token is the newest any replica has; the file's is only the start, before Redis has one.
        let (from, using) = match stored {
            Some(stored) => (stored.generation, stored.token),
            None => (0, current.clone()),
        };
        let reply = self
            .roll_failed(self.exchange(connection, &using).await)
            .map_err(SharedFailure::Token)?;
        let token = reply.access_token(self.clock.now());
        let renew_in = token.renew_at.saturating_duration_since(Instant::now());
        let rolled = reply.refresh_token;
        let outcome = shared
            .store(id, &token.secret, renew_in, from, rolled.as_ref())
            .await;
        if let Some(rolled) = rolled {
            *current = rolled;
            let on_file = self.persist(&refresh_token.path, &current).await;
            match (&outcome, on_file) {
                // In Redis, the file is a copy: a failed write of it costs nothing now.
                (Ok(_), Err(e)) => {
                    tracing::warn!(connection = %id, error = %e, "the rolled refresh token is in Redis but could not be written to its file")
                }
                // In neither: as without Redis, the call fails rather than use a token nothing keeps.
                (Err(_), Err(e)) => {
                    self.metrics.record(|| {
                        metrics::counter!(telemetry::REFRESH_TOKEN_FAILURES).increment(1)
                    });
                    return Err(SharedFailure::Token(e));
                }
                (_, Ok(())) => refresh_token.written(current.expose_secret()),
            }
            self.metrics
                .record(|| metrics::counter!(telemetry::REFRESH_TOKEN_ROLLS).increment(1));
            match &outcome {
                Ok(true) => {
                    tracing::info!(connection = %id, generation = from + 1, "refresh token rolled and stored in Redis")
                }
                Ok(false) => {
                    tracing::warn!(connection = %id, "refresh token rolled, but Redis already holds a newer one, which stays")
                }
                Err(cause) => {
                    self.rolled_off_redis(id, &using, &current);
                    tracing::warn!(connection = %id, %cause, "refresh token rolled and written to its file, but not yet to Redis")
                }
            }
        }
        Ok(Arc::new(token))
    }

    fn taken_from_redis(&self, access: SharedAccess) -> Arc<AccessToken> {
        let age = Nanos::from(u64::try_from(access.age.as_nanos()).unwrap_or(u64::MAX));
        Arc::new(AccessToken::new(
            access.secret,
            Instant::now() + access.renew_in,
            self.clock.now().saturating_sub(age),
        ))
    }

    /// One App+User exchange of `refresh` at the authority.
    async fn exchange(
        &self,
        connection: &Connection,
        refresh: &SecretString,
    ) -> Result<TokenReply, TokenError> {
        let Credentials::AppUser {
            client_id,
            client_secret,
            ..
        } = &connection.credentials
        else {
            unreachable!("only App+User connections hold a refresh token");
        };
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.authority,
            connection.credentials.tenant_id()
        );
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", client_id.as_str()),
            ("refresh_token", refresh.expose_secret()),
            ("scope", self.scope.as_str()),
        ];
        if let Some(secret) = client_secret {
            form.push(("client_secret", secret.expose_secret()));
        }
        self.request(&url, &form, "refresh_token").await
    }

    /// Writes a rolled refresh token to its file, atomically.
    async fn persist(
        &self,
        path: &std::path::Path,
        token: &SecretString,
    ) -> Result<(), TokenError> {
        let (path, value) = (path.to_owned(), SecretString::from(token.expose_secret()));
        let shown = path.display().to_string();
        tokio::task::spawn_blocking(move || write_atomically(&path, value.expose_secret()))
            .await
            .map_err(|e| TokenError::Persist(e.to_string()))
            .and_then(|written| written.map_err(|e| TokenError::Persist(format!("{shown}: {e}"))))
    }

    /// The token from the authority, by this replica alone.
    /// `off_redis`: Redis is meant to hold the token, but could not be reached; a roll is remembered for it.
    async fn fetch_here(
        &self,
        connection: &Connection,
        off_redis: bool,
    ) -> Result<Arc<AccessToken>, TokenError> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.authority,
            connection.credentials.tenant_id()
        );
        let scope = self.scope.as_str();
        match &connection.credentials {
            Credentials::AppOnly {
                client_id,
                client_secret,
                ..
            } => {
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", client_secret.expose_secret()),
                    ("scope", scope),
                ];
                let reply = self.request(&url, &form, "client_credentials").await?;
                Ok(Arc::new(reply.access_token(self.clock.now())))
            }
            Credentials::AppUser { refresh_token, .. } => {
                // Held across the exchange: a second exchange with the same (now voided) token would fail.
                let mut current = refresh_token.current.lock().await;
                let _exchange = self.exchanges.read().await;
                let reply = self.roll_failed(self.exchange(connection, &current).await)?;
                let token = reply.access_token(self.clock.now());
                if let Some(rolled) = reply.refresh_token {
                    if off_redis {
                        self.rolled_off_redis(&connection.id, &current, &rolled);
                    }
                    // Memory first: even if the disk write fails, this process keeps a token that works.
                    *current = rolled;
                    let written = self.persist(&refresh_token.path, &current).await;
                    self.roll_failed(written)?;
                    refresh_token.written(current.expose_secret());
                    self.metrics
                        .record(|| metrics::counter!(telemetry::REFRESH_TOKEN_ROLLS).increment(1));
                    tracing::info!(connection = %connection.id, "refresh token rolled and persisted");
                }
                Ok(Arc::new(token))
            }
        }
    }

    /// Counts a refresh-token exchange that failed, at whichever step.
    fn roll_failed<T>(&self, step: Result<T, TokenError>) -> Result<T, TokenError> {
        if step.is_err() {
            self.metrics
                .record(|| metrics::counter!(telemetry::REFRESH_TOKEN_FAILURES).increment(1));
        }
        step
    }

    async fn request(
        &self,
        url: &str,
        form: &[(&str, &str)],
        grant: &'static str,
    ) -> Result<TokenReply, TokenError> {
        let started = Instant::now();
        let result = self.request_once(url, form).await;
        let seconds = started.elapsed().as_secs_f64();
        let outcome = if result.is_ok() { "ok" } else { "error" };
        self.metrics.record(|| {
            metrics::counter!(telemetry::TOKEN_REQUESTS, "grant" => grant, "outcome" => outcome)
                .increment(1);
            metrics::histogram!(telemetry::TOKEN_REQUEST_DURATION, "grant" => grant)
                .record(seconds);
        });
        result
    }

    async fn request_once(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<TokenReply, TokenError> {
        let admitted = self
            .breaker
            .admit()
            .map_err(|refused| TokenError::CircuitOpen(refused.retry_after_secs))?;
        let answer = async {
            let response = self
                .http
                .post(url)
                .form(form)
                .send()
                .await
                .map_err(classify)?;
            let status = response.status();
            let body = super::capped_body(response, TOKEN_ANSWER_CAP)
                .await
                .map_err(|e| match e {
                    super::BodyError::TooLarge => TokenError::Invalid(format!(
                        "{status} with an answer over {TOKEN_ANSWER_CAP} bytes"
                    )),
                    super::BodyError::Read(e) => classify(e),
                })?;
            Ok((status, body))
        }
        .await;
        // Refusing the credentials (4xx) is the authority working; only silence and 5xx count against it.
        admitted.record(matches!(&answer, Ok((status, _)) if !status.is_server_error()));
        let (status, body) = answer?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| TokenError::Invalid(format!("{status}: {e}")));
        }
        // Entra's error and its description name the problem (expired grant, wrong secret) but never the secret.
        match serde_json::from_slice::<TokenFailure>(&body) {
            Ok(f) if status.is_client_error() => Err(TokenError::Refused(format!(
                "{status} {}: {}",
                f.error, f.error_description
            ))),
            _ => Err(TokenError::Invalid(format!("{status}"))),
        }
    }
}

/// A token answer is a few KiB (an access token, perhaps a refresh token and an ID token); past this, it is not
/// one, and it is not read further.
const TOKEN_ANSWER_CAP: usize = 1024 * 1024;

fn classify(e: reqwest::Error) -> TokenError {
    if e.is_timeout() {
        TokenError::Timeout(e.to_string())
    } else {
        TokenError::Unreachable(e.to_string())
    }
}

/// A successful answer of the token endpoint, whatever the grant.
#[derive(Deserialize)]
pub(super) struct TokenReply {
    pub(super) access_token: SecretString,
    #[serde(deserialize_with = "seconds")]
    expires_in: u64,
    pub(super) refresh_token: Option<SecretString>,
}

impl TokenReply {
    fn access_token(&self, fetched_at: Nanos) -> AccessToken {
        let lifetime = Duration::from_secs(self.expires_in);
        AccessToken::new(
            SecretString::from(self.access_token.expose_secret()),
            Instant::now() + lifetime.saturating_sub(RENEW_BEFORE_EXPIRY),
            fetched_at,
        )
    }
}

/// An OAuth error answer (RFC 6749 §5.2), as Entra writes it.
#[derive(Deserialize)]
pub(super) struct TokenFailure {
    pub(super) error: String,
    #[serde(default)]
    pub(super) error_description: String,
}

/// Entra's v2 endpoint sends `expires_in` as a number, the v1 endpoint as a string.
pub(super) fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrString {
        N(u64),
        S(String),
    }
    match NumberOrString::deserialize(d)? {
        NumberOrString::N(n) => Ok(n),
        NumberOrString::S(s) => s.parse().map_err(serde::de::Error::custom),
    }
}
