//! The Entra ID (v2 endpoint) lookalike: token issuance, refresh-token
//! rotation and the signing keys, plus verification of the access tokens the
//! Partner Center side receives.
//!
//! App+User tokens carry `amr` (authentication methods references) as Entra's
//! do: `["pwd", "mfa"]` after a sign-in with multifactor authentication,
//! `["pwd"]` without. A refresh token remembers which it was, and every token
//! refreshed from it keeps that `amr`: refreshing never adds a factor.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Sandbox, data, demo, device_code, lock};

const SIGNING_KEY_PEM: &str = include_str!("sandbox-signing-key.pem");
/// Precomputed so the JWKS needs no RSA key parsing at runtime.
const SIGNING_KEY_N: &str = include_str!("sandbox-signing-key.n");
const SIGNING_KEY_E: &str = "AQAB";
pub(super) const KEY_ID: &str = "sandbox-key-1";
pub(super) const ACCESS_TOKEN_LIFETIME_SECS: u64 = 3599;
/// Entra's refresh tokens live 90 days (sliding), which the gateway must outlive.
const REFRESH_TOKEN_LIFETIME_SECS: u64 = 90 * 24 * 60 * 60;
/// Refresh tokens get their own audience so that neither kind of token can be
/// passed off as the other.
const REFRESH_TOKEN_AUDIENCE: &str = "urn:partner-center-sandbox:refresh-token";
const REFRESH_TOKEN_USE: &str = "refresh";
/// The user behind `demo::CONTOSO_REFRESH_TOKEN_SEED`.
pub(super) const SEED_USER: &str = "contoso-admin";
const USER_SCOPE: &str = "user_impersonation";
/// Entra's `amr` values for a password, and for a completed multifactor challenge.
const AMR_PASSWORD: &str = "pwd";
const AMR_MFA: &str = "mfa";

/// Mints and verifies the sandbox's tokens. All tokens are RS256 JWTs signed
/// with the committed key, which is what lets refresh tokens survive a restart
/// of the sandbox: they validate themselves, only the reuse ledger is lost.
pub(crate) struct TokenIssuer {
    base_url: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// What the Partner Center side needs to know about a verified access token.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct AccessClaims {
    pub(super) tid: String,
    pub(super) idtyp: String,
    #[serde(default)]
    pub(super) oid: Option<String>,
    /// Absent from app-only tokens, as from Entra's.
    #[serde(default)]
    pub(super) amr: Vec<String>,
}

impl AccessClaims {
    pub(super) fn is_user(&self) -> bool {
        self.idtyp == "user"
    }

    pub(super) fn has_mfa(&self) -> bool {
        self.amr.iter().any(|method| method == AMR_MFA)
    }
}

#[derive(Debug, Deserialize)]
struct RefreshClaims {
    jti: String,
    tid: String,
    name: String,
    azp: String,
    token_use: String,
    /// The sign-in's `amr`. Refresh tokens issued before the sandbox issued `amr` have none; every one of
    /// them descends from the seed, which counts as a sign-in with MFA, so none means MFA.
    #[serde(default)]
    amr: Option<Vec<String>>,
}

impl RefreshClaims {
    fn has_mfa(&self) -> bool {
        self.amr
            .as_ref()
            .is_none_or(|amr| amr.iter().any(|method| method == AMR_MFA))
    }
}

/// The `amr` of a sign-in with a password and, when `mfa`, a second factor.
pub(super) fn amr(mfa: bool) -> Vec<&'static str> {
    match mfa {
        true => vec![AMR_PASSWORD, AMR_MFA],
        false => vec![AMR_PASSWORD],
    }
}

/// Which refresh tokens have already been exchanged, in this process only.
#[derive(Debug, Default)]
pub(super) struct RefreshLedger {
    seed_redeemed: bool,
    redeemed: HashSet<String>,
}

enum Presented {
    Seed,
    Rolled(RefreshClaims),
}

impl RefreshLedger {
    /// Records the exchange; false when the token was already used.
    fn redeem(&mut self, presented: &Presented) -> bool {
        match presented {
            Presented::Seed => !std::mem::replace(&mut self.seed_redeemed, true),
            Presented::Rolled(claims) => self.redeemed.insert(claims.jti.clone()),
        }
    }
}

