//! Black-box harness: the real server on port 0, against the embedded sandbox (or a standalone one, or
//! wiremock), called over HTTP like any client would.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use partner_center_gateway::clock::Clock;
use partner_center_gateway::config::Settings;
use partner_center_gateway::sandbox::{self, SandboxHandle, SandboxOptions};
use partner_center_gateway::startup::Application;
use tokio::sync::oneshot;

pub const CONTOSO_KEY: &str = "demo-key-contoso";
pub const FABRIKAM_KEY: &str = "demo-key-fabrikam";
pub const SEED_CUSTOMER: &str = "c501c3c4-d776-40ef-9ecf-9cefb59442c1";
pub const UNKNOWN_CUSTOMER: &str = "00000000-1111-4222-8333-444444444444";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The embedded sandbox, in the sandbox profile.
    pub sandbox: Option<Arc<SandboxHandle>>,
    /// `http://` and the address of `/metrics`'s own listener, when `metrics.listen` gives it one.
    pub metrics_address: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _state: Option<tempfile::TempDir>,
}

/// The shipped sandbox profile, on port 0, with its rolling refresh token in a fresh directory.
pub async fn spawn_app() -> TestApp {
    spawn_sandbox_profile("").await
}

/// The sandbox profile with `extra` TOML appended (tables the profile does not already have).
pub async fn spawn_sandbox_profile(extra: &str) -> TestApp {
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("contoso.refresh-token")) + extra;
    let mut app = spawn_toml(&toml).await;
    app._state = Some(state);
    app
}

pub fn sandbox_profile(refresh_token_file: &Path) -> String {
    std::fs::read_to_string("config/default.toml")
        .unwrap()
        .replace("127.0.0.1:8080", "127.0.0.1:0")
        .replace(
            "var/contoso-demo.refresh-token",
            refresh_token_file.to_str().unwrap(),
        )
}

pub async fn spawn_toml(toml: &str) -> TestApp {
    spawn_toml_with_clock(toml, Clock::real()).await
}

/// The gateway on `clock` (quotas, JWKS refetch window, breaker cooldowns), so a test can move time instead of
/// waiting for it.
pub async fn spawn_toml_with_clock(toml: &str, clock: Clock) -> TestApp {
    spawn_settings_with_clock(
        Settings::from_toml(toml).expect("test configuration is valid"),
        clock,
    )
    .await
}

/// The gateway on the configuration file at `path`, which a reload reads again.
pub async fn spawn_file_with_clock(path: &Path, clock: Clock) -> TestApp {
    spawn_settings_with_clock(
        Settings::load(Some(path)).expect("test configuration is valid"),
        clock,
    )
    .await
}

