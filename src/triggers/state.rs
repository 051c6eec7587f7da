//! A trigger's state as it travels in the `Location` URL: compact bytes, signed with HMAC-SHA256 under the
//! gateway's key and bound to the connection, base64url without padding.
//!
//! The bytes, version 1: `1, kind, flags, operation type (0xFF: none)`, the customer's 16 bytes when flagged,
//! the cursor (nanoseconds since 1970, 8 bytes big-endian), the number of IDs seen at that instant and their
//! 8-byte digests, and when flagged the continuation (the query's end, 8 bytes, then the token's length in 2
//! bytes and the token). Then the first 16 bytes of the MAC, computed over a domain label, the connection ID,
//! a zero byte and the bytes before it. Written by hand: it is a few dozen bytes, and a general format (JSON,
//! CBOR) would double them in a URL that Power Platform stores with each flow run.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use super::{Cursor, Filter, Kind, OPERATION_TYPES, SeenId};
use crate::domain::{ConnectionId, CustomerTenantId};

type HmacSha256 = hmac::Hmac<Sha256>;

const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
const DOMAIN: &[u8] = b"partner-center-gateway/trigger-state/v1";
const HAS_CUSTOMER: u8 = 1;
const HAS_CONTINUATION: u8 = 2;
/// The longest state the gateway reads; what it writes stays well under it.
pub const MAX_ENCODED: usize = 4096;
/// A continuation token longer than this is not carried; the next poll asks again from the cursor instead.
pub const MAX_TOKEN: usize = 1024;

/// Where a trigger is: its filter, its cursor, and the rest of a query still being paged through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub kind: Kind,
    pub filter: Filter,
    pub cursor: Cursor,
    pub continuation: Option<Continuation>,
}

/// A query Partner Center has more pages of: its token, and where the query ends (the cursor moves there once
/// the last page is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    pub token: String,
    pub end_nanos: i64,
}

/// The key states are signed with; the same on every replica.
pub struct Signer {
    key: SecretSlice<u8>,
}

