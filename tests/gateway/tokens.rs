//! Tokens: one request per connection however many calls arrive cold, and a rolling refresh token that
//! survives a restart.

use crate::common::*;
use partner_center_gateway::sandbox::SandboxOptions;

#[tokio::test]
async fn many_concurrent_cold_calls_make_one_token_request_per_connection() {
    let app = spawn_app().await;
    let path = format!("/v1/customers/{SEED_CUSTOMER}");
    let calls = (0..40)
        .flat_map(|_| [CONTOSO_KEY, FABRIKAM_KEY])
        .map(|key| {
            let (client, url) = (app.client.clone(), app.url(&path));
            tokio::spawn(async move {
                client
                    .get(url)
                    .header("X-API-Key", key)
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.unwrap(), 200);
    }
    assert_eq!(
        app.sandbox().token_calls(),
        2,
        "one token request for each of the two connections"
    );
    assert_eq!(app.sandbox().api_calls(), 80);
}

#[tokio::test]
async fn a_rolled_refresh_token_survives_a_restart() {
    // The sandbox outlives both gateways and remembers every refresh token it has already taken back.
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let state = tempfile::tempdir().unwrap();
    let rt = temp_file(&state, "user.refresh-token");
    let toml = real_profile(&sandbox.base_url(), &sandbox.base_url(), &rt, "");
    let path = format!("/v1/customers/{SEED_CUSTOMER}");

    let first = spawn_toml(&toml).await;
    let seeded = std::fs::read_to_string(&rt).unwrap();
    assert_eq!(first.get("user-key", &path).await.status(), 200);
    let rolled = std::fs::read_to_string(&rt).unwrap();
    assert_ne!(
        rolled, seeded,
        "the exchange rolled the refresh token and the new one is on disk"
    );
    first.stop().await;

    // Only the rolled token works now: the sandbox refuses the seed a second time.
    let second = spawn_toml(&toml).await;
    assert_eq!(second.get("user-key", &path).await.status(), 200);
    assert_ne!(std::fs::read_to_string(&rt).unwrap(), rolled);
    assert_eq!(sandbox.token_calls(), 2);
}

#[tokio::test]
async fn refused_credentials_are_a_502_that_names_no_secret() {
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let state = tempfile::tempdir().unwrap();
    let rt = temp_file(&state, "user.refresh-token");
    std::fs::write(&rt, "a-refresh-token-the-sandbox-never-issued").unwrap();
    let app = spawn_toml(&real_profile(
        &sandbox.base_url(),
        &sandbox.base_url(),
        &rt,
        "",
    ))
    .await;
    let response = app
        .get("user-key", &format!("/v1/customers/{SEED_CUSTOMER}"))
        .await;
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    assert!(text.contains("ConnectionCredentialsRefused"), "{text}");
    assert!(!text.contains("a-refresh-token-the-sandbox-never-issued"));
    assert_eq!(sandbox.api_calls(), 0);
}

/// The authority voids the old refresh token the moment it answers, so the new one must reach the disk even
/// when the call that started the exchange is gone: here its caller hangs up while the authority is slow.
#[tokio::test]
async fn a_rolled_refresh_token_reaches_disk_even_when_its_caller_hangs_up() {
    use std::time::Duration;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let authority = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/{}/oauth2/v2.0/token",
            partner_center_gateway::sandbox::demo::PARTNER_TENANT_ID
        )))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(800))
                .set_body_json(serde_json::json!({
                    "token_type": "Bearer", "expires_in": 3599,
                    "access_token": "at-1", "refresh_token": "rolled-while-nobody-waited"
                })),
        )
        .mount(&authority)
        .await;
    let state = tempfile::tempdir().unwrap();
    let rt = temp_file(&state, "rt");
    let app = spawn_toml(&real_profile(&authority.uri(), &authority.uri(), &rt, "")).await;

    let gave_up = app
        .client
        .get(app.url(&format!("/v1/customers/{SEED_CUSTOMER}")))
        .header("X-API-Key", "user-key")
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(gave_up.expect_err("the caller hung up").is_timeout());

    // Wait for the outcome itself: the file rolling. The deadline only keeps a regression from hanging.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let on_disk = std::fs::read_to_string(&rt).unwrap_or_default();
        if on_disk.trim() == "rolled-while-nobody-waited" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rolled refresh token never reached disk: {on_disk:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A token Partner Center refuses (401: revoked, consent withdrawn) is dropped, so the connection's next call
/// fetches a new one instead of failing until the old one's renewal time; but a token refused as soon as it was
/// issued is kept, so a connection that lost its access does not fetch a token on every call.
#[tokio::test]
async fn a_token_partner_center_refuses_is_replaced_once_not_on_every_call() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, Request, ResponseTemplate};
    let server = mock_with_tokens("at").await;
    let customer = format!("/v1/customers/{SEED_CUSTOMER}");
    // Partner Center refuses the 2nd call and everything from the 4th on.
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    Mock::given(method("GET"))
        .and(path(customer.as_str()))
        .respond_with(
            move |_: &Request| match seen.fetch_add(1, Ordering::SeqCst) {
                0 | 2 => {
                    ResponseTemplate::new(200).set_body_raw(r#"{"id":"x"}"#, "application/json")
                }
                _ => ResponseTemplate::new(401).set_body_raw(
                    r#"{"code":401,"description":"Unauthorized"}"#,
                    "application/json",
                ),
            },
        )
        .mount(&server)
        .await;
    let state = tempfile::tempdir().unwrap();
    let clock = partner_center_gateway::clock::Clock::manual();
    let toml = real_profile(&server.uri(), &server.uri(), &temp_file(&state, "rt"), "");
    let app = spawn_toml_with_clock(&toml, clock.clone()).await;
    let token_requests = || async {
        server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count()
    };

    assert_eq!(app.get("app-key", &customer).await.status(), 200);
    clock.advance(Duration::from_secs(61));
    assert_eq!(app.get("app-key", &customer).await.status(), 401);
    assert_eq!(app.get("app-key", &customer).await.status(), 200);
    assert_eq!(
        token_requests().await,
        2,
        "the refused minute-old token was replaced"
    );

    for _ in 0..3 {
        assert_eq!(app.get("app-key", &customer).await.status(), 401);
    }
    assert_eq!(
        token_requests().await,
        2,
        "a token refused while new is kept: the refusal is the connection's, not the token's"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 6);
}
