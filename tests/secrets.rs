//! API keys, client secrets, refresh and access tokens never appear in logs, error bodies or debug output, even
//! at TRACE with every dependency's logging on. One test in its own binary: it owns the process's log output.

mod common;

use std::io::Write;
use std::sync::Mutex;

use common::*;
use partner_center_gateway::config::Settings;
use partner_center_gateway::sandbox::demo;
use wiremock::matchers::{body_string_contains, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const API_KEY: &str = "API-KEY-SECRET-7f3a";
const WRONG_API_KEY: &str = "API-KEY-SECRET-wrong-91c2";
const CLIENT_SECRET: &str = "CLIENT-SECRET-5d1e";
const SEED: &str = "REFRESH-SEED-SECRET-0b44";
const ROLLED: &str = "REFRESH-ROLLED-SECRET-a9e0";
const ACCESS: &str = "ACCESS-TOKEN-SECRET-c3d7";
const BEARER: &str = "BEARER-SECRET-e8f1.not.a-token";

#[tokio::test]
async fn no_secret_reaches_a_log_line_an_error_body_or_debug_output() {
    tracing_subscriber::fmt()
        .with_env_filter("trace,wiremock=off")
        .with_ansi(false)
        .with_writer(|| Capture)
        .try_init()
        .unwrap();

    let server = MockServer::start().await;
    let token_path = format!("/{}/oauth2/v2.0/token", demo::PARTNER_TENANT_ID);
    Mock::given(method("POST"))
        .and(path(token_path.clone()))
        .and(body_string_contains("client_id=refused-app"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS, "refresh_token": ROLLED
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/v1/customers/[0-9a-f-]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"id":"x"}"#, "application/json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("/orders$"))
        .respond_with(
            ResponseTemplate::new(500).set_body_raw(r#"{"code":500}"#, "application/json"),
        )
        .mount(&server)
        .await;

    let state = tempfile::tempdir().unwrap();
    let secret_file = state.path().join("client-secret");
    std::fs::write(&secret_file, CLIENT_SECRET).unwrap();
    let rt = state.path().join("rt");
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
[upstream]
base_url = "{uri}"
retry_base_delay_ms = 1
[auth]
authority = "{uri}"

[[connections]]
id = "app"
api_key_sha256 = "{app}"
[connections.credentials]
kind = "app_only"
tenant_id = "{tenant}"
client_id = "app"
client_secret_file = "{secret}"

[[connections]]
id = "user"
api_key_sha256 = "{user}"
[connections.credentials]
kind = "app_user"
tenant_id = "{tenant}"
client_id = "user-app"
client_secret_file = "{secret}"
refresh_token_file = "{rt}"
refresh_token_seed = "{SEED}"

[[connections]]
id = "refused"
api_key_sha256 = "{refused}"
[connections.credentials]
kind = "app_only"
tenant_id = "{tenant}"
client_id = "refused-app"
client_secret_file = "{secret}"
"#,
        uri = server.uri(),
        app = sha256_hex(API_KEY),
        user = sha256_hex(&format!("{API_KEY}-user")),
        refused = sha256_hex(&format!("{API_KEY}-refused")),
        tenant = demo::PARTNER_TENANT_ID,
        secret = secret_file.display(),
        rt = rt.display(),
    );
    let debug_of_settings = format!("{:?}", Settings::from_toml(&toml).unwrap());
    let app = spawn_toml(&toml).await;
    let customer = format!("/v1/customers/{SEED_CUSTOMER}");

    let mut answers = Vec::new();
    let record = |response: reqwest::Response| {
        let head = format!("{:?}", response.headers());
        async move { format!("{head}\n{}", response.text().await.unwrap()) }
    };
    let user_key = format!("{API_KEY}-user");
    let refused_key = format!("{API_KEY}-refused");
    let calls: Vec<(&str, String, u16)> = vec![
        (API_KEY, customer.clone(), 200),
        (&user_key, customer.clone(), 200),
        (WRONG_API_KEY, customer.clone(), 401),
        (API_KEY, "/v1/customers/not-a-guid".into(), 400),
        (API_KEY, format!("{customer}/orders"), 500),
        (&refused_key, customer.clone(), 502),
    ];
    for (key, path, status) in calls {
        let response = app.get(key, &path).await;
        assert_eq!(response.status(), status, "{path}");
        answers.push(record(response).await);
    }
    let response = app.get_bearer(BEARER, &customer).await;
    assert_eq!(response.status(), 401);
    answers.push(record(response).await);
    app.stop().await;
    assert_eq!(
        std::fs::read_to_string(&rt).unwrap(),
        ROLLED,
        "the scenario did roll the refresh token"
    );

    let logs = String::from_utf8(CAPTURED.lock().unwrap().clone()).unwrap();
    // The capture saw the gateway and its HTTP stack at their most verbose, so its silence means something.
    assert!(
        logs.contains("partner_center_gateway"),
        "no gateway lines captured"
    );
    assert!(logs.contains("TRACE"), "TRACE was not on");
    assert!(
        logs.contains("hyper") && logs.contains("reqwest"),
        "the HTTP stack's own logging was not captured"
    );
    assert!(logs.lines().count() > 100);
    for secret in [
        API_KEY,
        WRONG_API_KEY,
        CLIENT_SECRET,
        SEED,
        ROLLED,
        ACCESS,
        BEARER,
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs");
        for answer in &answers {
            assert!(!answer.contains(secret), "{secret} in an answer: {answer}");
        }
        assert!(
            !debug_of_settings.contains(secret),
            "{secret} in the settings' Debug"
        );
    }
}
