//! Keys and reloads as an administrator meets them: `keys issue` and `keys hash` from the binary, a key added to
//! the file working after SIGHUP or `POST /admin/reload`, rotation with two keys, expiry on the gateway's clock,
//! revocation while a call is in flight, an invalid file refused while the gateway keeps serving, and quota state,
//! cached tokens and changed credentials across a reload.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::*;
use crate::shutdown::Gateway;
use partner_center_gateway::clock::Clock;

const ADMIN_KEY: &str = "admin-key-of-the-tests";

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_partner-center-gateway"))
}

/// `keys issue --connection id`, run as an administrator would: the key it shows, and the lines it says to add.
fn issue(connection: &str) -> (String, String) {
    let out = binary()
        .args(["keys", "issue", "--connection", connection])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("pcgw_"))
        .unwrap_or_else(|| panic!("no key in: {stdout}"))
        .to_owned();
    let lines = &stdout[stdout
        .find("[[connections.api_keys]]")
        .unwrap_or_else(|| panic!("no TOML lines in: {stdout}"))..];
    (key, lines.to_owned())
}

/// A configuration file the test edits between reloads: the sandbox profile with an admin key.
struct ConfigFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
    base: String,
}

impl ConfigFile {
    fn sandbox() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = sandbox_profile(&dir.path().join("contoso.refresh-token"));
        Self::new(dir, base)
    }

    fn new(dir: tempfile::TempDir, profile: String) -> Self {
        let base = format!(
            "{profile}\n[admin]\napi_key_sha256 = \"{}\"\n",
            sha256_hex(ADMIN_KEY)
        );
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, &base).unwrap();
        Self {
            _dir: dir,
            path,
            base,
        }
    }

    fn write(&self, toml: &str) {
        std::fs::write(&self.path, toml).unwrap();
    }

    /// The base file with the fabrikam connection's key line replaced by `lines` (its keys, its quota).
    fn fabrikam(&self, lines: &str) -> String {
        let line = format!("api_key_sha256 = \"{}\"", sha256_hex(FABRIKAM_KEY));
        assert!(self.base.contains(&line));
        self.base.replacen(&line, lines, 1)
    }
}

/// An app-only connection on the sandbox's demo application, with `keys` after its credentials (TOML tables of
/// its own, as `keys issue` prints them).
fn connection(id: &str, keys: &str) -> String {
    format!(
        r#"
[[connections]]
id = "{id}"

[connections.credentials]
kind = "app_only"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret_file = "config/sandbox/demo-client-secret"

{keys}
"#,
        tenant = partner_center_gateway::sandbox::demo::PARTNER_TENANT_ID,
        client = partner_center_gateway::sandbox::demo::CLIENT_ID,
    )
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

impl TestApp {
    /// A deadline, not a wait: a reload that waited for calls in flight would never come back in the test
    /// that holds one at Partner Center.
    async fn reload(&self) -> reqwest::Response {
        let reload = self
            .client
            .post(self.url("/admin/reload"))
            .header("X-API-Key", ADMIN_KEY)
            .send();
        tokio::time::timeout(Duration::from_secs(60), reload)
            .await
            .expect("the reload answers without waiting for calls in flight")
            .unwrap()
    }

    /// Reloads and expects it to succeed; the summary.
    async fn reloaded(&self) -> serde_json::Value {
        let response = self.reload().await;
        assert_eq!(response.status(), 200);
        json(response).await
    }

    async fn customer(&self, key: &str) -> reqwest::Response {
        self.get(key, &format!("/v1/customers/{SEED_CUSTOMER}"))
            .await
    }
}

async fn call(client: &reqwest::Client, address: &str, key: &str) -> reqwest::Response {
    client
        .get(format!("{address}/v1/customers/{SEED_CUSTOMER}"))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
}

#[test]
fn keys_hash_prints_the_sha256_of_the_key_on_stdin_without_its_newline() {
    use std::io::Write;
    let mut child = binary()
        .args(["keys", "hash"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"pcgw_some-key\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\n", sha256_hex("pcgw_some-key"))
    );
}

/// The whole lifecycle on the real binary: a key issued, added to the file, working after SIGHUP, and refused
/// after it is removed and the gateway signalled again.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_issued_and_added_works_after_sighup_and_is_refused_once_revoked() {
    let config = ConfigFile::sandbox();
    let gateway = Gateway::start(&config.path);
    let client = reqwest::Client::new();
    let (key, lines) = issue("maker-1");
    assert!(
        !lines.contains(&key),
        "the lines for the file hold no key: {lines}"
    );
    assert_eq!(call(&client, &gateway.address, &key).await.status(), 401);

    config.write(&format!("{}{}", config.base, connection("maker-1", &lines)));
    gateway.signal("HUP");
    let reloaded = gateway.wait_for_line("configuration reloaded");
    assert!(reloaded.contains("added=1"), "{reloaded}");
    let response = call(&client, &gateway.address, &key).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["id"], SEED_CUSTOMER);

    // Revoked: the key's lines removed, the connection kept.
    config.write(&format!("{}{}", config.base, connection("maker-1", "")));
    gateway.signal("HUP");
    gateway.wait_for_line("configuration reloaded");
    let response = call(&client, &gateway.address, &key).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
}

