//! The device authorization grant (RFC 8628) as Entra ID runs it: a client asks `/devicecode` for a code, shows
//! the user its `user_code` and `verification_uri`, and polls the token endpoint with the `device_code` until the
//! user has signed in.
//!
//! Entra's sign-in page is a person typing a password and answering an MFA prompt; the sandbox's stands in for
//! it with `/devicelogin`: a page with a form for a person, and the same form posted by a test, that approves a
//! code as a named user with or without multifactor authentication, or declines it. The tokens of an approved
//! code carry the `amr` of that sign-in (see `tokens`).
//!
//! The answers are Entra's (learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code): `device_code`,
//! `user_code`, `verification_uri`, `expires_in`, `interval`, `message`; while polling, `authorization_pending`
//! (AADSTS70016), `authorization_declined`, `bad_verification_code` (AADSTS70018) and `expired_token`
//! (AADSTS70019). `slow_down`, which Entra does not document, is RFC 8628's: a poll sooner than `interval`
//! after the one before is answered `slow_down`, and that code's interval grows by 5 seconds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};

use super::tokens::{
    self, Form, OAuthError, SEED_USER, check_client, home_tenant, invalid_scope, required,
    token_response,
};
use super::{Sandbox, demo, lock};

pub(super) const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.5: each `slow_down` adds this to the interval a client must keep.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// An expired code is remembered this long, so that its poll is answered `expired_token` rather than an
/// unknown code; then it is forgotten, so the table does not grow with every sign-in ever started.
const FORGET_AFTER_EXPIRY: Duration = Duration::from_secs(600);
/// Entra's user codes are 8 or 9 capitals and digits; these leave out the ones read as others (0/O, 1/I).
const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const USER_CODE_LENGTH: usize = 9;

/// The codes handed out, by `device_code`.
#[derive(Debug, Default)]
pub(super) struct DeviceCodes {
    by_device_code: HashMap<String, Grant>,
}

#[derive(Debug)]
struct Grant {
    user_code: String,
    client_id: String,
    /// As the client named it in the path (a tenant, `organizations` or `common`): its polls must name the same.
    tenant: String,
    /// Without `offline_access` in the scope, Entra issues no refresh token.
    offline_access: bool,
    expires_at: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
    state: GrantState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum GrantState {
    Pending,
    Approved {
        user: String,
        mfa: bool,
    },
    Declined,
    /// Tokens were issued: a code signs in once.
    Redeemed,
}

impl DeviceCodes {
    fn forget_stale(&mut self, now: Instant) {
        self.by_device_code
            .retain(|_, grant| now < grant.expires_at + FORGET_AFTER_EXPIRY);
    }

    fn by_user_code(&mut self, user_code: &str) -> Option<&mut Grant> {
        let wanted = user_code.trim();
        self.by_device_code
            .values_mut()
            .find(|grant| grant.user_code.eq_ignore_ascii_case(wanted))
    }
}

fn is_alias(tenant: &str) -> bool {
    tenant.eq_ignore_ascii_case("organizations") || tenant.eq_ignore_ascii_case("common")
}

fn user_code() -> String {
    let random = uuid::Uuid::new_v4();
    random.as_bytes()[..USER_CODE_LENGTH]
        .iter()
        .map(|b| char::from(USER_CODE_ALPHABET[usize::from(*b) % USER_CODE_ALPHABET.len()]))
        .collect()
}

fn device_code() -> String {
    format!(
        "DAQABIQEAAAB{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`: `client_id` and `scope`, form-encoded.
pub(super) async fn authorize(
    State(sandbox): State<Arc<Sandbox>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form: Form = form_urlencoded::parse(&body).into_owned().collect();
    match start(&sandbox, &tenant, &form) {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

fn start(sandbox: &Sandbox, tenant: &str, form: &Form) -> Result<Value, OAuthError> {
    let client_id = required(form, "client_id")?;
    let scope = required(form, "scope")?;
    // A public client asks for a code with its ID alone; a secret, if it has one, goes with its polls.
    check_client(client_id, None)?;
    if !is_alias(tenant) {
        home_tenant(tenant)?;
    }
    let resource_prefix = format!("{}/", demo::PARTNER_CENTER_RESOURCE);
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    if !scopes.iter().any(|s| s.starts_with(&resource_prefix)) {
        return Err(invalid_scope(scope));
    }
    let options = &sandbox.device_code_options;
    let now = Instant::now();
    let (device_code, user_code) = (device_code(), user_code());
    let verification_uri = format!("{}/devicelogin", sandbox.tokens.base_url());
    let mut codes = lock(&sandbox.device_codes);
    codes.forget_stale(now);
    codes.by_device_code.insert(
        device_code.clone(),
        Grant {
            user_code: user_code.clone(),
            client_id: client_id.to_owned(),
            tenant: tenant.to_owned(),
            offline_access: scopes.contains(&"offline_access"),
            expires_at: now + Duration::from_secs(options.expires_in_secs),
            interval: Duration::from_secs(options.interval_secs),
            last_poll: None,
            state: GrantState::Pending,
        },
    );
    Ok(json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": options.expires_in_secs,
        "interval": options.interval_secs,
        "message": format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."
        ),
    }))
}

/// The token endpoint's `urn:ietf:params:oauth:grant-type:device_code` grant: one poll.
pub(super) fn redeem(sandbox: &Sandbox, tenant: &str, form: &Form) -> Result<Value, OAuthError> {
    let client_id = required(form, "client_id")?;
    let presented = required(form, "device_code")?;
    check_client(client_id, form.get("client_secret").map(String::as_str))?;
    let now = Instant::now();
    let mut codes = lock(&sandbox.device_codes);
    let Some(grant) = codes.by_device_code.get_mut(presented) else {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "bad_verification_code",
            70018,
            "The device code is not recognized.".to_owned(),
        ));
    };
    if grant.client_id != client_id || !grant.tenant.eq_ignore_ascii_case(tenant) {
        return Err(OAuthError::invalid_grant(
            70000,
            "Provided grant is invalid or malformed: the device code was issued to another client or tenant.",
        ));
    }
    if grant.state == GrantState::Redeemed {
        return Err(OAuthError::invalid_grant(
            70000,
            "Provided grant is invalid or malformed: the device code has already been redeemed.",
        ));
    }
    if now >= grant.expires_at {
        return Err(expired());
    }
    let too_soon = grant
        .last_poll
        .is_some_and(|last| now < last + grant.interval);
    grant.last_poll = Some(now);
    if too_soon {
        grant.interval += SLOW_DOWN_STEP;
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "slow_down",
            70016,
            format!(
                "Polling too fast: wait {} seconds between requests.",
                grant.interval.as_secs()
            ),
        ));
    }
    let (user, mfa) = match &grant.state {
        GrantState::Pending => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling."
                    .to_owned(),
            ));
        }
        GrantState::Declined => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "authorization_declined",
                65004,
                "The user declined to sign in.".to_owned(),
            ));
        }
        GrantState::Approved { user, mfa } => (user.clone(), *mfa),
        GrantState::Redeemed => unreachable!("answered above"),
    };
    grant.state = GrantState::Redeemed;
    let offline_access = grant.offline_access;
    drop(codes);
    let user_tenant = demo::PARTNER_TENANT_ID;
    let access_token = sandbox.tokens.mint_user_token(user_tenant, &user, mfa);
    let refresh_token = offline_access.then(|| {
        sandbox
            .tokens
            .mint_refresh_token(user_tenant, &user, client_id, mfa)
    });
    Ok(token_response(
        access_token,
        refresh_token,
        &tokens::user_scope(),
    ))
}

