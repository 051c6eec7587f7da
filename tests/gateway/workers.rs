//! `server.workers`: the threads connections are served on.

use crate::common::{sandbox_profile, spawn_toml, with_server_keys};
use partner_center_gateway::config::Settings;

const CUSTOMER: &str = "/v1/customers/c501c3c4-d776-40ef-9ecf-9cefb59442c1";

/// One worker serves many connections at once, each with calls that wait on Partner Center (the sandbox) and on
/// a connection's token, without one connection's call holding up another's.
#[tokio::test]
async fn one_worker_serves_many_connections_at_once() {
    let state = tempfile::tempdir().unwrap();
    let toml = with_server_keys(
        &sandbox_profile(&state.path().join("contoso.refresh-token")),
        "workers = 1",
    );
    let app = spawn_toml(&toml).await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..16 {
        // A client of its own each: its own connection to the gateway.
        let client = reqwest::Client::new();
        let url = format!("{}{CUSTOMER}", app.address);
        calls.spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..3 {
                let response = client
                    .get(&url)
                    .header("X-API-Key", "demo-key-contoso")
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        });
    }
    let statuses: Vec<u16> = calls.join_all().await.into_iter().flatten().collect();
    assert_eq!(statuses, vec![200; 48]);
}

#[test]
fn zero_workers_is_refused_at_load_naming_the_key() {
    let state = tempfile::tempdir().unwrap();
    let toml = with_server_keys(
        &sandbox_profile(&state.path().join("contoso.refresh-token")),
        "workers = 0",
    );
    let error = Settings::from_toml(&toml).unwrap_err().to_string();
    assert!(
        error.contains("workers") && error.contains("nonzero"),
        "{error}"
    );
}
