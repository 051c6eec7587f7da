//! API keys as the configuration lists them, for a connection (`[[connections]]`) or for the admin endpoint
//! (`[admin]`): the SHA-256 of each key, never the key, and for each an optional expiry.
//!
//! ```toml
//! api_key_sha256 = "5f3c…"                       # one key, no expiry
//! api_key_sha256 = ["5f3c…", "9ab0…"]            # several (a rotation under way)
//! api_keys = [{ sha256 = "5f3c…", expires = "2027-01-31" }, { sha256 = "9ab0…" }]
//!
//! [[connections.api_keys]]                       # the same, one table per key
//! sha256 = "5f3c…"
//! expires = 2027-01-31T12:00:00+01:00            # TOML date-times need no quotes
//! ```
//!
//! Both fields may be given; their keys add up.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use sha2::{Digest, Sha256};

use super::{ConfigError, DEMO_API_KEYS};
use crate::connection::ApiKey;
use crate::domain::ConnectionId;

/// `api_key_sha256`: one hash, or a list of them.
#[derive(Debug)]
pub struct KeyHashes(pub Vec<String>);

impl<'de> Deserialize<'de> for KeyHashes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OneOrMany;
        impl<'de> Visitor<'de> for OneOrMany {
            type Value = KeyHashes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key's SHA-256 in hex, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyHashes, E> {
                Ok(KeyHashes(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyHashes, A::Error> {
                let mut hashes = Vec::new();
                while let Some(hash) = seq.next_element::<String>()? {
                    hashes.push(hash);
                }
                Ok(KeyHashes(hashes))
            }
        }
        d.deserialize_any(OneOrMany)
    }
}

/// One entry of `api_keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub sha256: String,
    pub expires: Option<Expiry>,
}

/// When a key stops working: an RFC 3339 date-time, or a date (from 00:00 UTC that day on), quoted or as a TOML
/// date or date-time.
#[derive(Debug, Clone, Copy)]
pub struct Expiry(pub OffsetDateTime);

impl Expiry {
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
            return Ok(Expiry(at.to_offset(time::UtcOffset::UTC)));
        }
        if let Ok(day) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
            return Ok(Expiry(day.midnight().assume_utc()));
        }
        Err(format!(
            "{text:?} is not an RFC 3339 date (2027-01-31, from 00:00 UTC that day) or date-time with an offset \
             (2027-01-31T18:00:00Z, 2027-01-31T18:00:00+01:00)"
        ))
    }
}

impl<'de> Deserialize<'de> for Expiry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Expiry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an RFC 3339 date or date-time")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Expiry, E> {
                Expiry::parse(v).map_err(E::custom)
            }
            /// An unquoted TOML date or date-time reaches serde as a one-entry map holding its text.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Expiry, A::Error> {
                let Some((_, text)) = map.next_entry::<String, String>()? else {
                    return Err(de::Error::custom("an empty table is not a date"));
                };
                Expiry::parse(&text).map_err(de::Error::custom)
            }
        }
        d.deserialize_any(Text)
    }
}

/// Who a key is registered for, named only when an error needs it.
#[derive(Clone)]
pub(super) enum Owner {
    /// `connections[index]`, with its ID.
    Connection(usize, ConnectionId),
    Admin,
}

impl Owner {
    /// How the file's keys under it start: `connections[3]`, `admin`.
    fn key(&self) -> String {
        match self {
            Owner::Connection(i, _) => format!("connections[{i}]"),
            Owner::Admin => "admin".to_owned(),
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Owner::Connection(i, id) => write!(f, "connection \"{id}\" (connections[{i}])"),
            Owner::Admin => f.write_str("the admin endpoint ([admin])"),
        }
    }
}

/// Every key of a configuration, and whose each is, so that no key opens two things.
pub(super) struct KeyOwners {
    owners: HashMap<[u8; 32], Owner>,
    /// The sandbox's demo keys, refused when the real Partner Center is configured.
    demo: Option<[[u8; 32]; 2]>,
}

impl KeyOwners {
    pub(super) fn new(uses_sandbox: bool) -> Self {
        Self {
            owners: HashMap::new(),
            demo: (!uses_sandbox).then(|| DEMO_API_KEYS.map(|k| Sha256::digest(k).into())),
        }
    }

    /// Checks and parses the keys of one owner. Key names are made only for an error: a hundred thousand
    /// connections would otherwise format a hundred thousand strings that nobody reads.
    pub(super) fn parse(
        &mut self,
        owner: Owner,
        hashes: Option<KeyHashes>,
        keys: Option<Vec<KeySettings>>,
    ) -> Result<Vec<ApiKey>, ConfigError> {
        let mut parsed = Vec::new();
        if let Some(KeyHashes(hashes)) = hashes {
            let single = hashes.len() == 1;
            for (j, hash) in hashes.into_iter().enumerate() {
                // One hash written as a plain string is named as written: `connections[0].api_key_sha256`.
                let name = || match single {
                    true => format!("{}.api_key_sha256", owner.key()),
                    false => format!("{}.api_key_sha256[{j}]", owner.key()),
                };
                parsed.push(self.one(name, &owner, &hash, None)?);
            }
        }
        for (j, k) in keys.into_iter().flatten().enumerate() {
            let name = || format!("{}.api_keys[{j}].sha256", owner.key());
            parsed.push(self.one(name, &owner, &k.sha256, k.expires)?);
        }
        Ok(parsed)
    }

    fn one(
        &mut self,
        name: impl Fn() -> String,
        owner: &Owner,
        hash: &str,
        expires: Option<Expiry>,
    ) -> Result<ApiKey, ConfigError> {
        let mut sha256 = [0u8; 32];
        if hash.len() != 64
            || hash.bytes().any(|b| b.is_ascii_uppercase())
            || hex::decode_to_slice(hash, &mut sha256).is_err()
        {
            return Err(ConfigError::key(
                name(),
                "must be 64 lower-case hex digits (sha256sum of the key, or `partner-center-gateway keys hash`)",
            ));
        }
        if self.demo.is_some_and(|demo| demo.contains(&sha256)) {
            return Err(ConfigError::key(
                name(),
                "is one of the sandbox's published demo keys; a profile that calls the real Partner Center \
                 (upstream.base_url is set) refuses to start with it",
            ));
        }
        match self.owners.entry(sha256) {
            Entry::Occupied(first) => {
                let problem = match (first.get(), owner) {
                    (Owner::Connection(a, _), Owner::Connection(b, _)) if a == b => {
                        format!("is listed twice for {owner}")
                    }
                    (Owner::Admin, Owner::Admin) => format!("is listed twice for {owner}"),
                    (first, _) => {
                        format!("is already a key of {first}; a key opens one thing only")
                    }
                };
                Err(ConfigError::key(name(), problem))
            }
            Entry::Vacant(entry) => {
                entry.insert(owner.clone());
                Ok(ApiKey {
                    sha256,
                    expires: expires.map(|e| e.0),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_expiry_is_a_date_from_midnight_utc_or_a_date_time_with_an_offset() {
        assert_eq!(
            Expiry::parse("2027-01-31").unwrap().0,
            datetime!(2027-01-31 00:00 UTC)
        );
        assert_eq!(
            Expiry::parse("2027-01-31T18:00:00+01:00").unwrap().0,
            datetime!(2027-01-31 17:00 UTC)
        );
        for bad in [
            "2027-01-31T18:00:00",
            "31/01/2027",
            "2027-02-30",
            "tomorrow",
            "",
        ] {
            assert!(Expiry::parse(bad).is_err(), "{bad}");
        }
    }
}
