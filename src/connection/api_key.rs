//! API keys: how one is made, and the map from a key's SHA-256 to what it opens (a connection, or the admin
//! endpoint), each key with an optional expiry.
//!
//! Only hashes are ever stored. A presented key is hashed and the hash looked up in a `HashMap`: one hash and one
//! map probe per call, however many keys are registered.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// What every issued key starts with, so a key pasted where it does not belong (a log, a ticket, a repository)
/// is recognisable to people and to secret scanners.
pub const KEY_PREFIX: &str = "pcgw_";

/// A new API key: [`KEY_PREFIX`], then 256 bits from the operating system's random number generator in base64url
/// without padding (43 characters), so it travels in a header, a URL or a shell variable unquoted.
pub fn issue_api_key() -> Result<SecretString, String> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| format!("the operating system's random number generator failed: {e}"))?;
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    bytes.fill(0);
    Ok(key.into())
}

/// The lower-case hex SHA-256 of a key, as the configuration holds it.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// One registered key: its SHA-256, and from when it is refused (none: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiKey {
    pub sha256: [u8; 32],
    pub expires: Option<OffsetDateTime>,
}

/// What a presented key opens.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<T> {
    Valid(T),
    /// A registered key past its expiry.
    Expired {
        opens: T,
        expired: OffsetDateTime,
    },
    Unknown,
}

/// Key hashes and what each opens.
///
/// Why a plain map lookup keeps nothing secret: the map is keyed by the SHA-256 of the *presented* key, so
/// whatever the lookup's timing depends on (which bucket the hash falls in, with std's randomly keyed SipHash;
/// how many bytes of a stored hash match before the comparison stops) is a function of SHA-256 outputs, never of
/// a stored key's bytes. An attacker who learned a stored hash completely from such timings would still need a
/// key that hashes to it, a SHA-256 preimage, to get in. So the comparison need not be constant-time, and the
/// lookup is one hash and one probe rather than a scan of every registered key.
#[derive(Debug)]
pub struct KeyMap<T> {
    keys: HashMap<[u8; 32], (T, Option<OffsetDateTime>)>,
}

impl<T> Default for KeyMap<T> {
    fn default() -> Self {
        Self {
            keys: HashMap::new(),
        }
    }
}

impl<T: Clone> KeyMap<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            keys: HashMap::with_capacity(capacity),
        }
    }

    /// Registers `key` for `opens`. The configuration has refused a hash registered twice already; should one
    /// come anyway, the first registration stays.
    pub fn insert(&mut self, key: ApiKey, opens: T) {
        self.keys.entry(key.sha256).or_insert((opens, key.expires));
    }

    /// What the presented key opens at `now`. A key whose `expires` is `now` or earlier is expired.
    pub fn lookup(&self, presented: &[u8], now: OffsetDateTime) -> Lookup<&T> {
        let hash: [u8; 32] = Sha256::digest(presented).into();
        match self.keys.get(&hash) {
            None => Lookup::Unknown,
            Some((opens, Some(expires))) if *expires <= now => Lookup::Expired {
                opens,
                expired: *expires,
            },
            Some((opens, _)) => Lookup::Valid(opens),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use time::macros::datetime;

    #[test]
    fn an_issued_key_is_the_prefix_and_256_bits_of_base64url() {
        let key = issue_api_key().unwrap();
        let key = key.expose_secret();
        let body = key.strip_prefix(KEY_PREFIX).unwrap();
        assert_eq!(body.len(), 43, "{key}");
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_ne!(
            issue_api_key().unwrap().expose_secret(),
            key,
            "two keys differ"
        );
    }

    #[test]
    fn a_key_is_valid_until_its_expiry_and_expired_from_then_on() {
        let expires = datetime!(2027-01-31 00:00 UTC);
        let mut map = KeyMap::default();
        let key = |text: &str, expires| ApiKey {
            sha256: Sha256::digest(text.as_bytes()).into(),
            expires,
        };
        map.insert(key("lasting", None), "a");
        map.insert(key("lapsing", Some(expires)), "b");
        let before = datetime!(2027-01-30 23:59:59 UTC);
        assert_eq!(map.lookup(b"lasting", expires), Lookup::Valid(&"a"));
        assert_eq!(map.lookup(b"lapsing", before), Lookup::Valid(&"b"));
        assert_eq!(
            map.lookup(b"lapsing", expires),
            Lookup::Expired {
                opens: &"b",
                expired: expires
            }
        );
        assert_eq!(map.lookup(b"unknown", before), Lookup::Unknown);
    }
}
