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