impl TokenIssuer {
    pub(crate) fn new(base_url: String) -> Self {
        Self {
            base_url,
            encoding: EncodingKey::from_rsa_pem(SIGNING_KEY_PEM.as_bytes())
                .expect("the committed sandbox signing key is a valid RSA PEM"),
            decoding: DecodingKey::from_rsa_components(SIGNING_KEY_N.trim(), SIGNING_KEY_E)
                .expect("the committed sandbox modulus is valid base64url"),
        }
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(crate) fn issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0", self.base_url)
    }

    /// A delegated (App+User) access token for Partner Center, for a sign-in with or without MFA.
    pub(crate) fn mint_user_token(&self, tenant: &str, user_name: &str, mfa: bool) -> String {
        let now = unix_now();
        let oid = user_object_id(tenant, user_name);
        self.sign(&json!({
            "aud": demo::PARTNER_CENTER_RESOURCE,
            "iss": self.issuer(tenant),
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_LIFETIME_SECS,
            "ver": "2.0",
            "tid": tenant,
            "oid": oid,
            "sub": oid,
            "name": user_name,
            "scp": USER_SCOPE,
            "idtyp": "user",
            "amr": amr(mfa),
        }))
    }

    /// An app-only (client credentials) access token for Partner Center.
    pub(crate) fn mint_app_token(&self, tenant: &str, client_id: &str) -> String {
        let now = unix_now();
        let oid = service_principal_object_id(tenant, client_id);
        self.sign(&json!({
            "aud": demo::PARTNER_CENTER_RESOURCE,
            "iss": self.issuer(tenant),
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_LIFETIME_SECS,
            "ver": "2.0",
            "tid": tenant,
            "appid": client_id,
            "azp": client_id,
            "oid": oid,
            "sub": oid,
            "idtyp": "app",
        }))
    }

    pub(super) fn mint_refresh_token(
        &self,
        tenant: &str,
        user_name: &str,
        client_id: &str,
        mfa: bool,
    ) -> String {
        let now = unix_now();
        self.sign(&json!({
            "aud": REFRESH_TOKEN_AUDIENCE,
            "iss": self.issuer(tenant),
            "iat": now,
            "nbf": now,
            "exp": now + REFRESH_TOKEN_LIFETIME_SECS,
            "jti": uuid::Uuid::new_v4().to_string(),
            "token_use": REFRESH_TOKEN_USE,
            "tid": tenant,
            "name": user_name,
            "azp": client_id,
            "amr": amr(mfa),
        }))
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KEY_ID.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .expect("signing a JSON object with a valid RSA key cannot fail")
    }

    fn validation(audience: &str) -> Validation {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "aud"]);
        validation.validate_nbf = true;
        // Both sides share a clock; leeway would only blur expiry tests.
        validation.leeway = 0;
        validation
    }

    pub(super) fn verify_access_token(
        &self,
        token: &str,
    ) -> Result<AccessClaims, jsonwebtoken::errors::Error> {
        let validation = Self::validation(demo::PARTNER_CENTER_RESOURCE);
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
    }

    fn verify_refresh_token(
        &self,
        token: &str,
    ) -> Result<RefreshClaims, jsonwebtoken::errors::Error> {
        let validation = Self::validation(REFRESH_TOKEN_AUDIENCE);
        let claims = jsonwebtoken::decode::<RefreshClaims>(token, &self.decoding, &validation)?;
        if claims.claims.token_use != REFRESH_TOKEN_USE {
            return Err(jsonwebtoken::errors::ErrorKind::InvalidToken.into());
        }
        Ok(claims.claims)
    }
}

/// Stable per user, so agreements confirmed by the same user carry the same
/// `userId` across restarts.
pub(crate) fn user_object_id(tenant: &str, user_name: &str) -> String {
    data::guid_from(&format!(
        "user-object-id/{}/{user_name}",
        tenant.to_ascii_lowercase()
    ))
}

/// As Entra's app-only tokens do, `oid` (and `sub`) name the application's service principal in the tenant: a
/// GUID of its own, not the client ID.
fn service_principal_object_id(tenant: &str, client_id: &str) -> String {
    data::guid_from(&format!(
        "service-principal/{}/{}",
        tenant.to_ascii_lowercase(),
        client_id.to_ascii_lowercase()
    ))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// An OAuth 2.0 error as Entra words it.
pub(super) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
}

impl OAuthError {
    pub(super) fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        description: String,
    ) -> Self {
        Self {
            status,
            error,
            code,
            description,
        }
    }

    fn missing(parameter: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{parameter}'."),
        )
    }

    pub(super) fn invalid_grant(code: u32, description: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            code,
            description.to_owned(),
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.error,
            "error_description": format!("AADSTS{}: {}", self.code, self.description),
            "error_codes": [self.code],
        });
        (self.status, Json(body)).into_response()
    }
}

