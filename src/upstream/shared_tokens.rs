//! Connections' tokens shared by every replica through Redis (with `quota.backend = "redis"`), so that N
//! replicas make one token request where one replica would, and an App+User connection's rolling refresh
//! token is rolled by one replica at a time and never overwritten by an older one.
//!
//! Per connection, three keys under one Cluster hash tag, `{pcgw:token:<connection ID>}` (the ID is no
//! secret; the tokens are only ever values):
//! - `…:access`, the access token and when it was issued, expiring when it is due for renewal;
//! - `…:refresh`, the refresh token and its generation, which goes up by one at each roll;
//! - `…:lock`, held (`SET NX PX`, with a random value of its holder) by the replica exchanging; the others
//!   wait for the access token it stores, and use it.
//!
//! A roll is stored only if the generation is still the one the exchange started from (a compare-and-set in
//! one script), so a replica whose lock ran out while it waited on the authority can never put back an older
//! token over the one another replica has rolled since.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redis::Script;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::ConnectionId;
use crate::redis_link::RedisLink;

/// The access token and its issue time (Unix ms), with the milliseconds left until it is due for renewal.
const GET_ACCESS: &str = r"
local v = redis.call('HMGET', KEYS[1], 'token', 'issued')
if not v[1] then return nil end
return {v[1], v[2], redis.call('PTTL', KEYS[1])}
";

/// Stores an exchange's outcome. KEYS: access, refresh. ARGV: access token, issued (Unix ms), its TTL (ms),
/// the generation the exchange started from, and the rolled refresh token (empty when none). Returns 1 if the
/// roll was stored (or there was none), 0 if a newer generation is there, which stays.
const STORE: &str = r"
if ARGV[5] ~= '' then
  local gen = tonumber(redis.call('HGET', KEYS[2], 'gen') or '0')
  if gen ~= tonumber(ARGV[4]) then return 0 end
  redis.call('HSET', KEYS[2], 'token', ARGV[5], 'gen', gen + 1)
end
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'issued', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

/// A new sign-in (or a token moved from its file): the next generation, whatever is there, and no access
/// token from the old one. Returns the generation stored.
const PUSH: &str = r"
local gen = tonumber(redis.call('HGET', KEYS[2], 'gen') or '0') + 1
redis.call('HSET', KEYS[2], 'token', ARGV[1], 'gen', gen)
redis.call('DEL', KEYS[1])
return gen
";

/// As [`PUSH`], but only if Redis holds no refresh token for the connection. Returns the generation stored, or
/// minus the one held.
const PUSH_IF_ABSENT: &str = r"
local held = redis.call('HGET', KEYS[2], 'token')
if held then return -tonumber(redis.call('HGET', KEYS[2], 'gen') or '0') end
local gen = tonumber(redis.call('HGET', KEYS[2], 'gen') or '0') + 1
redis.call('HSET', KEYS[2], 'token', ARGV[1], 'gen', gen)
redis.call('DEL', KEYS[1])
return gen
";

/// A roll made while Redis was unavailable. KEYS: refresh. ARGV: the token it started from, the rolled one.
/// Stored as the next generation if Redis still holds the token it started from, or none (it came back
/// empty); returns that generation, or 0 when Redis holds another, newer one, which stays.
const STORE_OFF_REDIS: &str = r"
local held = redis.call('HGET', KEYS[1], 'token')
if held and held ~= ARGV[1] then return 0 end
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0') + 1
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'gen', gen)
return gen
";

/// Deletes a key only if it still holds `ARGV[1]` (a lock's holder, or an access token Partner Center refused).
const DELETE_IF: &str = r"
local kind = redis.call('TYPE', KEYS[1]).ok
local held
if kind == 'hash' then
  held = redis.call('HGET', KEYS[1], 'token')
elseif kind == 'string' then
  held = redis.call('GET', KEYS[1])
end
if held == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

pub struct SharedTokens {
    link: RedisLink,
    /// Each round trip's deadline.
    timeout: Duration,
    scripts: Scripts,
}