/// A connection at r=0 is still at r=0 after SIGHUP; a file that cannot be used changes nothing, its error names
/// the key as start-up does, and the gateway keeps serving.
#[tokio::test(flavor = "multi_thread")]
async fn quota_state_survives_sighup_and_an_invalid_file_is_refused_naming_the_key() {
    let config = ConfigFile::sandbox();
    let quota = format!(
        "api_key_sha256 = \"{}\"\nquota = {{ calls = 2, period_secs = 3600 }}",
        sha256_hex(FABRIKAM_KEY)
    );
    let valid = config.fabrikam(&quota);
    config.write(&valid);
    let gateway = Gateway::start(&config.path);
    let client = reqwest::Client::new();
    let spent: Vec<_> = [
        call(&client, &gateway.address, FABRIKAM_KEY).await,
        call(&client, &gateway.address, FABRIKAM_KEY).await,
    ]
    .iter()
    .map(|r| (r.status().as_u16(), header(r, "ratelimit")))
    .collect();
    assert_eq!(spent[1], (200, r#""connection";r=0;t=1800"#.to_owned()));

    gateway.signal("HUP");
    gateway.wait_for_line("configuration reloaded");
    let after = call(&client, &gateway.address, FABRIKAM_KEY).await;
    assert_eq!(after.status(), 429, "the spent quota was kept");
    assert!(
        header(&after, "ratelimit").starts_with(r#""connection";r=0;"#),
        "{}",
        header(&after, "ratelimit")
    );

    // Fabrikam given Contoso's key: a key opens one connection only.
    let invalid = valid.replacen(&sha256_hex(FABRIKAM_KEY), &sha256_hex(CONTOSO_KEY), 1);
    config.write(&invalid);
    gateway.signal("HUP");
    let refused = gateway.wait_for_line("configuration reload refused");
    let problem = r#"connections[1].api_key_sha256`: is already a key of connection "contoso-demo" (connections[0])"#;
    assert!(refused.contains(problem), "{refused}");
    assert_eq!(
        call(&client, &gateway.address, CONTOSO_KEY).await.status(),
        200
    );
    assert_eq!(
        call(&client, &gateway.address, FABRIKAM_KEY).await.status(),
        429,
        "fabrikam keeps its key and its spent quota"
    );
    // The same words as start-up's on the same file.
    let start = binary()
        .arg("--config")
        .arg(&config.path)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!start.status.success());
    let stderr = String::from_utf8_lossy(&start.stderr);
    assert!(stderr.contains(problem), "{stderr}");
}

#[tokio::test]
async fn the_admin_endpoint_needs_an_admin_key_and_is_off_without_one() {
    let without = spawn_app().await;
    let response = without
        .client
        .post(without.url("/admin/reload"))
        .header("X-API-Key", ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(json(response).await["code"], "NotFound");

    let config = ConfigFile::sandbox();
    let app = spawn_file_with_clock(&config.path, Clock::real()).await;
    let url = app.url("/admin/reload");
    let anonymous = app.client.post(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let maker = app
        .client
        .post(&url)
        .header("X-API-Key", CONTOSO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(maker.status(), 401);
    assert_eq!(
        json(maker).await["message"],
        "The X-API-Key is not an admin key."
    );
    assert_eq!(
        app.customer(ADMIN_KEY).await.status(),
        401,
        "an admin key opens no connection"
    );
    let response = app.reload().await;
    assert_eq!(response.status(), 200);
    assert!(
        !response.headers().contains_key("ratelimit"),
        "no quota counts a reload"
    );
    let summary = json(response).await;
    assert_eq!(
        summary,
        serde_json::json!({
            "connections": 2, "added": 0, "removed": 0, "changed": 0, "unchanged": 2, "needsRestart": []
        })
    );
}

#[tokio::test]
async fn a_rotation_is_two_keys_at_once_then_the_new_one_alone() {
    let config = ConfigFile::sandbox();
    let app = spawn_file_with_clock(&config.path, Clock::real()).await;
    let new_key = "pcgw_the-new-key";
    config.write(&config.fabrikam(&format!(
        "api_key_sha256 = [\"{}\", \"{}\"]",
        sha256_hex(FABRIKAM_KEY),
        sha256_hex(new_key)
    )));
    app.reloaded().await;
    assert_eq!(app.customer(FABRIKAM_KEY).await.status(), 200);
    assert_eq!(app.customer(new_key).await.status(), 200);

    config.write(&config.fabrikam(&format!(
        "api_keys = [{{ sha256 = \"{}\" }}]",
        sha256_hex(new_key)
    )));
    let summary = app.reloaded().await;
    assert_eq!(summary["unchanged"], 2, "{summary}");
    let old = app.customer(FABRIKAM_KEY).await;
    assert_eq!(old.status(), 401);
    assert_eq!(
        json(old).await["message"],
        "The X-API-Key is not the key of any connection."
    );
    assert_eq!(app.customer(new_key).await.status(), 200);
}

#[tokio::test]
async fn an_expired_key_gets_401_saying_so_on_the_gateways_clock() {
    let config = ConfigFile::sandbox();
    let in_an_hour = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .replace_nanosecond(0)
        .unwrap();
    let expires = in_an_hour
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    config.write(&config.fabrikam(&format!(
        "api_keys = [{{ sha256 = \"{}\", expires = \"{expires}\" }}]",
        sha256_hex(FABRIKAM_KEY)
    )));
    let clock = Clock::manual();
    let app = spawn_file_with_clock(&config.path, clock.clone()).await;
    assert_eq!(app.customer(FABRIKAM_KEY).await.status(), 200);

    clock.advance(Duration::from_secs(2 * 3600));
    let expired = app.customer(FABRIKAM_KEY).await;
    assert_eq!(expired.status(), 401);
    assert!(expired.headers().contains_key("www-authenticate"));
    let body = json(expired).await;
    assert_eq!(body["code"], "Unauthorized");
    assert_eq!(
        body["message"],
        format!(
            "The X-API-Key expired at {expires}; ask the gateway's administrator for a new key."
        )
    );
    assert_eq!(
        app.customer(CONTOSO_KEY).await.status(),
        200,
        "a key with no expiry lasts"
    );
}

#[tokio::test]
async fn an_invalid_file_is_answered_422_naming_the_key_and_changes_nothing() {
    let config = ConfigFile::sandbox();
    let app = spawn_file_with_clock(&config.path, Clock::real()).await;
    let new_key = "pcgw_would-be-added";
    config.write(&format!(
        "{}{}",
        config.fabrikam(&format!("api_key_sha256 = \"{}\"", sha256_hex(CONTOSO_KEY))),
        connection(
            "maker-1",
            &format!(
                "[[connections.api_keys]]\nsha256 = \"{}\"\n",
                sha256_hex(new_key)
            )
        )
    ));
    let refused = app.reload().await;
    assert_eq!(refused.status(), 422);
    let body = json(refused).await;
    assert_eq!(body["statusCode"], 422);
    assert_eq!(body["code"], "InvalidConfiguration");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(
            r#"`connections[1].api_key_sha256`: is already a key of connection "contoso-demo""#
        ),
        "{message}"
    );
    assert!(body["correlationId"].is_string());

    assert_eq!(app.customer(FABRIKAM_KEY).await.status(), 200);
    assert_eq!(app.customer(CONTOSO_KEY).await.status(), 200);
    assert_eq!(
        app.customer(new_key).await.status(),
        401,
        "nothing of the refused file applies"
    );
    config.write(&config.base);
    assert_eq!(app.reloaded().await["unchanged"], 2);
}

#[tokio::test]
async fn quota_state_survives_a_reload_and_a_changed_quota_applies_from_the_next_call() {
    let config = ConfigFile::sandbox();
    let quota = |calls: u32| {
        config.fabrikam(&format!(
            "api_key_sha256 = \"{}\"\nquota = {{ calls = {calls}, period_secs = 3600 }}",
            sha256_hex(FABRIKAM_KEY)
        ))
    };
    config.write(&quota(2));
    let app = spawn_file_with_clock(&config.path, Clock::manual()).await;
    for _ in 0..2 {
        assert_eq!(app.customer(FABRIKAM_KEY).await.status(), 200);
    }
    assert_eq!(app.customer(FABRIKAM_KEY).await.status(), 429);
    for _ in 0..3 {
        app.customer(CONTOSO_KEY).await;
    }

    app.reloaded().await;
    assert_eq!(app.customer(FABRIKAM_KEY).await.status(), 429);
    let contoso = app.customer(CONTOSO_KEY).await;
    assert_eq!(header(&contoso, "ratelimit"), r#""connection";r=96;t=0"#);

    config.write(&quota(5));
    app.reloaded().await;
    let raised = app.customer(FABRIKAM_KEY).await;
    assert_eq!(raised.status(), 200);
    assert_eq!(
        header(&raised, "ratelimit-policy"),
        r#""connection";q=5;w=3600"#
    );
    assert_eq!(header(&raised, "ratelimit"), r#""connection";r=4;t=0"#);
    let contoso = app.customer(CONTOSO_KEY).await;
    assert_eq!(
        header(&contoso, "ratelimit"),
        r#""connection";r=95;t=0"#,
        "a connection whose quota did not change keeps its state"
    );
}

#[tokio::test]
async fn unchanged_connections_keep_their_token_and_changed_or_removed_ones_start_afresh() {
    let config = ConfigFile::sandbox();
    let app = spawn_file_with_clock(&config.path, Clock::real()).await;
    assert_eq!(app.customer(FABRIKAM_KEY).await.status(), 200);
    assert_eq!(app.customer(CONTOSO_KEY).await.status(), 200);
    let tokens = app.sandbox().token_calls();

    assert_eq!(app.reloaded().await["unchanged"], 2);
    assert_eq!(app.customer(FABRIKAM_KEY).await.status(), 200);
    assert_eq!(app.customer(CONTOSO_KEY).await.status(), 200);
    assert_eq!(
        app.sandbox().token_calls(),
        tokens,
        "both kept their cached token"
    );

    // Fabrikam's client secret changed (to a wrong one): its cached token was got with the old one.
    let wrong = config.path.with_file_name("wrong-secret");
    std::fs::write(&wrong, "not-the-secret").unwrap();
    let at = config
        .base
        .rfind("config/sandbox/demo-client-secret")
        .unwrap();
    let mut changed = config.base.clone();
    changed.replace_range(
        at..at + "config/sandbox/demo-client-secret".len(),
        wrong.to_str().unwrap(),
    );
    config.write(&changed);
    let summary = app.reloaded().await;
    assert_eq!(
        (&summary["changed"], &summary["unchanged"]),
        (&1.into(), &1.into())
    );
    let refused = app.customer(FABRIKAM_KEY).await;
    assert_eq!(refused.status(), 502);
    assert_eq!(json(refused).await["code"], "ConnectionCredentialsRefused");
    assert_eq!(app.sandbox().token_calls(), tokens + 1);
    assert_eq!(app.customer(CONTOSO_KEY).await.status(), 200);

    let at = config
        .base
        .find("[[connections]]\nid = \"fabrikam-demo\"")
        .unwrap();
    let end = config.base[at..].find("\n[admin]").unwrap() + at;
    let without_fabrikam = format!("{}{}", &config.base[..at], &config.base[end..]);
    config.write(&without_fabrikam);
    assert_eq!(app.reloaded().await["removed"], 1);
    assert_eq!(app.customer(FABRIKAM_KEY).await.status(), 401);
    assert_eq!(app.customer(CONTOSO_KEY).await.status(), 200);
}

/// A Partner Center that holds every customer read until the test opens the gate, and says when one arrived:
/// the call is then provably in flight.
struct Gate {
    arrived: tokio::sync::mpsc::Receiver<()>,
    open: tokio::sync::watch::Sender<bool>,
    calls: Arc<AtomicUsize>,
}

async fn gated_partner_center() -> (String, Gate) {
    use axum::extract::Path as UrlPath;
    let (arrived_tx, arrived) = tokio::sync::mpsc::channel(16);
    let (open, opened) = tokio::sync::watch::channel(false);
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let router = axum::Router::new().route(
        "/v1/customers/{id}",
        axum::routing::get(move |UrlPath(id): UrlPath<String>| {
            let (arrived, mut opened, counter) =
                (arrived_tx.clone(), opened.clone(), counter.clone());
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = arrived.send(()).await;
                let _ = opened.wait_for(|open| *open).await;
                axum::Json(serde_json::json!({ "id": id }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (
        url,
        Gate {
            arrived,
            open,
            calls,
        },
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_key_gets_401_from_the_next_call_while_a_call_in_flight_completes() {
    let authority = mock_with_tokens("token-of-the-test").await;
    let (upstream, mut gate) = gated_partner_center().await;
    let dir = tempfile::tempdir().unwrap();
    let profile = real_profile(&upstream, &authority.uri(), &dir.path().join("rt"), "");
    let config = ConfigFile::new(dir, profile);
    let app = spawn_file_with_clock(&config.path, Clock::real()).await;
    let in_flight = {
        let (client, url) = (
            app.client.clone(),
            app.url(&format!("/v1/customers/{SEED_CUSTOMER}")),
        );
        tokio::spawn(async move {
            let response = client
                .get(url)
                .header("X-API-Key", "app-key")
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        })
    };
    gate.arrived
        .recv()
        .await
        .expect("the call reached Partner Center");

    // Revoked the hard way: the whole connection removed, so its cached token goes too.
    let at = config
        .base
        .find("[[connections]]\nid = \"app-conn\"")
        .unwrap();
    let end = config.base[at + 1..].find("[[connections]]").unwrap() + at + 1;
    config.write(&format!("{}{}", &config.base[..at], &config.base[end..]));
    let summary = app.reloaded().await;
    assert_eq!(
        (&summary["removed"], &summary["unchanged"]),
        (&1.into(), &1.into()),
        "{summary}"
    );
    let next = app.customer("app-key").await;
    assert_eq!(next.status(), 401);

    gate.open.send(true).unwrap();
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({ "id": SEED_CUSTOMER })
    );
    assert_eq!(
        gate.calls.load(Ordering::SeqCst),
        1,
        "the refused call never reached Partner Center"
    );
}
