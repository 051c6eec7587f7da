//! Bearer pass-through: a maker's own Entra token for Partner Center, validated here and forwarded unchanged.
//!
//! Validation is what Partner Center itself would check, done before any upstream call: an RS256 signature by a
//! key of a trusted issuer's JWKS, `aud` the Partner Center resource, `exp`/`nbf` within the leeway, `tid`
//! present (and allowed, when tenants are restricted). The connection is the signed-in user or the application
//! the token names: `user:<tid>:<oid>` or `app:<tid>:<oid>` (an app-only token's `oid` is its service
//! principal's), so one maker keeps one quota across token refreshes. Both IDs must be the GUIDs Entra issues,
//! so no claim can carry the `:` that joins them, and the prefix keeps a user and an application apart even if
//! their IDs were the same: no two identities can share a quota.
//!
//! A validated token is cached by its SHA-256 until it expires, so a repeat call costs one hash and one lookup:
//! in a plain map of the tokens seen lately, in front of the bounded moka cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use governor::clock::Clock as _;
use governor::nanos::Nanos;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use moka::Expiry;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::domain::{BearerIdentity, ConnectionId};

/// How often an unknown `kid` may trigger a JWKS fetch: a stream of forged tokens must not become a stream of
/// requests to the issuer.
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(60);
const VALIDATED_TOKENS: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// The token is not acceptable; the caller must get another.
    #[error("{0}")]
    Invalid(String),
    /// The issuer's keys cannot be fetched, so no verdict can be given.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

fn invalid(message: impl Into<String>) -> BearerError {
    BearerError::Invalid(message.into())
}

pub struct TrustedIssuer {
    /// The `iss` value, with `{tenantid}` standing for the token's `tid` (Entra's multi-tenant form).
    pub issuer: String,
    pub jwks_uri: String,
}

#[derive(Clone)]
pub struct Validated {
    pub connection: ConnectionId,
    expires_at: Instant,
}

struct UntilExpiry;

impl Expiry<[u8; 32], Validated> for UntilExpiry {
    fn expire_after_create(&self, _: &[u8; 32], v: &Validated, now: Instant) -> Option<Duration> {
        Some(v.expires_at.saturating_duration_since(now))
    }
}

pub struct BearerValidator {
    issuers: Vec<(String, Arc<KeySet>)>,
    audiences: Vec<String>,
    allowed_tenants: Vec<String>,
    leeway_secs: u64,
    validated: moka::sync::Cache<[u8; 32], Validated>,
    /// The validations read or made lately, in front of `validated`, in shards by digest: a repeat call is one
    /// look-up in a plain map, where moka's also records the access for its eviction order and runs its upkeep
    /// on the calling thread, each touching memory of its own (with thousands of makers, cache misses on every
    /// call). `validated` stays the bounded cache of record: a shard that fills is emptied and refilled from it,
    /// so the front holds at most as many entries as it (about 8 MB). moka no longer sees the hits served here,
    /// so past its capacity it may evict a token still in use; that token is then verified once more when its
    /// shard is next emptied, never served past its expiry.
    recent: Box<[Mutex<Recent>]>,
}

/// What the validations are kept under: the token's SHA-256, so no token is kept in memory.
fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// One shard of [`BearerValidator::recent`], by the token's digest.
type Recent = FxHashMap<[u8; 32], Validated>;

/// Shards of [`BearerValidator::recent`]: enough that the serving workers seldom meet at one lock.
const RECENT_SHARDS: usize = 16;