struct Scripts {
    get_access: Script,
    store: Script,
    push: Script,
    push_if_absent: Script,
    store_off_redis: Script,
    delete_if: Script,
}

/// An access token another replica (or this one) stored.
pub struct SharedAccess {
    pub secret: SecretString,
    /// How long ago it was issued.
    pub age: Duration,
    /// How long until it is due for renewal.
    pub renew_in: Duration,
}

/// A refresh token and the generation it is.
pub struct SharedRefresh {
    pub token: SecretString,
    pub generation: u64,
}

/// The lock of one connection's exchange, held by this replica; its value is this holder's alone.
pub struct Held(String);

pub type SharedResult<T> = Result<T, String>;

fn keys(id: &ConnectionId) -> (String, String, String) {
    let base = format!("{{pcgw:token:{id}}}");
    (
        format!("{base}:access"),
        format!("{base}:refresh"),
        format!("{base}:lock"),
    )
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl SharedTokens {
    /// `timeout` is each round trip's deadline (at least a quarter second: token fetches are rare, and a slow
    /// answer here costs less than a second token request).
    pub fn new(link: RedisLink, timeout: Duration) -> Self {
        Self {
            link,
            timeout: timeout.max(Duration::from_millis(250)),
            scripts: Scripts {
                get_access: Script::new(GET_ACCESS),
                store: Script::new(STORE),
                push: Script::new(PUSH),
                push_if_absent: Script::new(PUSH_IF_ABSENT),
                store_off_redis: Script::new(STORE_OFF_REDIS),
                delete_if: Script::new(DELETE_IF),
            },
        }
    }

    pub fn shown(&self) -> &str {
        self.link.shown()
    }

    async fn run<T: ::redis::FromRedisValue>(
        &self,
        invocation: ::redis::ScriptInvocation<'_>,
    ) -> SharedResult<T> {
        let answer = self
            .link
            .within(self.timeout, |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await;
        self.answered(answer)
    }

    async fn command<T: ::redis::FromRedisValue>(&self, cmd: ::redis::Cmd) -> SharedResult<T> {
        let answer = self
            .link
            .within(self.timeout, |mut c| async move {
                cmd.query_async(&mut c).await
            })
            .await;
        self.answered(answer)
    }

    fn answered<T>(&self, answer: Option<::redis::RedisResult<T>>) -> SharedResult<T> {
        match answer {
            None => Err(format!("no answer within {:?}", self.timeout)),
            Some(Err(e)) => Err(crate::redis_link::describe(&e)),
            Some(Ok(value)) => Ok(value),
        }
    }

    /// The connection's access token, if one is stored and not yet due for renewal.
    pub async fn access(&self, id: &ConnectionId) -> SharedResult<Option<SharedAccess>> {
        let (access, _, _) = keys(id);
        let mut invocation = self.scripts.get_access.prepare_invoke();
        invocation.key(access);
        let stored: Option<(String, u64, i64)> = self.run(invocation).await?;
        Ok(stored.and_then(|(secret, issued, pttl)| {
            // -1 (no expiry) is not ours; -2 (gone) lost a race with its expiry: either way, none.
            (pttl > 0).then(|| SharedAccess {
                secret: secret.into(),
                age: Duration::from_millis(unix_ms().saturating_sub(issued)),
                renew_in: Duration::from_millis(pttl as u64),
            })
        }))
    }

    /// The connection's refresh token, if one is stored.
    pub async fn refresh(&self, id: &ConnectionId) -> SharedResult<Option<SharedRefresh>> {
        let (_, refresh, _) = keys(id);
        let mut cmd = ::redis::cmd("HMGET");
        cmd.arg(refresh).arg("token").arg("gen");
        let (token, generation): (Option<String>, Option<u64>) = self.command(cmd).await?;
        Ok(token.map(|token| SharedRefresh {
            token: token.into(),
            generation: generation.unwrap_or(0),
        }))
    }

    /// Takes the connection's exchange lock for `ttl`, or says another replica holds it.
    pub async fn lock(&self, id: &ConnectionId, ttl: Duration) -> SharedResult<Option<Held>> {
        let (_, _, lock) = keys(id);
        let holder = uuid::Uuid::new_v4().to_string();
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(lock)
            .arg(&holder)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64);
        let set: Option<String> = self.command(cmd).await?;
        Ok(set.map(|_| Held(holder)))
    }

    /// Lets the lock go, if it is still this replica's.
    pub async fn unlock(&self, id: &ConnectionId, held: Held) {
        let (_, _, lock) = keys(id);
        let mut invocation = self.scripts.delete_if.prepare_invoke();
        invocation.key(lock).arg(held.0);
        // Should this fail, the lock runs out by itself.
        let _: SharedResult<i64> = self.run(invocation).await;
    }

    /// Stores an exchange's access token and, when it rolled, the new refresh token if `from` is still the
    /// current generation. Returns whether a roll was stored (true when there was none).
    pub async fn store(
        &self,
        id: &ConnectionId,
        access: &SecretString,
        renew_in: Duration,
        from: u64,
        rolled: Option<&SecretString>,
    ) -> SharedResult<bool> {
        let (access_key, refresh_key, _) = keys(id);
        let mut invocation = self.scripts.store.prepare_invoke();
        invocation
            .key(access_key)
            .key(refresh_key)
            .arg(access.expose_secret())
            .arg(unix_ms())
            .arg(renew_in.as_millis().max(1) as u64)
            .arg(from)
            .arg(rolled.map(|t| t.expose_secret()).unwrap_or(""));
        let stored: i64 = self.run(invocation).await?;
        Ok(stored == 1)
    }

    /// A refresh token from a new sign-in, or moved from its file: the next generation, and the old access token
    /// dropped. Returns the generation.
    pub async fn push(&self, id: &ConnectionId, token: &SecretString) -> SharedResult<u64> {
        let (access, refresh, _) = keys(id);
        let mut invocation = self.scripts.push.prepare_invoke();
        invocation
            .key(access)
            .key(refresh)
            .arg(token.expose_secret());
        self.run(invocation).await
    }

    /// As [`Self::push`], in one step with the look, so nothing a replica stores in between is overwritten:
    /// `Err` with the generation Redis holds when it holds one.
    pub async fn push_if_absent(
        &self,
        id: &ConnectionId,
        token: &SecretString,
    ) -> SharedResult<Result<u64, u64>> {
        let (access, refresh, _) = keys(id);
        let mut invocation = self.scripts.push_if_absent.prepare_invoke();
        invocation
            .key(access)
            .key(refresh)
            .arg(token.expose_secret());
        let generation: i64 = self.run(invocation).await?;
        Ok(match generation {
            g if g > 0 => Ok(g as u64),
            g => Err(g.unsigned_abs()),
        })
    }

    /// A roll this replica made while Redis was unavailable, from `from` to `to`: stored if Redis still holds
    /// `from` (or nothing). Returns the generation stored, or none when Redis holds a newer token.
    pub async fn store_off_redis(
        &self,
        id: &ConnectionId,
        from: &SecretString,
        to: &SecretString,
    ) -> SharedResult<Option<u64>> {
        let (_, refresh, _) = keys(id);
        let mut invocation = self.scripts.store_off_redis.prepare_invoke();
        invocation
            .key(refresh)
            .arg(from.expose_secret())
            .arg(to.expose_secret());
        let generation: u64 = self.run(invocation).await?;
        Ok((generation > 0).then_some(generation))
    }

    /// Partner Center refused `token`: no replica should be handed it again.
    pub async fn drop_access(&self, id: &ConnectionId, token: &SecretString) {
        let (access, _, _) = keys(id);
        let mut invocation = self.scripts.delete_if.prepare_invoke();
        invocation.key(access).arg(token.expose_secret());
        let _: SharedResult<i64> = self.run(invocation).await;
    }
}
