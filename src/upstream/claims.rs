//! What an App+User access token says about the sign-in behind it: who signed in, and whether with
//! multifactor authentication. Partner Center refuses App+User calls whose token's `amr` (authentication
//! methods references) claim lacks `mfa`, so the command line reads it to warn an administrator before a maker
//! meets the refusal.
//!
//! Read without checking the signature, on purpose: the token has just arrived over TLS from the authority in
//! answer to the gateway's own request, nothing is granted on what it says, and Partner Center, which the token
//! is for, verifies it on every call. A token that is not a readable JWT is "unknown", never an error.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// Entra's `amr` value for a completed multifactor challenge.
const MFA: &str = "mfa";

#[derive(Debug, Default, Deserialize)]
pub struct SignInClaims {
    #[serde(default)]
    amr: Option<Vec<String>>,
    #[serde(default)]
    name: Option<String>,
    /// v1.0 tokens name the user here, v2.0 ones in `preferred_username`.
    #[serde(default)]
    upn: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
}

impl SignInClaims {
    /// The claims of a JWT's payload, or `None` when the token is not a JWT whose payload is a JSON object.
    pub fn read(token: &str) -> Option<Self> {
        let payload = token.split('.').nth(1)?;
        // Entra pads nothing, but a padded payload is still the same payload.
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Whether `amr` names a second factor. A token with no `amr` at all did not prove one either.
    pub fn has_mfa(&self) -> bool {
        self.amr.iter().flatten().any(|method| method == MFA)
    }

    /// `amr` as a token writes it (`["pwd"]`), or `no amr claim`, for messages.
    pub fn amr_display(&self) -> String {
        match &self.amr {
            Some(amr) => format!("{amr:?}"),
            None => "no amr claim".to_owned(),
        }
    }

    /// Who signed in, as the token names them.
    pub fn user(&self) -> Option<&str> {
        self.upn
            .as_deref()
            .or(self.preferred_username.as_deref())
            .or(self.name.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        let encode = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.signature",
            encode(&serde_json::json!({"alg": "RS256"})),
            encode(&claims)
        )
    }

    #[test]
    fn amr_says_whether_the_sign_in_used_a_second_factor() {
        let with = SignInClaims::read(&jwt(
            serde_json::json!({"amr": ["pwd", "mfa"], "name": "Ann"}),
        ))
        .unwrap();
        assert!(with.has_mfa());
        assert_eq!(with.user(), Some("Ann"));
        let without = SignInClaims::read(&jwt(serde_json::json!({"amr": ["pwd"]}))).unwrap();
        assert!(!without.has_mfa());
        assert_eq!(without.amr_display(), r#"["pwd"]"#);
        let none = SignInClaims::read(&jwt(serde_json::json!({"upn": "ann@contoso.com"}))).unwrap();
        assert!(!none.has_mfa());
        assert_eq!(none.amr_display(), "no amr claim");
        assert_eq!(none.user(), Some("ann@contoso.com"));
        assert!(SignInClaims::read("an-opaque-token").is_none());
        assert!(SignInClaims::read("a.b%c.d").is_none());
    }
}