fn expired() -> OAuthError {
    OAuthError::new(
        StatusCode::BAD_REQUEST,
        "expired_token",
        70019,
        "Verification code expired. Have the user retry the sign-in.".to_owned(),
    )
}

/// `GET /devicelogin`: where `verification_uri` sends a person. Nothing on it loads from elsewhere.
pub(super) async fn sign_in_page() -> Html<&'static str> {
    Html(SIGN_IN_PAGE)
}

const SIGN_IN_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Partner Center sandbox: sign in a device</title></head>
<body>
<h1>Partner Center sandbox: sign in a device</h1>
<p>Enter the code your device shows. This page stands in for Microsoft's sign-in: it asks for no password, and
signs you in as the user you name, with or without multifactor authentication.</p>
<form method="post" action="/devicelogin">
<p><label>Code <input name="user_code" required autofocus autocomplete="off"></label></p>
<p><label>User <input name="user" value="contoso-admin"></label></p>
<p><label><input type="checkbox" name="mfa" value="true" checked> Complete multifactor authentication</label></p>
<p><button type="submit">Sign in</button> <button type="submit" name="decline" value="true">Decline</button></p>
</form>
</body>
</html>
"#;

/// `POST /devicelogin` (form-encoded): `user_code`; `mfa` (`true` or `false`, default `false`, as an unticked
/// box); `user` (default the seed's user, `contoso-admin`); `decline=true` to refuse instead. The device's next
/// poll gets its tokens, or `authorization_declined`.
pub(super) async fn approve(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let form: Form = form_urlencoded::parse(&body).into_owned().collect();
    match decide(&sandbox, &form) {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

fn decide(sandbox: &Sandbox, form: &Form) -> Result<Value, OAuthError> {
    let flag = |name: &str| match form.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("'{name}' must be true or false, not '{other}'."),
        )),
    };
    let user_code = required(form, "user_code")?;
    let (mfa, decline) = (flag("mfa")?, flag("decline")?);
    let user = form
        .get("user")
        .map(String::as_str)
        .filter(|user| !user.is_empty())
        .unwrap_or(SEED_USER);
    if !tokens::is_user_name(user) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            tokens::USER_NAME_RULE.to_owned(),
        ));
    }
    let mut codes = lock(&sandbox.device_codes);
    let Some(grant) = codes.by_user_code(user_code) else {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "bad_verification_code",
            70018,
            format!("The code '{user_code}' is not one the sandbox handed out."),
        ));
    };
    if Instant::now() >= grant.expires_at {
        return Err(expired());
    }
    if grant.state != GrantState::Pending {
        return Err(OAuthError::invalid_grant(
            70000,
            "This code has already been used to sign in, or declined.",
        ));
    }
    grant.state = match decline {
        true => GrantState::Declined,
        false => GrantState::Approved {
            user: user.to_owned(),
            mfa,
        },
    };
    Ok(json!({
        "user_code": grant.user_code,
        "status": if decline { "declined" } else { "approved" },
        "user": user,
        "amr": if decline { json!(null) } else { json!(tokens::amr(mfa)) },
        "message": "Return to your device: its next poll completes the sign-in.",
    }))
}
