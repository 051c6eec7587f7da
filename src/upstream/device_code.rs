//! Signing a user in on a device that has no browser: the OAuth 2.0 device authorization grant (RFC 8628), as
//! Entra ID runs it (learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code). It is how an
//! administrator gets an App+User connection its first refresh token, from a terminal.
//!
//! `POST {authority}/{tenant}/oauth2/v2.0/devicecode` with the client ID and the scope answers a code for the
//! user to enter at a page, and a device code to poll `{authority}/{tenant}/oauth2/v2.0/token` with
//! (`grant_type=urn:ietf:params:oauth:grant-type:device_code`) until the user has signed in there. The poll is
//! answered `authorization_pending` meanwhile, `slow_down` when too eager (RFC 8628: 5 seconds more between
//! polls from then on), and ends with the tokens, `expired_token`, or a refusal (`authorization_declined` as
//! Entra writes it, `access_denied` as RFC 8628 does).

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::tokens::{TokenFailure, TokenReply, seconds};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.5: what `slow_down` adds to the wait between polls, for that poll and every one after it.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// RFC 8628 §3.2: the wait between polls when the authority names none.
const DEFAULT_INTERVAL_SECS: u64 = 5;

/// Why a device sign-in did not end with tokens.
#[derive(Debug, thiserror::Error)]
pub enum DeviceCodeError {
    #[error("token authority unreachable: {0}")]
    Unreachable(String),
    /// The authority's own error and description (an unknown client, a wrong secret, a bad scope...).
    #[error("token authority refused: {0}")]
    Refused(String),
    #[error("the code expired before anyone signed in with it")]
    Expired,
    #[error("the sign-in was declined")]
    Declined,
    #[error("token authority answered something unusable: {0}")]
    Invalid(String),
}

/// One application of one tenant, at one authority.
pub struct DeviceCodeClient {
    http: reqwest::Client,
    /// `{authority}/{tenant}/oauth2/v2.0`.
    endpoint: String,
    client_id: String,
    /// Sent with each poll when the application is a confidential client; a public client has none.
    client_secret: Option<SecretString>,
}

/// What the user is asked to do, and what the device polls with.
pub struct DeviceAuthorization {
    /// The code the user types at `verification_uri`.
    pub user_code: String,
    pub verification_uri: String,
    /// How long the code stays valid.
    pub expires_in: Duration,
    interval: Duration,
    device_code: SecretString,
}

/// The tokens of a completed sign-in.
pub struct SignedIn {
    pub access_token: SecretString,
    /// Only when the scope asked for `offline_access`.
    pub refresh_token: Option<SecretString>,
}

#[derive(Deserialize)]
struct AuthorizationReply {
    device_code: SecretString,
    user_code: String,
    verification_uri: String,
    #[serde(deserialize_with = "seconds")]
    expires_in: u64,
    #[serde(default, deserialize_with = "optional_seconds")]
    interval: Option<u64>,
}

enum Poll {
    Done(TokenReply),
    Pending,
    SlowDown,
}

impl DeviceCodeClient {
    /// `authority` with no trailing slash.
    pub fn new(
        http: reqwest::Client,
        authority: &str,
        tenant: &str,
        client_id: &str,
        client_secret: Option<SecretString>,
    ) -> Self {
        Self {
            http,
            endpoint: format!("{authority}/{tenant}/oauth2/v2.0"),
            client_id: client_id.to_owned(),
            client_secret,
        }
    }

    /// Asks for a code for `scope` (space-separated; `offline_access` among them for a refresh token).
    pub async fn start(&self, scope: &str) -> Result<DeviceAuthorization, DeviceCodeError> {
        let form = [("client_id", self.client_id.as_str()), ("scope", scope)];
        let (status, body) = self.post("devicecode", &form).await?;
        if !status.is_success() {
            return Err(refusal(status, &body));
        }
        let reply: AuthorizationReply = serde_json::from_slice(&body)
            .map_err(|e| DeviceCodeError::Invalid(format!("{status}: {e}")))?;
        Ok(DeviceAuthorization {
            user_code: reply.user_code,
            verification_uri: reply.verification_uri,
            expires_in: Duration::from_secs(reply.expires_in),
            interval: Duration::from_secs(reply.interval.unwrap_or(DEFAULT_INTERVAL_SECS)),
            device_code: reply.device_code,
        })
    }

    /// Polls until the user has signed in, declined, or let the code expire.
    pub async fn wait(
        &self,
        authorization: &DeviceAuthorization,
    ) -> Result<SignedIn, DeviceCodeError> {
        let deadline = Instant::now() + authorization.expires_in;
        let mut interval = authorization.interval;
        loop {
            // The protocol's own pacing: the authority asks for this much time between polls.
            tokio::time::sleep(interval).await;
            match self.poll(&authorization.device_code).await? {
                Poll::Done(reply) => {
                    return Ok(SignedIn {
                        access_token: reply.access_token,
                        refresh_token: reply.refresh_token,
                    });
                }
                Poll::Pending => {}
                Poll::SlowDown => interval += SLOW_DOWN_STEP,
            }
            // The authority answers `expired_token` itself; this bounds the wait should it never do so.
            if Instant::now() >= deadline {
                return Err(DeviceCodeError::Expired);
            }
        }
    }