async fn spawn_settings_with_clock(settings: Settings, clock: Clock) -> TestApp {
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("application builds");
    let address = format!("http://{}", app.local_addr());
    let sandbox = app.sandbox();
    let metrics_address = app.metrics_addr().map(|a| format!("http://{a}"));
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = rx.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
        sandbox,
        metrics_address,
        shutdown: Some(tx),
        server: Some(server),
        _state: None,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, key: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("X-API-Key", key)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_url(&self, key: &str, url: &str) -> reqwest::Response {
        self.client
            .get(url)
            .header("X-API-Key", key)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(
        &self,
        key: &str,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("X-API-Key", key)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub fn sandbox(&self) -> &SandboxHandle {
        self.sandbox
            .as_deref()
            .expect("this app runs the embedded sandbox")
    }

    /// Stops accepting, waits for in-flight calls, and returns once the server has exited.
    pub async fn stop(mut self) {
        let _ = self.shutdown.take().unwrap().send(());
        self.server.take().unwrap().await.unwrap().unwrap();
    }
}

/// A sandbox of its own, outliving any one gateway (restarts), or serving only as token authority.
pub async fn standalone_sandbox(options: SandboxOptions) -> SandboxHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sandbox::spawn(listener, options).await.unwrap()
}

pub fn sha256_hex(key: &str) -> String {
    partner_center_gateway::connection::hash_api_key(key)
}

/// The `[triggers]` table a real-upstream profile must have (the key that signs triggers' states).
/// The real profile's triggers: a signing key, and no lag, as the records Partner Center's stand-ins log are
/// there at once.
pub const TRIGGERS: &str =
    "[triggers]\nsigning_key = \"test-trigger-signing-key-0123456789abcdef\"\nlag_secs = 0";

/// A real-upstream profile (no demo keys) with one app-only and one App+User connection, keys "app-key" and
/// "user-key", talking to `upstream` for Partner Center and `authority` for tokens.
pub fn real_profile(
    upstream: &str,
    authority: &str,
    refresh_token_file: &Path,
    extra_upstream: &str,
) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"

[upstream]
base_url = "{upstream}"
{extra_upstream}

[auth]
authority = "{authority}"

{TRIGGERS}

[[connections]]
id = "app-conn"
api_key_sha256 = "{app}"
[connections.credentials]
kind = "app_only"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret_file = "config/sandbox/demo-client-secret"

[[connections]]
id = "user-conn"
api_key_sha256 = "{user}"
[connections.credentials]
kind = "app_user"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret_file = "config/sandbox/demo-client-secret"
refresh_token_file = "{rt}"
refresh_token_seed = "{seed}"
"#,
        app = sha256_hex("app-key"),
        user = sha256_hex("user-key"),
        tenant = sandbox::demo::PARTNER_TENANT_ID,
        client = sandbox::demo::CLIENT_ID,
        rt = refresh_token_file.display(),
        seed = sandbox::demo::CONTOSO_REFRESH_TOKEN_SEED,
    )
}

/// `toml` (a profile listening on port 0) with `keys` added to its `[server]` table.
pub fn with_server_keys(toml: &str, keys: &str) -> String {
    const LISTEN: &str = "listen = \"127.0.0.1:0\"";
    assert!(toml.contains(LISTEN), "the profile listens on port 0");
    toml.replacen(LISTEN, &format!("{LISTEN}\n{keys}"), 1)
}

pub fn temp_file(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

pub fn free_port_addr() -> SocketAddr {
    // Bind and drop: nothing listens there afterwards, so connecting is refused at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

pub async fn json(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Signs `claims` with the sandbox's own key (it is in the repository: the sandbox is a demo), so tests can
/// make tokens the sandbox never would: expired, for another audience, from another issuer.
pub fn sign_with_sandbox_key(claims: &serde_json::Value, kid: &str) -> String {
    let pem = std::fs::read("sandbox/src/sandbox-signing-key.pem").unwrap();
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims like the sandbox's for a user token, valid for an hour, of a user who signed in with MFA (which
/// Partner Center, and so the sandbox, demands of every App+User call).
pub fn user_claims(issuer_base: &str, oid: &str) -> serde_json::Value {
    let now = unix_now();
    let tid = partner_center_gateway::sandbox::demo::PARTNER_TENANT_ID;
    serde_json::json!({
        "aud": "https://api.partnercenter.microsoft.com",
        "iss": format!("{issuer_base}/{tid}/v2.0"),
        "iat": now, "nbf": now, "exp": now + 3600,
        "tid": tid, "oid": oid, "idtyp": "user", "scp": "user_impersonation", "amr": ["pwd", "mfa"],
    })
}

impl TestApp {
    pub async fn get_bearer(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// A token for a demo maker, from the sandbox profile's try-it-out route.
    pub async fn user_token(&self, name: &str) -> String {
        let response = self
            .client
            .post(self.url(&format!("/sandbox/users/{name}/token")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        json(response).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM into `dir`: (cert_file, key_file,
/// the certificate's PEM for a client to trust).
pub fn self_signed_certificate(dir: &Path) -> (PathBuf, PathBuf, String) {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert_pem = generated.cert.pem();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, &cert_pem).unwrap();
    std::fs::write(&key_file, generated.signing_key.serialize_pem()).unwrap();
    (cert_file, key_file, cert_pem)
}

/// `toml` served over HTTPS, with a client that trusts `ca_pem` and nothing else.
pub async fn spawn_toml_https(toml: &str, ca_pem: &str) -> TestApp {
    let mut app = spawn_toml(toml).await;
    app.address = app.address.replacen("http://", "https://", 1);
    app.client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    app
}

/// What a scripted raw-TCP "Partner Center" does with each request it reads.
#[derive(Clone, Copy)]
pub enum RawFault {
    /// Sends the status line and headers, then nothing: the body never comes.
    SlowBody,
    /// Promises 100 bytes, sends 10, closes.
    TruncatedBody,
    /// Closes the connection without a word.
    Reset,
}

/// A peer that misbehaves as HTTP/1.1 cannot be made to by a well-behaved mock. Returns its base URL and a
/// counter of requests it has read.
pub async fn raw_fault_server(fault: RawFault) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                // One request per connection: read until the end of its headers.
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
                match fault {
                    RawFault::SlowBody => {
                        let _ = stream.write_all(head.as_bytes()).await;
                        std::future::pending::<()>().await;
                    }
                    RawFault::TruncatedBody => {
                        let _ = stream
                            .write_all(format!("{head}{{\"id\":\"x").as_bytes())
                            .await;
                    }
                    RawFault::Reset => {}
                }
            });
        }
    });
    (url, requests)
}

/// A wiremock that issues tokens (an access token, and a rolled refresh token for App+User connections), so the
/// gateway can get as far as calling Partner Center on it or on another server.
pub async fn mock_with_tokens(access_token: &str) -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path(format!("/{}/oauth2/v2.0/token", partner_center_gateway::sandbox::demo::PARTNER_TENANT_ID)))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": access_token, "refresh_token": "rolled"
        })))
        .mount(&server)
        .await;
    server
}

