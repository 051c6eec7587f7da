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

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::{ConfigError, DEMO_API_KEYS};
use crate::connection::{ApiKey, hash_api_key};

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

/// Every key of a configuration, and whose each is, so that no key opens two things.
pub(super) struct KeyOwners {
    owners: HashMap<[u8; 32], String>,
    /// The sandbox's demo keys, refused when the real Partner Center is configured.
    demo: Option<[String; 2]>,
}

impl KeyOwners {
    pub(super) fn new(uses_sandbox: bool) -> Self {
        Self {
            owners: HashMap::new(),
            demo: (!uses_sandbox).then(|| DEMO_API_KEYS.map(hash_api_key)),
        }
    }

    /// Checks and parses the keys of one owner (`owner` as a message names it, `key` as the file's keys start:
    /// `connections[3]`, `admin`).
    pub(super) fn parse(
        &mut self,
        key: &str,
        owner: &str,
        hashes: Option<KeyHashes>,
        keys: Option<Vec<KeySettings>>,
    ) -> Result<Vec<ApiKey>, ConfigError> {
        let mut parsed = Vec::new();
        if let Some(KeyHashes(hashes)) = hashes {
            let single = hashes.len() == 1;
            for (j, hash) in hashes.into_iter().enumerate() {
                // One hash written as a plain string is named as written: `connections[0].api_key_sha256`.
                let name = match single {
                    true => format!("{key}.api_key_sha256"),
                    false => format!("{key}.api_key_sha256[{j}]"),
                };
                parsed.push(self.one(&name, owner, &hash, None)?);
            }
        }
        for (j, k) in keys.into_iter().flatten().enumerate() {
            let name = format!("{key}.api_keys[{j}].sha256");
            parsed.push(self.one(&name, owner, &k.sha256, k.expires)?);
        }
        Ok(parsed)
    }

    fn one(
        &mut self,
        name: &str,
        owner: &str,
        hash: &str,
        expires: Option<Expiry>,
    ) -> Result<ApiKey, ConfigError> {
        if hash.len() != 64
            || !hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(ConfigError::key(
                name,
                "must be 64 lower-case hex digits (sha256sum of the key, or `partner-center-gateway keys hash`)",
            ));
        }
        if let Some(demo) = &self.demo
            && demo.iter().any(|d| d == hash)
        {
            return Err(ConfigError::key(
                name,
                "is one of the sandbox's published demo keys; a profile that calls the real Partner Center \
                 (upstream.base_url is set) refuses to start with it",
            ));
        }
        let mut sha256 = [0u8; 32];
        hex::decode_to_slice(hash, &mut sha256).map_err(|e| ConfigError::key(name, e))?;
        if let Some(first) = self.owners.get(&sha256) {
            let problem = match first == owner {
                true => format!("is listed twice for {owner}"),
                false => format!("is already a key of {first}; a key opens one thing only"),
            };
            return Err(ConfigError::key(name, problem));
        }
        self.owners.insert(sha256, owner.to_owned());
        Ok(ApiKey {
            sha256,
            expires: expires.map(|e| e.0),
        })
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