    async fn poll(&self, device_code: &SecretString) -> Result<Poll, DeviceCodeError> {
        let mut form = vec![
            ("grant_type", GRANT_TYPE),
            ("client_id", self.client_id.as_str()),
            ("device_code", device_code.expose_secret()),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose_secret()));
        }
        let (status, body) = self.post("token", &form).await?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map(Poll::Done)
                .map_err(|e| DeviceCodeError::Invalid(format!("{status}: {e}")));
        }
        match serde_json::from_slice::<TokenFailure>(&body) {
            Ok(failure) if status.is_client_error() => match failure.error.as_str() {
                "authorization_pending" => Ok(Poll::Pending),
                "slow_down" => Ok(Poll::SlowDown),
                "expired_token" => Err(DeviceCodeError::Expired),
                "authorization_declined" | "access_denied" => Err(DeviceCodeError::Declined),
                _ => Err(refusal(status, &body)),
            },
            _ => Err(refusal(status, &body)),
        }
    }

    async fn post(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Result<(reqwest::StatusCode, bytes::Bytes), DeviceCodeError> {
        let unreachable = |e: reqwest::Error| DeviceCodeError::Unreachable(e.to_string());
        let response = self
            .http
            .post(format!("{}/{endpoint}", self.endpoint))
            .form(form)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        Ok((status, response.bytes().await.map_err(unreachable)?))
    }
}

/// Entra's error and its description name the problem (an unknown application, a wrong secret) but never the
/// secret.
fn refusal(status: reqwest::StatusCode, body: &[u8]) -> DeviceCodeError {
    match serde_json::from_slice::<TokenFailure>(body) {
        Ok(f) if status.is_client_error() => {
            DeviceCodeError::Refused(format!("{status} {}: {}", f.error, f.error_description))
        }
        _ => DeviceCodeError::Invalid(status.to_string()),
    }
}

fn optional_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    seconds(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const TENANT: &str = "contoso.onmicrosoft.com";

    fn oauth_error(error: &str) -> ResponseTemplate {
        ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": error,
            "error_description": format!("AADSTS0: {error}"),
        }))
    }

    /// An authority whose `/devicecode` answers `interval` and whose token endpoint answers `first` once, then
    /// `then`.
    async fn authority(
        interval: u64,
        first: ResponseTemplate,
        then: ResponseTemplate,
    ) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/{TENANT}/oauth2/v2.0/devicecode")))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "device_code": "the-device-code",
                "user_code": "ABCD1234",
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 900,
                "interval": interval,
                "message": "To sign in, ...",
            })))
            .mount(&server)
            .await;
        let token = format!("/{TENANT}/oauth2/v2.0/token");
        Mock::given(method("POST"))
            .and(path(token.as_str()))
            .respond_with(first)
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(token.as_str()))
            .and(body_string_contains("device_code=the-device-code"))
            .respond_with(then)
            .mount(&server)
            .await;
        server
    }

    async fn sign_in(server: &MockServer) -> Result<SignedIn, DeviceCodeError> {
        let client = DeviceCodeClient::new(
            reqwest::Client::new(),
            &server.uri(),
            TENANT,
            "the-client",
            Some(SecretString::from("the-secret")),
        );
        let authorization = client.start("scope offline_access").await?;
        assert_eq!(authorization.user_code, "ABCD1234");
        client.wait(&authorization).await
    }

    fn tokens() -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "at", "refresh_token": "rt",
        }))
    }

    #[tokio::test]
    async fn slow_down_adds_five_seconds_between_polls() {
        let server = authority(0, oauth_error("slow_down"), tokens()).await;
        let started = Instant::now();
        let signed_in = sign_in(&server).await.unwrap();
        assert_eq!(signed_in.refresh_token.unwrap().expose_secret(), "rt");
        assert!(
            started.elapsed() >= SLOW_DOWN_STEP,
            "{:?}",
            started.elapsed()
        );
        let polls = server.received_requests().await.unwrap();
        let polls: Vec<_> = polls
            .iter()
            .filter(|r| r.url.path().ends_with("/token"))
            .collect();
        assert_eq!(polls.len(), 2);
        let form = String::from_utf8_lossy(&polls[0].body);
        assert!(
            form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code")
                && form.contains("client_id=the-client")
                && form.contains("client_secret=the-secret"),
            "{form}"
        );
    }

    #[tokio::test]
    async fn each_way_a_sign_in_ends_is_told_apart() {
        let pending_then = |answer| authority(0, oauth_error("authorization_pending"), answer);
        assert!(sign_in(&pending_then(tokens()).await).await.is_ok());
        for (answer, expected) in [
            (
                "expired_token",
                "the code expired before anyone signed in with it",
            ),
            ("authorization_declined", "the sign-in was declined"),
            ("access_denied", "the sign-in was declined"),
            (
                "bad_verification_code",
                "token authority refused: 400 Bad Request bad_verification_code: AADSTS0: bad_verification_code",
            ),
        ] {
            let error = sign_in(&pending_then(oauth_error(answer)).await)
                .await
                .err()
                .unwrap();
            assert_eq!(error.to_string(), expected);
        }
        let unavailable = pending_then(ResponseTemplate::new(503)).await;
        assert_eq!(
            sign_in(&unavailable).await.err().unwrap().to_string(),
            "token authority answered something unusable: 503 Service Unavailable"
        );
    }
}