impl Signer {
    pub fn new(key: SecretSlice<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, connection: &ConnectionId) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.key.expose_secret())
            .expect("HMAC takes a key of any length");
        mac.update(DOMAIN);
        mac.update(connection.as_str().as_bytes());
        mac.update(&[0]);
        mac
    }

    pub fn encode(&self, connection: &ConnectionId, state: &State) -> String {
        let mut bytes = vec![VERSION, state.kind as u8, 0, 0xFF];
        if let Some(customer) = &state.filter.customer {
            bytes[2] |= HAS_CUSTOMER;
            bytes.extend(customer.as_bytes());
        }
        if let Some(operation) = state.filter.operation_type {
            bytes[3] = operation;
        }
        bytes.extend(state.cursor.at.to_be_bytes());
        let seen = &state.cursor.seen;
        debug_assert!(seen.len() <= super::MAX_SEEN);
        bytes.push(seen.len() as u8);
        for id in seen {
            bytes.extend(id);
        }
        if let Some(continuation) = &state.continuation {
            bytes[2] |= HAS_CONTINUATION;
            bytes.extend(continuation.end_nanos.to_be_bytes());
            bytes.extend((continuation.token.len() as u16).to_be_bytes());
            bytes.extend(continuation.token.as_bytes());
        }
        let mut mac = self.mac(connection);
        mac.update(&bytes);
        bytes.extend(&mac.finalize().into_bytes()[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The state, if this gateway's key signed it for `connection`; `None` for anything else, so a tampered
    /// state and one minted for another connection look alike.
    pub fn decode(&self, connection: &ConnectionId, encoded: &str) -> Option<State> {
        if encoded.len() > MAX_ENCODED {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        let (payload, tag) = bytes.split_at_checked(bytes.len().checked_sub(TAG_LEN)?)?;
        let mut mac = self.mac(connection);
        mac.update(payload);
        // Constant time: a forger learns nothing from how long a refusal takes.
        mac.verify_truncated_left(tag).ok()?;
        parse(payload)
    }
}

/// Reads the bytes a [`Signer`] wrote; the MAC has been checked, so this only guards against this gateway's
/// own older formats.
fn parse(bytes: &[u8]) -> Option<State> {
    let mut reader = Reader(bytes);
    let [version, kind, flags, operation] = reader.array()?;
    if version != VERSION {
        return None;
    }
    let kind = Kind::from_byte(kind)?;
    let customer = match flags & HAS_CUSTOMER {
        0 => None,
        _ => Some(CustomerTenantId::from_bytes(reader.array()?)),
    };
    let operation_type = match operation {
        0xFF => None,
        index if usize::from(index) < OPERATION_TYPES.len() => Some(index),
        _ => return None,
    };
    let at = i64::from_be_bytes(reader.array()?);
    let count = usize::from(reader.array::<1>()?[0]);
    if count > super::MAX_SEEN {
        return None;
    }
    let seen: Vec<SeenId> = (0..count).map(|_| reader.array()).collect::<Option<_>>()?;
    let continuation = match flags & HAS_CONTINUATION {
        0 => None,
        _ => {
            let end_nanos = i64::from_be_bytes(reader.array()?);
            let len = usize::from(u16::from_be_bytes(reader.array()?));
            let token = std::str::from_utf8(reader.take(len)?).ok()?.to_owned();
            Some(Continuation { token, end_nanos })
        }
    };
    if !reader.0.is_empty() || flags & !(HAS_CUSTOMER | HAS_CONTINUATION) != 0 {
        return None;
    }
    Some(State {
        kind,
        filter: Filter {
            customer,
            operation_type,
        },
        cursor: Cursor { at, seen },
        continuation,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(key: &[u8]) -> Signer {
        Signer::new(key.to_vec().into())
    }

    fn state() -> State {
        State {
            kind: Kind::OrderCreated,
            filter: Filter {
                customer: Some(
                    CustomerTenantId::parse("c501c3c4-d776-40ef-9ecf-9cefb59442c1").unwrap(),
                ),
                operation_type: None,
            },
            cursor: Cursor {
                at: 1_764_000_000_123_456_700,
                seen: vec![[1; 8], [2; 8]],
            },
            continuation: Some(Continuation {
                token: "a+b/c==".into(),
                end_nanos: 1_764_000_060_000_000_000,
            }),
        }
    }

    #[test]
    fn a_state_round_trips_compact_and_url_safe() {
        let connection = ConnectionId::parse("contoso-demo").unwrap();
        let signer = signer(b"0123456789abcdef0123456789abcdef");
        let encoded = signer.encode(&connection, &state());
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{encoded}"
        );
        assert!(encoded.len() < 120, "{} chars: {encoded}", encoded.len());
        assert_eq!(signer.decode(&connection, &encoded), Some(state()));
        let fresh = State {
            continuation: None,
            cursor: Cursor {
                at: 5,
                seen: vec![],
            },
            filter: Filter::default(),
            kind: Kind::CustomerAdded,
        };
        assert!(signer.encode(&connection, &fresh).len() < 50);
    }

    #[test]
    fn a_state_for_another_connection_or_key_or_altered_is_refused() {
        let connection = ConnectionId::parse("contoso-demo").unwrap();
        let other = ConnectionId::parse("fabrikam-demo").unwrap();
        let signer = signer(b"0123456789abcdef0123456789abcdef");
        let encoded = signer.encode(&connection, &state());
        assert!(signer.decode(&other, &encoded).is_none());
        assert!(
            self::signer(b"another key, another gateway....")
                .decode(&connection, &encoded)
                .is_none()
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&encoded).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 0x01;
            let altered = URL_SAFE_NO_PAD.encode(&bytes);
            assert!(signer.decode(&connection, &altered).is_none(), "byte {i}");
            bytes[i] ^= 0x01;
        }
        for junk in ["", "x", "!!!", &"A".repeat(MAX_ENCODED + 1)] {
            assert!(signer.decode(&connection, junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn the_largest_state_stays_well_under_url_limits() {
        let connection = ConnectionId::parse("contoso-demo").unwrap();
        let signer = signer(b"0123456789abcdef0123456789abcdef");
        let largest = State {
            kind: Kind::ActivityRecorded,
            filter: Filter {
                operation_type: Some(0),
                ..state().filter
            },
            cursor: Cursor {
                at: i64::MAX,
                seen: vec![[0xFF; 8]; super::super::MAX_SEEN],
            },
            continuation: Some(Continuation {
                token: "t".repeat(MAX_TOKEN),
                end_nanos: i64::MAX,
            }),
        };
        let encoded = signer.encode(&connection, &largest);
        // Measured: 2,804 characters, a Location of about 2.9 KB with the gateway's address and path; URLs are
        // cut at 8 KB by common proxies, and at server.max_uri_bytes (16 KB) by the gateway.
        assert_eq!(encoded.len(), 2_804);
        assert!(encoded.len() <= MAX_ENCODED);
        assert_eq!(signer.decode(&connection, &encoded), Some(largest));
    }
}
