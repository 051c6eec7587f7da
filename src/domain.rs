//! Newtypes parsed at the edge: once a handler holds one of these, the value is safe to put in a Partner Center
//! path, query or header without further checks.

use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use crate::error::AppError;

/// A customer's tenant ID: a GUID, kept in the canonical lower-case hyphenated form Partner Center uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerTenantId(Uuid);

impl CustomerTenantId {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        // Only the hyphenated 36-character form: braces, URNs and "simple" forms would reach Partner Center
        // as different strings from the one the maker sees in its own records.
        if raw.len() == 36
            && let Ok(id) = Uuid::try_parse(raw)
        {
            return Ok(Self(id));
        }
        Err(AppError::bad_request(
            "InvalidCustomerTenantId",
            "CustomerTenantID must be a GUID such as c501c3c4-d776-40ef-9ecf-9cefb59442c1.",
        ))
    }
}

impl CustomerTenantId {
    /// The GUID's 16 bytes, for a compact encoding.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }
}

impl fmt::Display for CustomerTenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The name of a caller connection; quotas and tokens are keyed on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(Arc<str>);

impl ConnectionId {
    /// A registered connection's ID, from the configuration or the `keys` command. IDs appear in logs, metrics
    /// and quota keys, so they are short and printable; and they have no `:`, which only the IDs of bearer
    /// identities ([`Self::bearer`]) contain, so no registered connection can share a quota with a maker's
    /// token.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Self(raw.into()))
        } else {
            Err(format!(
                "connection id {raw:?} must be 1 to 128 characters of letters, digits, '-', '_' or '.'"
            ))
        }
    }

    /// A validated bearer token's identity: `user:` or `app:`, then its tenant and object IDs, GUIDs the caller
    /// has already checked (so the three parts cannot run into each other).
    pub fn bearer(kind: BearerIdentity, tenant: Uuid, object: Uuid) -> Self {
        let kind = match kind {
            BearerIdentity::User => "user",
            BearerIdentity::App => "app",
        };
        Self(format!("{kind}:{tenant}:{object}").into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ID's text, shared rather than copied: what a call's record keeps of it.
    pub fn shared(&self) -> Arc<str> {
        Arc::clone(&self.0)
    }
}

/// Whom an Entra token speaks for: a signed-in user, or an application on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerIdentity {
    User,
    App,
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Microsoft AI Cloud Partner Program (MPN) ID: digits only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerId(String);

impl PartnerId {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        if !raw.is_empty() && raw.len() <= 18 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(AppError::bad_request(
                "InvalidPartnerId",
                "PartnerId must be the partner's MPN ID: digits only.",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Page size: a positive integer no larger than the operation's maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    pub fn parse(raw: &str, max: u32) -> Result<Self, AppError> {
        match raw.parse::<u32>() {
            // Digits only, no leading zero: what the documents' pattern accepts, so the two agree.
            Ok(n)
                if (1..=max).contains(&n)
                    && raw.bytes().all(|b| b.is_ascii_digit())
                    && !raw.starts_with('0') =>
            {
                Ok(Self(n))
            }
            _ => Err(AppError::bad_request(
                "InvalidSize",
                format!("Size must be a whole number from 1 to {max}."),
            )),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A zero-based offset into a collection: at most nine digits, as the documents' pattern says, so what the
/// documents promise and what the gateway accepts are the same set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offset(u32);

impl Offset {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        match raw.parse::<u32>() {
            Ok(n) if (1..=9).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Self(n))
            }
            _ => Err(AppError::bad_request(
                "InvalidOffset",
                "Offset must be a whole number from 0 to 999999999.",
            )),
        }
    }

    pub fn new(n: u32) -> Self {
        Self(n)
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A Partner Center continuation token, forwarded in the `MS-ContinuationToken` header, so it must be a valid
/// header value; Partner Center's tokens are base64 and a few hundred characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContinuationToken(String);

impl ContinuationToken {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        if !raw.is_empty() && raw.len() <= 4096 && raw.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(AppError::bad_request(
                "InvalidContinuationToken",
                "ContinuationToken must be the value taken from a previous page's nextLink.",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An agreement type such as MicrosoftCustomerAgreement, or `*` for all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementType(String);

impl AgreementType {
    pub const MICROSOFT_CUSTOMER_AGREEMENT: &str = "MicrosoftCustomerAgreement";

    /// The types of agreement Partner Center knows, which a confirmation names.
    pub const TYPES: [&str; 2] = [
        "MicrosoftCloudAgreement",
        Self::MICROSOFT_CUSTOMER_AGREEMENT,
    ];

    /// What a look-up of agreements takes: a type, or all of them. Anything else Partner Center would refuse,
    /// so the call is not worth making.
    pub const KNOWN: [&str; 3] = [Self::TYPES[0], Self::TYPES[1], "*"];

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        match Self::KNOWN.iter().find(|known| **known == raw) {
            Some(known) => Ok(Self((*known).to_owned())),
            None => Err(AppError::bad_request(
                "InvalidAgreementType",
                "AgreementType must be MicrosoftCustomerAgreement, MicrosoftCloudAgreement, or * for both.",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_connection_cannot_take_a_bearer_identity_s_id() {
        let tenant = Uuid::parse_str("72f988bf-86f1-41af-91ab-2d7cd011db47").unwrap();
        let object = Uuid::parse_str("00000000-0000-0000-0000-000000000001").unwrap();
        let user = ConnectionId::bearer(BearerIdentity::User, tenant, object);
        assert_eq!(
            user.as_str(),
            "user:72f988bf-86f1-41af-91ab-2d7cd011db47:00000000-0000-0000-0000-000000000001"
        );
        assert!(ConnectionId::parse(user.as_str()).is_err());
        assert_ne!(
            user,
            ConnectionId::bearer(BearerIdentity::App, tenant, object)
        );
        assert!(ConnectionId::parse("contoso-ops.eu_1").is_ok());
    }

    #[test]
    fn tenant_id_accepts_only_the_hyphenated_guid() {
        let id = CustomerTenantId::parse("C501C3C4-D776-40EF-9ECF-9CEFB59442C1").unwrap();
        assert_eq!(id.to_string(), "c501c3c4-d776-40ef-9ecf-9cefb59442c1");
        for bad in [
            "",
            "c501c3c4d77640ef9ecf9cefb59442c1",
            "{c501c3c4-d776-40ef-9ecf-9cefb59442c1}",
            "../x",
            "c501c3c4-d776-40ef-9ecf-9cefb59442cz",
        ] {
            assert!(CustomerTenantId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_and_offsets() {
        assert_eq!(PageSize::parse("500", 500).unwrap().get(), 500);
        for bad in ["0", "501", "-1", "+5", "1.5", "", "ten", "007"] {
            assert!(PageSize::parse(bad, 500).is_err(), "{bad}");
        }
        assert_eq!(Offset::parse("0").unwrap().get(), 0);
        assert_eq!(Offset::parse("999999999").unwrap().get(), 999_999_999);
        for bad in [
            "-1",
            "+1",
            "x",
            "",
            "1000000000",
            "0000000001",
            "4294967295",
        ] {
            assert!(Offset::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn partner_ids_are_digits() {
        assert!(PartnerId::parse("4847383").is_ok());
        for bad in ["", "48a", "4847383/..", "-1"] {
            assert!(PartnerId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn continuation_tokens_must_be_header_safe() {
        assert!(ContinuationToken::parse("YWJj+/==").is_ok());
        assert!(ContinuationToken::parse("a\r\nb").is_err());
        assert!(ContinuationToken::parse("a b").is_err());
    }
}