impl BearerValidator {
    pub fn new(
        http: reqwest::Client,
        issuers: Vec<TrustedIssuer>,
        audiences: Vec<String>,
        allowed_tenants: Vec<String>,
        leeway_secs: u64,
        clock: Clock,
    ) -> Self {
        // Issuers sharing a JWKS (Entra's v1 and v2 do) share one key set and one fetch budget.
        let mut key_sets: HashMap<String, Arc<KeySet>> = HashMap::new();
        let issuers = issuers
            .into_iter()
            .map(|i| {
                let keys = key_sets.entry(i.jwks_uri.clone()).or_insert_with(|| {
                    Arc::new(KeySet::new(http.clone(), i.jwks_uri, clock.clone()))
                });
                (i.issuer, Arc::clone(keys))
            })
            .collect();
        Self {
            issuers,
            audiences,
            allowed_tenants: allowed_tenants
                .into_iter()
                .map(|t| t.to_ascii_lowercase())
                .collect(),
            leeway_secs,
            validated: moka::sync::Cache::builder()
                .max_capacity(VALIDATED_TOKENS)
                .expire_after(UntilExpiry)
                .build(),
            recent: (0..RECENT_SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    pub async fn validate(&self, token: &str) -> Result<Validated, BearerError> {
        let digest = digest(token);
        let now = Instant::now();
        if let Some(hit) = self.recent(&digest).get(&digest)
            && hit.expires_at > now
        {
            return Ok(hit.clone());
        }
        let validated = match self.validated.get(&digest) {
            Some(hit) => hit,
            None => {
                let validated = self.verify(token).await?;
                self.validated.insert(digest, validated.clone());
                validated
            }
        };
        let mut recent = self.recent(&digest);
        if recent.len() >= VALIDATED_TOKENS as usize / RECENT_SHARDS {
            recent.clear();
        }
        recent.insert(digest, validated.clone());
        Ok(validated)
    }

    fn recent(&self, digest: &[u8; 32]) -> MutexGuard<'_, Recent> {
        // A panic while holding a shard leaves whole entries, each true until it expires: still usable.
        self.recent[usize::from(digest[0]) % RECENT_SHARDS]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn verify(&self, token: &str) -> Result<Validated, BearerError> {
        // The algorithm is read before jsonwebtoken parses the header: it cannot even represent `none`, and a
        // caller who sent one deserves to hear what is wrong rather than "not a JWT".
        let header: Header = decode_part(token, 0)?;
        if header.alg != "RS256" {
            return Err(invalid("The bearer token must be signed with RS256."));
        }
        let kid = header
            .kid
            .ok_or_else(|| invalid("The bearer token names no signing key (kid)."))?;
        // Which issuer's keys to check against is read from the unverified payload; the signature check
        // below then covers every claim, `iss` included.
        let peek: Peek = decode_part(token, 1)?;
        let tid = peek
            .tid
            .ok_or_else(|| invalid("The bearer token has no tenant (tid)."))?;
        let tenant =
            guid(&tid).ok_or_else(|| invalid("The bearer token's tenant (tid) is not a GUID."))?;
        let iss = peek
            .iss
            .ok_or_else(|| invalid("The bearer token has no issuer (iss)."))?;
        let keys = self
            .issuers
            .iter()
            .find(|(template, _)| template.replace("{tenantid}", &tid) == iss)
            .map(|(_, keys)| keys)
            .ok_or_else(|| invalid("The bearer token's issuer is not trusted by this gateway."))?;
        let key = keys.key(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = self.leeway_secs;
        validation.validate_nbf = true;
        validation.set_audience(&self.audiences);
        validation.set_issuer(&[iss]);
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| invalid(explain(&e)))?
            .claims;

        if claims.tid != tid {
            return Err(invalid("The bearer token's tenant is not valid."));
        }
        if !self.allowed_tenants.is_empty()
            && !self.allowed_tenants.contains(&tid.to_ascii_lowercase())
        {
            return Err(invalid(
                "The bearer token's tenant is not allowed on this gateway.",
            ));
        }
        let object = claims.oid.as_deref().and_then(guid).ok_or_else(|| {
            invalid("The bearer token's object ID (oid) is missing or not a GUID.")
        })?;
        let connection = ConnectionId::bearer(claims.identity(), tenant, object);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let expires_at = Instant::now() + Duration::from_secs(claims.exp.saturating_sub(now));
        Ok(Validated {
            connection,
            expires_at,
        })
    }

    /// JWKS fetches so far, over all issuers.
    pub fn key_fetches(&self) -> u64 {
        self.issuers
            .iter()
            .map(|(_, k)| k.fetches.load(Ordering::Relaxed))
            .sum()
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct Peek {
    iss: Option<String>,
    tid: Option<String>,
}

/// Reads a compact JWT's header as the validator does, without verifying anything: the fuzzing entry point for
/// the code that sees a token before its signature is checked.
pub fn parse_header(token: &str) -> Result<(String, Option<String>), BearerError> {
    let header: Header = decode_part(token, 0)?;
    Ok((header.alg, header.kid))
}

/// Part `index` of a compact JWT (0 header, 1 claims), decoded but not verified.
fn decode_part<T: serde::de::DeserializeOwned>(
    token: &str,
    index: usize,
) -> Result<T, BearerError> {
    let not_jwt = || invalid("The bearer token is not a JWT.");
    let mut parts = token.split('.');
    if parts.clone().count() != 3 {
        return Err(not_jwt());
    }
    let part = parts.nth(index).ok_or_else(not_jwt)?;
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| not_jwt())?;
    serde_json::from_slice(&bytes).map_err(|_| not_jwt())
}

#[derive(Deserialize)]
struct Claims {
    tid: String,
    exp: u64,
    oid: Option<String>,
    /// `user` or `app`, in tokens whose application asked for the optional claim.
    idtyp: Option<String>,
    /// Delegated scopes: only a user's token has them.
    scp: Option<String>,
}

impl Claims {
    /// Whose token this is: what `idtyp` says, else a user's when it carries delegated scopes (`scp`), else an
    /// application's (app-only tokens carry `roles`, or nothing, instead).
    fn identity(&self) -> BearerIdentity {
        match self.idtyp.as_deref() {
            Some(t) if t.eq_ignore_ascii_case("app") => BearerIdentity::App,
            Some(t) if t.eq_ignore_ascii_case("user") => BearerIdentity::User,
            _ if self.scp.is_some() => BearerIdentity::User,
            _ => BearerIdentity::App,
        }
    }
}

/// A GUID in its hyphenated form, as Entra writes `tid` and `oid`.
fn guid(raw: &str) -> Option<uuid::Uuid> {
    (raw.len() == 36)
        .then(|| uuid::Uuid::try_parse(raw).ok())
        .flatten()
}

fn explain(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "The bearer token has expired.",
        ErrorKind::ImmatureSignature => "The bearer token is not valid yet (nbf).",
        ErrorKind::InvalidAudience => "The bearer token is not for Partner Center (aud).",
        ErrorKind::InvalidIssuer => "The bearer token's issuer is not trusted by this gateway.",
        ErrorKind::InvalidSignature => "The bearer token's signature is not valid.",
        ErrorKind::MissingRequiredClaim(_) => {
            "The bearer token lacks a required claim (exp, aud, iss, tid)."
        }
        _ => "The bearer token is not valid.",
    }
}

/// One issuer's signing keys, cached, refetched when a token names a key not seen yet.
struct KeySet {
    http: reqwest::Client,
    uri: String,
    keys: moka::sync::Cache<String, Arc<DecodingKey>>,
    /// When the last fetch happened and whether it worked; held across a fetch so concurrent cold calls make one.
    last_fetch: tokio::sync::Mutex<Option<(Nanos, bool)>>,
    /// The gateway's clock, so tests can show the once-a-minute refetch by moving it rather than waiting.
    clock: Clock,
    fetches: AtomicU64,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl KeySet {
    fn new(http: reqwest::Client, uri: String, clock: Clock) -> Self {
        Self {
            http,
            uri,
            // Issuers rotate keys over weeks; a day keeps a retired key from being trusted forever.
            keys: moka::sync::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(Duration::from_secs(24 * 3600))
                .build(),
            last_fetch: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
            clock,
        }
    }

    async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, BearerError> {
        if let Some(key) = self.keys.get(kid) {
            return Ok(key);
        }
        let mut last = self.last_fetch.lock().await;
        if let Some(key) = self.keys.get(kid) {
            return Ok(key);
        }
        let recent = |at: Nanos| {
            Duration::from_nanos(self.clock.now().saturating_sub(at).as_u64())
                < REFETCH_AT_MOST_EVERY
        };
        match *last {
            Some((at, true)) if recent(at) => {
                return Err(invalid(
                    "The bearer token is signed with a key its issuer does not publish.",
                ));
            }
            Some((at, false)) if recent(at) => {
                return Err(BearerError::KeysUnavailable(format!(
                    "{} failed less than a minute ago",
                    self.uri
                )));
            }
            _ => {}
        }
        let outcome = self.fetch().await;
        *last = Some((self.clock.now(), outcome.is_ok()));
        outcome?;
        self.keys.get(kid).ok_or_else(|| {
            invalid("The bearer token is signed with a key its issuer does not publish.")
        })
    }

    async fn fetch(&self) -> Result<(), BearerError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let unavailable = |e: String| BearerError::KeysUnavailable(format!("{}: {e}", self.uri));
        let response = self
            .http
            .get(&self.uri)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(response.status().to_string()));
        }
        let jwks: Jwks = response
            .json()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        for jwk in jwks.keys.into_iter().filter(|k| k.kty == "RSA") {
            if let (Some(kid), Some(n), Some(e)) = (jwk.kid, jwk.n, jwk.e)
                && let Ok(key) = DecodingKey::from_rsa_components(&n, &e)
            {
                self.keys.insert(kid, Arc::new(key));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(idtyp: Option<&str>, scp: Option<&str>) -> Claims {
        Claims {
            tid: String::new(),
            exp: 0,
            oid: None,
            idtyp: idtyp.map(str::to_owned),
            scp: scp.map(str::to_owned),
        }
    }

    /// A validator trusting no issuer: only what its caches hold is valid.
    fn validator() -> BearerValidator {
        BearerValidator::new(
            reqwest::Client::new(),
            vec![],
            vec![],
            vec![],
            60,
            Clock::manual(),
        )
    }

    #[tokio::test]
    async fn a_validation_kept_in_front_of_the_cache_is_served_until_it_expires_and_never_after() {
        let validator = validator();
        let remember = |token: &str, expires_at: Instant| {
            let digest = digest(token);
            let id = ConnectionId::parse("kept").unwrap();
            validator.recent(&digest).insert(
                digest,
                Validated {
                    connection: id,
                    expires_at,
                },
            );
        };
        let now = Instant::now();
        remember("fresh", now + Duration::from_secs(60));
        assert_eq!(
            validator
                .validate("fresh")
                .await
                .unwrap()
                .connection
                .as_str(),
            "kept"
        );
        // Expired: not served, so the token is checked again, and this one is no JWT.
        remember(
            "stale",
            now.checked_sub(Duration::from_secs(1)).unwrap_or(now),
        );
        assert!(matches!(
            validator.validate("stale").await,
            Err(BearerError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn the_front_of_the_cache_stays_within_its_bound() {
        let validator = validator();
        let digest = digest("in moka");
        let valid = Validated {
            connection: ConnectionId::parse("kept").unwrap(),
            expires_at: Instant::now() + Duration::from_secs(60),
        };
        validator.validated.insert(digest, valid.clone());
        let full = VALIDATED_TOKENS as usize / RECENT_SHARDS;
        for i in 0..full {
            let mut other = digest;
            other[1..9].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            validator.recent(&digest).insert(other, valid.clone());
        }
        // The shard is full: the moka hit is kept in front, in a shard emptied to make room.
        validator.validate("in moka").await.unwrap();
        assert_eq!(validator.recent(&digest).len(), 1);
    }

    #[test]
    fn users_and_applications_are_told_apart() {
        use BearerIdentity::{App, User};
        assert_eq!(
            claims(Some("user"), Some("user_impersonation")).identity(),
            User
        );
        assert_eq!(claims(None, Some("user_impersonation")).identity(), User);
        assert_eq!(claims(Some("app"), None).identity(), App);
        assert_eq!(claims(Some("app"), Some("x")).identity(), App, "idtyp wins");
        assert_eq!(claims(None, None).identity(), App);
    }

    #[test]
    fn only_a_hyphenated_guid_is_an_entra_id() {
        assert_eq!(
            guid("72F988BF-86F1-41AF-91AB-2D7CD011DB47").map(|id| id.to_string()),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47".to_owned())
        );
        for bad in [
            "",
            "72f988bf86f141af91ab2d7cd011db47",
            "{72f988bf-86f1-41af-91ab-2d7cd011db47}",
            "urn:uuid:72f988bf-86f1-41af-91ab-2d7cd011db47",
            "72f988bf-86f1-41af-91ab-2d7cd011db4:",
            "contoso",
        ] {
            assert!(guid(bad).is_none(), "{bad}");
        }
    }
}