/// The gateway in a real-upstream profile (`real_profile`) with its state in a directory of its own.
pub async fn gateway_on(
    upstream: &str,
    authority: &str,
    extra_upstream: &str,
) -> (TestApp, tempfile::TempDir) {
    let state = tempfile::tempdir().unwrap();
    let rt = temp_file(&state, "rt");
    (
        spawn_toml(&real_profile(upstream, authority, &rt, extra_upstream)).await,
        state,
    )
}

/// An app-only access token from `sandbox`'s token endpoint, for the demo partner's application: what a test
/// needs to call the sandbox directly and compare with what the gateway answered.
pub async fn sandbox_app_token(sandbox: &SandboxHandle) -> String {
    use partner_center_gateway::sandbox::demo;
    let response = reqwest::Client::new()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            sandbox.base_url(),
            demo::PARTNER_TENANT_ID
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", demo::CLIENT_SECRET),
            ("scope", "https://api.partnercenter.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    json(response).await["access_token"]
        .as_str()
        .expect("the sandbox issues app-only tokens")
        .to_owned()
}

/// A device-code sign-in at the sandbox, with or without MFA, as `login` makes one: its refresh token. The
/// sandbox must answer at once (`SandboxOptions::device_code_interval(0)` or a sandbox that does by default).
#[allow(dead_code)]
pub async fn device_code_refresh_token(sandbox: &SandboxHandle, mfa: bool) -> String {
    use partner_center_gateway::sandbox::demo;
    let client = reqwest::Client::new();
    let tenant = demo::PARTNER_TENANT_ID;
    let base = sandbox.base_url();
    let started = json(
        client
            .post(format!("{base}/{tenant}/oauth2/v2.0/devicecode"))
            .form(&[
                ("client_id", demo::CLIENT_ID),
                (
                    "scope",
                    "https://api.partnercenter.microsoft.com/.default offline_access",
                ),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let approved = client
        .post(started["verification_uri"].as_str().unwrap())
        .form(&[
            ("user_code", started["user_code"].as_str().unwrap()),
            ("mfa", if mfa { "true" } else { "false" }),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    let tokens = json(
        client
            .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", demo::CLIENT_ID),
                ("device_code", started["device_code"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    tokens["refresh_token"].as_str().unwrap().to_owned()
}
