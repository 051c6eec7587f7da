//! HTTPS served directly (`server.tls`): Power Platform reaches custom connectors over HTTPS only.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use partner_center_gateway::config::Settings;

/// The sandbox profile, serving HTTPS with `cert_file` and `key_file`.
fn tls_profile(state: &Path, cert_file: &Path, key_file: &Path) -> String {
    with_server_keys(
        &sandbox_profile(&state.join("contoso.refresh-token")),
        &format!(
            "tls = {{ cert_file = '{}', key_file = '{}' }}",
            cert_file.display(),
            key_file.display()
        ),
    )
}

#[tokio::test]
async fn operations_are_served_over_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file, cert_pem) = self_signed_certificate(dir.path());
    let app = spawn_toml_https(&tls_profile(dir.path(), &cert_file, &key_file), &cert_pem).await;
    assert!(
        app.address.starts_with("https://127.0.0.1:"),
        "{}",
        app.address
    );

    let response = app
        .get(CONTOSO_KEY, &format!("/v1/customers/{SEED_CUSTOMER}"))
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["id"], SEED_CUSTOMER);
    app.stop().await;
}

/// With no `public_base_url`, links are built from the request; over TLS they must say https, or a flow that
/// follows one talks plain HTTP to a port that answers only TLS.
#[tokio::test]
async fn links_and_the_connector_definition_say_https_when_the_gateway_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file, cert_pem) = self_signed_certificate(dir.path());
    let app = spawn_toml_https(&tls_profile(dir.path(), &cert_file, &key_file), &cert_pem).await;

    let first = json(app.get(CONTOSO_KEY, "/v1/customers?Size=2").await).await;
    let next = first["nextLink"].as_str().expect("more pages");
    assert!(next.starts_with(&app.url("/v1/customers?")), "{next}");
    let second = app
        .client
        .get(next)
        .header("X-API-Key", CONTOSO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);
    assert_eq!(json(second).await["items"].as_array().unwrap().len(), 2);

    let definition = app
        .client
        .get(app.url("/openapi/connector/apiDefinition.swagger.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(definition).await["schemes"],
        serde_json::json!(["https"])
    );
    app.stop().await;
}

#[tokio::test]
async fn plain_http_to_the_https_port_gets_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file, cert_pem) = self_signed_certificate(dir.path());
    let app = spawn_toml_https(&tls_profile(dir.path(), &cert_file, &key_file), &cert_pem).await;
    let plain = app.url("/healthz").replacen("https://", "http://", 1);
    // The timeout only keeps a regression from hanging the suite; the refusal itself is immediate.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let outcome = client.get(&plain).send().await;

    let error = outcome.expect_err("a plain-HTTP request must not be answered");
    assert!(!error.is_timeout(), "refused, not left hanging: {error}");
    // The port still serves HTTPS afterwards.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[test]
fn a_bad_certificate_or_key_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file, _) = self_signed_certificate(dir.path());
    let other = tempfile::tempdir().unwrap();
    let (_, other_key, _) = self_signed_certificate(other.path());
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a PEM file\n").unwrap();
    let missing = dir.path().join("missing.pem");

    for (cert, key, named) in [
        (&missing, &key_file, "server.tls.cert_file"),
        (&garbage, &key_file, "server.tls.cert_file"),
        (&cert_file, &missing, "server.tls.key_file"),
        // A certificate where the key should be: no private key in it.
        (&cert_file, &cert_file, "server.tls.key_file"),
        // A key that is not the certificate's.
        (&cert_file, &other_key, "server.tls.key_file"),
    ] {
        let error = Settings::from_toml(&tls_profile(dir.path(), cert, key))
            .expect_err("a bad certificate or key must stop start-up")
            .to_string();
        assert!(error.contains(named), "{named}: {error}");
    }
}

#[test]
fn the_binary_refuses_to_start_with_an_unreadable_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key_file, _) = self_signed_certificate(dir.path());
    let config = dir.path().join("gateway.toml");
    let toml = tls_profile(dir.path(), &dir.path().join("missing.pem"), &key_file);
    std::fs::write(&config, toml).unwrap();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_partner-center-gateway"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();

    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("server.tls.cert_file") && stderr.contains("missing.pem"),
        "{stderr}"
    );
}
