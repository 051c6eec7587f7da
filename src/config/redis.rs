//! `[redis]`: where the shared quota count lives when `quota.backend = "redis"`, and what happens when it is
//! unavailable. Parsed at load into `quota`'s [`SharedOptions`]; the URL (which may hold a password) stays a
//! secret and is never quoted in an error.

use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::ConfigError;
use crate::quota::SharedOptions;
use crate::redis_link::Topology;

/// `quota.backend`: where each connection's count is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaBackend {
    /// In this process: exact for one replica; N replicas each count on their own.
    #[default]
    Memory,
    /// In Redis, once for every replica (`[redis]`).
    Redis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. Required with `quota.backend = "redis"`.
    pub url: Option<SecretString>,
    /// `url` names one node of a Redis Cluster; the others are found from it.
    pub cluster: bool,
    /// `url` names a Redis Sentinel, and this is the name of the master it watches (the URL's user, password,
    /// database and TLS apply to the master too).
    pub sentinel_master: Option<String>,
    /// The deadline of one round trip to Redis, per call.
    pub timeout_ms: NonZeroU64,
    /// Redis unavailable (down, slow past `timeout_ms`, or answering nonsense): each replica enforces its
    /// share of the quota alone (true), or every call is refused with 503 and Retry-After (false).
    pub fail_open: bool,
    /// How many replicas share the quota: each one's share during an outage is the quota divided by this.
    pub replicas: NonZeroU32,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            cluster: false,
            sentinel_master: None,
            timeout_ms: NonZeroU64::new(50).unwrap(),
            fail_open: true,
            replicas: NonZeroU32::MIN,
        }
    }
}

impl RedisSettings {
    /// The shared count's options with the Redis backend; none with the memory one.
    pub(super) fn parse(
        &self,
        backend: QuotaBackend,
    ) -> Result<Option<SharedOptions>, ConfigError> {
        if backend == QuotaBackend::Memory {
            return Ok(None);
        }
        let url = self.url.clone().ok_or_else(|| {
            ConfigError::key("redis.url", "required when quota.backend = \"redis\"")
        })?;
        SharedOptions::check_url(&url).map_err(|e| ConfigError::key("redis.url", e))?;
        let topology = match (&self.sentinel_master, self.cluster) {
            (Some(_), true) => {
                return Err(ConfigError::key(
                    "redis.sentinel_master",
                    "a Sentinel names one master, a Cluster has many: set one of redis.cluster and redis.sentinel_master",
                ));
            }
            (Some(master), false) if master.is_empty() => {
                return Err(ConfigError::key(
                    "redis.sentinel_master",
                    "must not be empty",
                ));
            }
            (Some(master), false) => Topology::Sentinel(master.clone()),
            (None, true) => Topology::Cluster,
            (None, false) => Topology::Single,
        };
        Ok(Some(SharedOptions {
            url,
            topology,
            timeout: Duration::from_millis(self.timeout_ms.get()),
            fail_open: self.fail_open,
            replicas: self.replicas,
        }))
    }
}

/// Every `[redis]` key (and `quota.backend`) needs a restart: the client is built once.
pub(super) fn changed_keys(
    old: &Option<SharedOptions>,
    new: &Option<SharedOptions>,
    out: &mut Vec<&'static str>,
) {
    match (old, new) {
        (None, None) => {}
        (Some(old), Some(new)) => {
            if old.url.expose_secret() != new.url.expose_secret() {
                out.push("redis.url");
            }
            if old.topology != new.topology {
                out.push("redis.cluster, redis.sentinel_master");
            }
            if old.timeout != new.timeout {
                out.push("redis.timeout_ms");
            }
            if old.fail_open != new.fail_open {
                out.push("redis.fail_open");
            }
            if old.replicas != new.replicas {
                out.push("redis.replicas");
            }
        }
        _ => out.push("quota.backend"),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    #[test]
    fn the_redis_backend_needs_a_usable_url_and_never_quotes_it() {
        let e = Settings::from_toml("[quota]\nbackend = \"redis\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`redis.url`"), "{e}");
        let e = Settings::from_toml(
            "[quota]\nbackend = \"redis\"\n[redis]\nurl = \"http://:hunter2-secret@cache:6379\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`redis.url`") && !e.contains("hunter2"), "{e}");
        let ok = Settings::from_toml(
            "[quota]\nbackend = \"redis\"\n[redis]\nurl = \"rediss://:hunter2-secret@cache:6380\"\nreplicas = 3\n",
        )
        .unwrap();
        let shared = ok.redis.as_ref().unwrap();
        assert_eq!((shared.replicas.get(), shared.fail_open), (3, true));
        assert!(!format!("{ok:?}").contains("hunter2"));
        let memory = Settings::from_toml("[redis]\nurl = \"redis://cache\"\n").unwrap();
        assert!(memory.redis.is_none(), "memory is the default backend");
    }
}
