//! `[auth]`: the Entra authority the gateway gets tokens from, and whose tokens it accepts for pass-through.

use serde::Deserialize;
use url::Url;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// The Entra authority; tokens come from `{authority}/{tenant}/oauth2/v2.0/token`. Ignored in the sandbox
    /// profile, where the sandbox is the authority.
    pub authority: Url,
    pub scope: String,
    /// Issuers whose tokens are accepted for bearer pass-through. Ignored in the sandbox profile, where the
    /// sandbox is the only issuer.
    pub issuers: Vec<IssuerSettings>,
    /// Accepted `aud` values: the Partner Center resource, by URI (v1 tokens) or application ID (v2 tokens).
    pub audiences: Vec<String>,
    /// When not empty, only tokens of these tenants (`tid`) are accepted.
    pub allowed_tenants: Vec<String>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSettings {
    /// The `iss` claim, with `{tenantid}` standing for the token's `tid`.
    pub issuer: String,
    pub jwks_uri: Url,
}

impl Default for AuthSettings {
    fn default() -> Self {
        let entra = |issuer: &str, jwks: &str| IssuerSettings {
            issuer: issuer.into(),
            jwks_uri: Url::parse(jwks).unwrap(),
        };
        Self {
            authority: Url::parse("https://login.microsoftonline.com").unwrap(),
            scope: "https://api.partnercenter.microsoft.com/.default".into(),
            issuers: vec![
                entra(
                    "https://login.microsoftonline.com/{tenantid}/v2.0",
                    "https://login.microsoftonline.com/common/discovery/v2.0/keys",
                ),
                entra(
                    "https://sts.windows.net/{tenantid}/",
                    "https://login.microsoftonline.com/common/discovery/keys",
                ),
            ],
            audiences: vec![
                "https://api.partnercenter.microsoft.com".into(),
                // Partner Center's application ID: the `aud` of v2 tokens.
                "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd".into(),
            ],
            allowed_tenants: vec![],
            leeway_secs: 60,
        }
    }
}

/// The `[auth]` keys whose value differs, for a reload to report: the token source and the bearer validator are
/// built once. Destructured whole, so a new key cannot be missed.
pub(super) fn changed_keys(old: &AuthSettings, new: &AuthSettings, out: &mut Vec<&'static str>) {
    let AuthSettings {
        authority,
        scope,
        issuers,
        audiences,
        allowed_tenants,
        leeway_secs,
    } = old;
    for (key, same) in [
        ("auth.authority", *authority == new.authority),
        ("auth.scope", *scope == new.scope),
        ("auth.issuers", *issuers == new.issuers),
        ("auth.audiences", *audiences == new.audiences),
        (
            "auth.allowed_tenants",
            *allowed_tenants == new.allowed_tenants,
        ),
        ("auth.leeway_secs", *leeway_secs == new.leeway_secs),
    ] {
        if !same {
            out.push(key);
        }
    }
}