pub(super) type Form = HashMap<String, String>;

pub(super) fn required<'a>(form: &'a Form, parameter: &str) -> Result<&'a str, OAuthError> {
    form.get(parameter)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| OAuthError::missing(parameter))
}

pub(super) async fn token_endpoint(
    State(sandbox): State<Arc<Sandbox>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    sandbox.token_calls.fetch_add(1, Ordering::Relaxed);
    let form: Form = form_urlencoded::parse(&body).into_owned().collect();
    let outcome = match required(&form, "grant_type") {
        Err(error) => Err(error),
        Ok("client_credentials") => client_credentials(&sandbox, &tenant, &form),
        Ok("refresh_token") => refresh_token(&sandbox, &tenant, &form),
        Ok(device_code::GRANT_TYPE) => device_code::redeem(&sandbox, &tenant, &form),
        Ok(other) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{other}'."),
        )),
    };
    match outcome {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

fn client_credentials(sandbox: &Sandbox, tenant: &str, form: &Form) -> Result<Value, OAuthError> {
    let client_id = required(form, "client_id")?;
    let client_secret = required(form, "client_secret")?;
    let scope = required(form, "scope")?;
    check_client(client_id, Some(client_secret))?;
    // Client credentials only accept `{resource}/.default`.
    let default_scope = format!("{}/.default", demo::PARTNER_CENTER_RESOURCE);
    if !scope.split_whitespace().any(|s| s == default_scope) {
        return Err(invalid_scope(scope));
    }
    let tenant = home_tenant(tenant)?;
    let access_token = sandbox.tokens.mint_app_token(tenant, client_id);
    Ok(token_response(access_token, None, &default_scope))
}

fn refresh_token(sandbox: &Sandbox, tenant: &str, form: &Form) -> Result<Value, OAuthError> {
    let client_id = required(form, "client_id")?;
    let presented_token = required(form, "refresh_token")?;
    let scope = required(form, "scope")?;
    check_client(client_id, form.get("client_secret").map(String::as_str))?;
    let resource_prefix = format!("{}/", demo::PARTNER_CENTER_RESOURCE);
    if !scope
        .split_whitespace()
        .any(|s| s.starts_with(&resource_prefix))
    {
        return Err(invalid_scope(scope));
    }

    let presented = if presented_token == demo::CONTOSO_REFRESH_TOKEN_SEED {
        Presented::Seed
    } else {
        let claims = sandbox
            .tokens
            .verify_refresh_token(presented_token)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => OAuthError::invalid_grant(
                    700082,
                    "The refresh token has expired due to inactivity.",
                ),
                _ => OAuthError::invalid_grant(70000, "Provided grant is invalid or malformed."),
            })?;
        if claims.azp != client_id {
            return Err(OAuthError::invalid_grant(
                70000,
                "Provided grant is invalid or malformed: the refresh token was issued to a different client.",
            ));
        }
        Presented::Rolled(claims)
    };
    // The seed stands for a sign-in done with MFA, so that the demo connection works as it always has.
    let (user_tenant, user_name, mfa) = match &presented {
        Presented::Seed => (demo::PARTNER_TENANT_ID, SEED_USER, true),
        Presented::Rolled(claims) => (claims.tid.as_str(), claims.name.as_str(), claims.has_mfa()),
    };
    let is_common =
        tenant.eq_ignore_ascii_case("common") || tenant.eq_ignore_ascii_case("organizations");
    if !is_common && !tenant.eq_ignore_ascii_case(user_tenant) {
        home_tenant(tenant)?;
        return Err(OAuthError::invalid_grant(
            70000,
            "Provided grant is invalid or malformed: the refresh token belongs to another tenant.",
        ));
    }

    // Rotation: the presented token is spent even if the caller loses the answer.
    if !lock(&sandbox.refresh_ledger).redeem(&presented) {
        return Err(OAuthError::invalid_grant(
            70000,
            "Provided grant is invalid or malformed: the refresh token has already been redeemed.",
        ));
    }
    let access_token = sandbox.tokens.mint_user_token(user_tenant, user_name, mfa);
    let refresh_token = sandbox
        .tokens
        .mint_refresh_token(user_tenant, user_name, client_id, mfa);
    Ok(token_response(
        access_token,
        Some(refresh_token),
        &user_scope(),
    ))
}

