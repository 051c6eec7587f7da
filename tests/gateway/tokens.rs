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
/// fetches a new one instead of failing until the old one's renewal time.
#[tokio::test]
async fn a_token_partner_center_refuses_is_replaced_on_the_next_call() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let server = mock_with_tokens("at-1").await;
    let customer = format!("/v1/customers/{SEED_CUSTOMER}");
    Mock::given(method("GET"))
        .and(path(customer.as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            r#"{"code":401,"description":"Unauthorized"}"#,
            "application/json",
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(customer.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"id":"x"}"#, "application/json"))
        .mount(&server)
        .await;
    let (app, _state) = gateway_on(&server.uri(), &server.uri(), "").await;
    let token_requests = || async {
        server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count()
    };

    assert_eq!(app.get("app-key", &customer).await.status(), 401);
    assert_eq!(app.get("app-key", &customer).await.status(), 200);
    assert_eq!(token_requests().await, 2, "the refused token was replaced");
    assert_eq!(app.get("app-key", &customer).await.status(), 200);
    assert_eq!(token_requests().await, 2, "and the new one is cached");
}