/// What Entra answers an App+User grant for Partner Center was granted.
pub(super) fn user_scope() -> String {
    format!("{}/{USER_SCOPE}", demo::PARTNER_CENTER_RESOURCE)
}

/// Only the demo app is registered, in the partner tenant.
pub(super) fn check_client(client_id: &str, client_secret: Option<&str>) -> Result<(), OAuthError> {
    if client_id != demo::CLIENT_ID {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'.",
                demo::PARTNER_TENANT_ID
            ),
        ));
    }
    match client_secret {
        Some(secret) if secret != demo::CLIENT_SECRET => Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided.".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// The only directory the sandbox knows is the partner's own.
pub(super) fn home_tenant(tenant: &str) -> Result<&'static str, OAuthError> {
    if tenant.eq_ignore_ascii_case(demo::PARTNER_TENANT_ID) {
        Ok(demo::PARTNER_TENANT_ID)
    } else {
        Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!("Tenant '{tenant}' not found."),
        ))
    }
}

pub(super) fn invalid_scope(scope: &str) -> OAuthError {
    OAuthError::new(
        StatusCode::BAD_REQUEST,
        "invalid_scope",
        70011,
        format!("The provided value for the input parameter 'scope' is not valid: '{scope}'."),
    )
}

pub(super) fn token_response(
    access_token: String,
    refresh_token: Option<String>,
    scope: &str,
) -> Value {
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
        "ext_expires_in": ACCESS_TOKEN_LIFETIME_SECS,
        "access_token": access_token,
    });
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = Value::String(refresh_token);
    }
    body
}

pub(super) async fn jwks() -> Json<Value> {
    Json(json!({
        "keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": KEY_ID,
            "n": SIGNING_KEY_N.trim(),
            "e": SIGNING_KEY_E,
        }]
    }))
}

pub(super) async fn openid_configuration(
    State(sandbox): State<Arc<Sandbox>>,
    Path(tenant): Path<String>,
) -> Json<Value> {
    let base = sandbox.tokens.base_url();
    Json(json!({
        "issuer": sandbox.tokens.issuer(&tenant),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

pub(super) const USER_NAME_RULE: &str =
    "A user name is 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit.";

/// A made-up user's name, as the try-it-out route and the sign-in page take one.
pub(super) fn is_user_name(name: &str) -> bool {
    // Starting with a letter or digit keeps `.` and `..` out: a client would resolve them as path segments.
    name.len() <= 64
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A sandbox maker's access token, shaped like the start of Entra's token response.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct UserToken {
    /// The access token: paste it into Swagger UI's `bearer` scheme, or send it as `Authorization: Bearer`.
    access_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds until the token expires.
    expires_in: u64,
}

/// An OAuth error, as Entra words one.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct TokenError {
    /// `invalid_request`.
    error: String,
    /// What was wrong.
    error_description: String,
}

/// `POST /sandbox/users/{name}/token`: a token for a made-up maker of the partner tenant, as Entra would issue
/// after that maker signed in. Lets anyone try bearer pass-through, and tests mint tokens for many users.
#[utoipa::path(
    post,
    path = "/sandbox/users/{name}/token",
    tag = "Sandbox",
    operation_id = "GetSandboxUserToken",
    summary = "Get a sandbox maker's token",
    description = "Sandbox profile only. Returns an access token signed by the sandbox's issuer for a made-up maker of the partner tenant, as Entra ID would after that maker signed in. Paste it into the bearer scheme (Authorize) to try the operations on the maker's own token; each name is its own connection with its own quota.",
    params(("name" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description = "Any name: letters, digits, '.', '_' or '-', starting with a letter or digit.")),
    security(()),
    responses(
        (status = 200, description = "A token for that maker.", body = inline(UserToken)),
        (status = 400, description = "The name is not valid.", body = inline(TokenError)),
    ),
)]
pub(super) async fn user_token(
    State(sandbox): State<Arc<Sandbox>>,
    Path(name): Path<String>,
) -> Response {
    if !is_user_name(&name) {
        let body = json!({
            "error": "invalid_request",
            "error_description": USER_NAME_RULE,
        });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    Json(json!({
        // A demo maker has signed in as Partner Center requires, with MFA.
        "access_token": sandbox.tokens.mint_user_token(demo::PARTNER_TENANT_ID, &name, true),
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
    }))
    .into_response()
}
