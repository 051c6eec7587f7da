//! API keys, client secrets, refresh and access tokens and makers' bearer tokens never appear in logs, answers
//! (bodies or headers) or panic messages, even at TRACE with every dependency's logging on. Every way a call can
//! end is driven, and the output is scanned after each one, so a leak is reported with the path that caused it.
//! One test in its own binary: it owns the process's log output and panic hook.

mod common;

use std::io::Write;
use std::path::Path;
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
        CAPTURED
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured() -> String {
    String::from_utf8_lossy(&CAPTURED.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

const APP_KEY: &str = "API-KEY-SECRET-app-7f3a";
const USER_KEY: &str = "API-KEY-SECRET-user-2b81";
const REFUSED_KEY: &str = "API-KEY-SECRET-refused-c90d";
const LIMITED_KEY: &str = "API-KEY-SECRET-limited-44e6";
const SLOW_TOKEN_KEY: &str = "API-KEY-SECRET-slow-d1f0";
const STUCK_KEY: &str = "API-KEY-SECRET-stuck-6a2c";
const WRONG_KEY: &str = "API-KEY-SECRET-wrong-91c2";
const APP_SECRET: &str = "CLIENT-SECRET-app-5d1e";
const USER_SECRET: &str = "CLIENT-SECRET-user-8c3b";
const USER_SEED: &str = "REFRESH-SEED-SECRET-user-0b44";
const USER_ROLLED: &str = "REFRESH-ROLLED-SECRET-user-a9e0";
const STUCK_SEED: &str = "REFRESH-SEED-SECRET-stuck-73d5";
const STUCK_ROLLED: &str = "REFRESH-ROLLED-SECRET-stuck-1e9b";
const APP_ACCESS: &str = "ACCESS-TOKEN-SECRET-app-c3d7";
const USER_ACCESS: &str = "ACCESS-TOKEN-SECRET-user-0f6a";
const STUCK_ACCESS: &str = "ACCESS-TOKEN-SECRET-stuck-b27e";
const SLOW_ACCESS: &str = "ACCESS-TOKEN-SECRET-slow-95c8";
const NOT_A_JWT: &str = "BEARER-SECRET-e8f1.not.a-token";

const SLOW_CUSTOMER: &str = "51030000-0000-4000-8000-000000000001";
const THROTTLED_CUSTOMER: &str = "42900000-0000-4000-8000-000000000002";
const UNWELL_CUSTOMER: &str = "50300000-0000-4000-8000-000000000003";

/// Every secret the scenario puts in play, by kind, checked against everything the gateway has written so far.
struct Secrets(Vec<(&'static str, String)>);

impl Secrets {
    fn check(&self, step: &str, answer: &str) {
        let logs = captured();
        for (kind, secret) in &self.0 {
            assert!(
                !logs.contains(secret.as_str()),
                "after {step}: the {kind} {secret} is in the logs"
            );
            assert!(
                !answer.contains(secret.as_str()),
                "{step}: the {kind} {secret} is in the answer:\n{answer}"
            );
        }
    }

    /// Reads `response` whole, scans its status line, headers and body (and the logs so far), checks its status,
    /// and returns its `code` (the gateway's error code; empty for an answer that has none).
    async fn answer(&self, step: &str, response: reqwest::Response, status: u16) -> String {
        let got = response.status().as_u16();
        let head = format!("{} {:?}", response.status(), response.headers());
        let body = response.text().await.unwrap();
        let whole = format!("{head}\n{body}");
        self.check(step, &whole);
        assert_eq!(got, status, "{step}: {whole}");
        serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// The gateway against `partner_center`, taking tokens from `authority` and trusting bearer tokens of `issuer`
/// signed with keys from `jwks`, with one connection per way a connection's call can go, and its refresh tokens in
/// `state`.
fn profile(
    partner_center: &str,
    authority: &str,
    issuer: &str,
    jwks: &str,
    secrets: &Path,
    state: &Path,
    extra_upstream: &str,
) -> String {
    let app_only = |id: &str, key: &str, client: &str, quota: &str| {
        format!(
            r#"
[[connections]]
id = "{id}"
api_key_sha256 = "{hash}"
{quota}
[connections.credentials]
kind = "app_only"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret_file = "{secret}"
"#,
            hash = sha256_hex(key),
            tenant = demo::PARTNER_TENANT_ID,
            secret = secrets.join("app").display(),
        )
    };
    let app_user = |id: &str, key: &str, client: &str, seed: &str| {
        format!(
            r#"
[[connections]]
id = "{id}"
api_key_sha256 = "{hash}"
[connections.credentials]
kind = "app_user"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret_file = "{secret}"
refresh_token_file = "{rt}"
refresh_token_seed = "{seed}"
"#,
            hash = sha256_hex(key),
            tenant = demo::PARTNER_TENANT_ID,
            secret = secrets.join("user").display(),
            rt = state.join(id).join("refresh-token").display(),
        )
    };
    [
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[upstream]
base_url = "{partner_center}"
retry_base_delay_ms = 1
timeout_ms = 1000
{extra_upstream}
[auth]
authority = "{authority}"
issuers = [{{ issuer = "{issuer}/{{tenantid}}/v2.0", jwks_uri = "{jwks}" }}]
{TRIGGERS}
"#
        ),
        app_only("app", APP_KEY, "app", ""),
        app_user("user", USER_KEY, "user-app", USER_SEED),
        app_only("refused", REFUSED_KEY, "refused-app", ""),
        app_only(
            "limited",
            LIMITED_KEY,
            "app",
            "quota = { calls = 1, period_secs = 3600 }",
        ),
        app_only("slow-token", SLOW_TOKEN_KEY, "slow-app", ""),
        app_user("stuck", STUCK_KEY, "stuck-app", STUCK_SEED),
    ]
    .concat()
}

/// Partner Center, its token authority and a bearer-token issuer in one, with a customer for each of Partner
/// Center's faults and a client ID for each of the authority's.
async fn partner_center() -> MockServer {
    let server = MockServer::start().await;
    let token_path = format!("/{}/oauth2/v2.0/token", demo::PARTNER_TENANT_ID);
    let tokens = |access: &str, refresh: Option<&str>| {
        let mut body =
            serde_json::json!({"token_type": "Bearer", "expires_in": 3599, "access_token": access});
        if let Some(refresh) = refresh {
            body["refresh_token"] = refresh.into();
        }
        ResponseTemplate::new(200).set_body_json(body)
    };
    let by_client = [
        (
            "refused-app",
            ResponseTemplate::new(401).set_body_json(serde_json::json!({
                "error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."
            })),
        ),
        (
            "slow-app",
            tokens(SLOW_ACCESS, None).set_delay(std::time::Duration::from_secs(5)),
        ),
        ("user-app", tokens(USER_ACCESS, Some(USER_ROLLED))),
        ("stuck-app", tokens(STUCK_ACCESS, Some(STUCK_ROLLED))),
    ];
    for (client, answer) in by_client {
        Mock::given(method("POST"))
            .and(path(token_path.clone()))
            .and(body_string_contains(format!("client_id={client}&")))
            .respond_with(answer)
            .with_priority(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path(token_path))
        .respond_with(tokens(APP_ACCESS, None))
        .mount(&server)
        .await;

    let n = std::fs::read_to_string("sandbox/src/sandbox-signing-key.n").unwrap();
    Mock::given(method("GET"))
        .and(path("/keys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "keys": [{"kty": "RSA", "kid": "k1", "n": n.trim(), "e": "AQAB", "alg": "RS256"}]
        })))
        .mount(&server)
        .await;

    let customer = |id: &str| path(format!("/v1/customers/{id}"));
    let json = |status: u16, body: &str| {
        ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json")
    };
    for (matcher, answer) in [
        (
            customer(SLOW_CUSTOMER),
            json(200, r#"{"id":"slow"}"#).set_delay(std::time::Duration::from_secs(5)),
        ),
        (
            customer(THROTTLED_CUSTOMER),
            json(
                429,
                r#"{"statusCode":429,"message":"Rate limit is exceeded. Try again in 120 seconds."}"#,
            )
            .insert_header("Retry-After", "120"),
        ),
        (
            customer(UNWELL_CUSTOMER),
            json(503, r#"{"code":503,"description":"Partner Center is unwell."}"#),
        ),
    ] {
        Mock::given(method("GET"))
            .and(matcher)
            .respond_with(answer)
            .with_priority(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path_regex("/orders$"))
        .respond_with(json(500, r#"{"code":500}"#))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/v1/customers/[0-9a-f-]+$"))
        .respond_with(json(200, r#"{"id":"x"}"#))
        .mount(&server)
        .await;
    server
}

/// Who a call is made as: a connection's API key, or a maker's bearer token.
#[derive(Clone, Copy)]
enum As<'a> {
    Key(&'a str),
    Bearer(&'a str),
}

async fn call(app: &TestApp, who: As<'_>, path: &str) -> reqwest::Response {
    match who {
        As::Key(key) => app.get(key, path).await,
        As::Bearer(token) => app.get_bearer(token, path).await,
    }
}

async fn requests_for(server: &MockServer, path: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}

#[tokio::test]
async fn no_secret_reaches_a_log_line_an_answer_or_a_panic_message() {
    // Every line twice, as text and as the JSON that `--log-format json` writes, since the two formats render
    // fields differently (a Debug value is quoted and escaped in JSON).
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("trace,wiremock=off"))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(|| Capture),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_span_list(false)
                .with_writer(|| Capture),
        )
        .try_init()
        .unwrap();
    // A panic's message goes to stderr, not to tracing; routed here, it is scanned like any log line.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = writeln!(Capture, "PANIC {info}");
        default_hook(info);
    }));

    let pc = partner_center().await;
    let now = unix_now();
    let maker = "2f0c8b4e-6d7a-4c1b-9e3f-5a6b7c8d9e0f";
    let jwt = sign_with_sandbox_key(&user_claims(&pc.uri(), maker), "k1");
    let mut expired_claims = user_claims(&pc.uri(), maker);
    expired_claims["iat"] = (now - 7200).into();
    expired_claims["nbf"] = (now - 7200).into();
    expired_claims["exp"] = (now - 3600).into();
    let expired_jwt = sign_with_sandbox_key(&expired_claims, "k1");

    let scan = Secrets(
        [
            ("API key", APP_KEY),
            ("API key", USER_KEY),
            ("API key", REFUSED_KEY),
            ("API key", LIMITED_KEY),
            ("API key", SLOW_TOKEN_KEY),
            ("API key", STUCK_KEY),
            ("API key", WRONG_KEY),
            ("client secret", APP_SECRET),
            ("client secret", USER_SECRET),
            ("refresh token", USER_SEED),
            ("refresh token", USER_ROLLED),
            ("refresh token", STUCK_SEED),
            ("refresh token", STUCK_ROLLED),
            ("access token", APP_ACCESS),
            ("access token", USER_ACCESS),
            ("access token", STUCK_ACCESS),
            ("access token", SLOW_ACCESS),
            ("bearer token", NOT_A_JWT),
            ("bearer JWT", jwt.as_str()),
            ("bearer JWT", expired_jwt.as_str()),
        ]
        .into_iter()
        .map(|(kind, secret)| (kind, secret.to_owned()))
        .collect(),
    );

    let secret_files = tempfile::tempdir().unwrap();
    std::fs::write(secret_files.path().join("app"), APP_SECRET).unwrap();
    std::fs::write(secret_files.path().join("user"), USER_SECRET).unwrap();
    let jwks = format!("{}/keys", pc.uri());
    let unreachable = || format!("http://{}", free_port_addr());
    // Each gateway gets its own state directory: the rolled refresh tokens of one must not be another's seed.
    let gateway = |partner_center: String, authority: String, jwks: String, extra: &'static str| {
        let secret_files = secret_files.path().to_owned();
        let issuer = pc.uri();
        async move {
            let state = tempfile::tempdir().unwrap();
            // Connection IDs on the metrics too: what the scan below proves is that they are all that shows.
            let toml = profile(
                &partner_center,
                &authority,
                &issuer,
                &jwks,
                &secret_files,
                state.path(),
                extra,
            ) + "\n[metrics]\nconnection_label = true\n";
            (spawn_toml(&toml).await, state, toml)
        }
    };
    let customer = format!("/v1/customers/{SEED_CUSTOMER}");
    let at = |id: &str| format!("/v1/customers/{id}");

    // Everything answers, except what a path below asks to fail. A breaker that never opens keeps one path's
    // failures from changing the next one's answer.
    let (main, main_state, toml) =
        gateway(pc.uri(), pc.uri(), jwks.clone(), "breaker_failures = 1000").await;
    scan.check(
        "the configuration's Debug",
        &format!("{:?}", Settings::from_toml(&toml).unwrap()),
    );
    // The rolled token's directory is now a file: the token exchange works and its result cannot be persisted.
    let stuck_dir = main_state.path().join("stuck");
    std::fs::remove_dir_all(&stuck_dir).unwrap();
    std::fs::write(&stuck_dir, "").unwrap();

    scan.answer("app-only 200", main.get(APP_KEY, &customer).await, 200)
        .await;
    scan.answer("App+User 200", main.get(USER_KEY, &customer).await, 200)
        .await;
    assert_eq!(
        std::fs::read_to_string(main_state.path().join("user/refresh-token")).unwrap(),
        USER_ROLLED,
        "the App+User call did roll the refresh token"
    );
    scan.answer("unknown API key", main.get(WRONG_KEY, &customer).await, 401)
        .await;
    scan.answer(
        "invalid customer ID",
        main.get(APP_KEY, "/v1/customers/not-a-guid").await,
        400,
    )
    .await;
    let orders = format!("{customer}/orders");
    scan.answer(
        "Partner Center's 500 passed through",
        main.get(APP_KEY, &orders).await,
        500,
    )
    .await;
    assert_eq!(
        scan.answer(
            "refused client secret",
            main.get(REFUSED_KEY, &customer).await,
            502
        )
        .await,
        "ConnectionCredentialsRefused"
    );
    scan.answer(
        "a bearer that is not a JWT",
        main.get_bearer(NOT_A_JWT, &customer).await,
        401,
    )
    .await;
    scan.answer(
        "an expired bearer JWT",
        main.get_bearer(&expired_jwt, &customer).await,
        401,
    )
    .await;
    scan.answer(
        "a bearer JWT passed through",
        main.get_bearer(&jwt, &customer).await,
        200,
    )
    .await;
    let forwarded = format!("Bearer {jwt}");
    assert!(
        requests_for(&pc, &customer)
            .await
            .iter()
            .any(|r| r.headers["authorization"] == forwarded.as_str()),
        "the maker's JWT reached Partner Center, so its absence from the logs means something"
    );
    scan.answer(
        "Partner Center's 500 to a bearer caller",
        main.get_bearer(&jwt, &orders).await,
        500,
    )
    .await;
    for (step, who) in [
        ("Partner Center's 429 passed through", As::Key(APP_KEY)),
        ("Partner Center's 429 to a bearer caller", As::Bearer(&jwt)),
    ] {
        let response = call(&main, who, &at(THROTTLED_CUSTOMER)).await;
        assert!(response.headers().contains_key("retry-after"), "{step}");
        scan.answer(step, response, 429).await;
    }
    scan.answer(
        "the last call the quota admits",
        main.get(LIMITED_KEY, &customer).await,
        200,
    )
    .await;
    let response = main.get(LIMITED_KEY, &customer).await;
    assert!(response.headers().contains_key("ratelimit"));
    scan.answer("the gateway's own 429", response, 429).await;
    assert_eq!(
        scan.answer(
            "a rolled refresh token that cannot be persisted",
            main.get(STUCK_KEY, &customer).await,
            500
        )
        .await,
        "InternalError"
    );
    assert!(captured().contains("could not persist the rolled refresh token"));
    for (step, who, path) in [
        (
            "the token authority too slow",
            As::Key(SLOW_TOKEN_KEY),
            &customer,
        ),
        (
            "Partner Center too slow",
            As::Key(APP_KEY),
            &at(SLOW_CUSTOMER),
        ),
        (
            "Partner Center too slow for a bearer caller",
            As::Bearer(&jwt),
            &at(SLOW_CUSTOMER),
        ),
    ] {
        let response = call(&main, who, path).await;
        assert_eq!(scan.answer(step, response, 504).await, "GatewayTimeout");
    }
    // After every path above has left its numbers there.
    let metrics = main.client.get(main.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let scraped = metrics.text().await.unwrap();
    scan.check("the metrics", &scraped);
    assert!(
        scraped.contains("connection=\"user\""),
        "the metrics carry connection IDs, so the scan saw them: {scraped}"
    );
    main.stop().await;

    let (down, _state, _) = gateway(
        unreachable(),
        pc.uri(),
        jwks.clone(),
        "breaker_failures = 1000",
    )
    .await;
    for (step, who) in [
        ("Partner Center unreachable", As::Key(APP_KEY)),
        ("Partner Center unreachable for App+User", As::Key(USER_KEY)),
        (
            "Partner Center unreachable for a bearer caller",
            As::Bearer(&jwt),
        ),
    ] {
        let response = call(&down, who, &customer).await;
        assert_eq!(scan.answer(step, response, 502).await, "BadGateway");
    }
    let probe = down.client.get(down.url("/readyz")).send().await.unwrap();
    scan.answer("readiness with Partner Center unreachable", probe, 503)
        .await;
    down.stop().await;

    let (no_authority, _state, _) = gateway(
        pc.uri(),
        unreachable(),
        unreachable(),
        "breaker_failures = 1000",
    )
    .await;
    for (step, key) in [
        ("token authority unreachable", APP_KEY),
        ("token authority unreachable for App+User", USER_KEY),
    ] {
        let response = no_authority.get(key, &customer).await;
        assert_eq!(scan.answer(step, response, 502).await, "BadGateway");
    }
    let probe = no_authority
        .client
        .get(no_authority.url("/readyz"))
        .send()
        .await
        .unwrap();
    scan.answer("readiness with the token authority unreachable", probe, 503)
        .await;
    assert_eq!(
        scan.answer(
            "bearer signing keys unreachable",
            no_authority.get_bearer(&jwt, &customer).await,
            503
        )
        .await,
        "TokenValidationUnavailable"
    );
    no_authority.stop().await;

    let (failing, _state, _) = gateway(
        pc.uri(),
        pc.uri(),
        jwks.clone(),
        "breaker_failures = 2\nbreaker_cooldown_secs = 60\nmax_retries = 0",
    )
    .await;
    for _ in 0..2 {
        scan.answer(
            "Partner Center's 503 passed through",
            failing.get(APP_KEY, &at(UNWELL_CUSTOMER)).await,
            503,
        )
        .await;
    }
    for (step, who) in [
        ("the open breaker's 503", As::Key(APP_KEY)),
        (
            "the open breaker's 503 to a bearer caller",
            As::Bearer(&jwt),
        ),
    ] {
        let response = call(&failing, who, &customer).await;
        assert_eq!(
            scan.answer(step, response, 503).await,
            "UpstreamUnavailable"
        );
    }
    failing.stop().await;

    let (full, _state, _) = gateway(
        pc.uri(),
        pc.uri(),
        jwks.clone(),
        "max_concurrent_calls = 1\nmax_queued_calls = 0",
    )
    .await;
    let slow = at(SLOW_CUSTOMER);
    let slow_calls_before = requests_for(&pc, &slow).await.len();
    let (holding, ()) = tokio::join!(full.get(APP_KEY, &slow), async {
        // Only once the one call allowed is in flight at Partner Center is the gateway full.
        while requests_for(&pc, &slow).await.len() == slow_calls_before {
            tokio::task::yield_now().await;
        }
        for (step, who) in [
            ("the overloaded gateway's 503", As::Key(USER_KEY)),
            (
                "the overloaded gateway's 503 to a bearer caller",
                As::Bearer(&jwt),
            ),
        ] {
            let response = call(&full, who, &customer).await;
            assert_eq!(scan.answer(step, response, 503).await, "Overloaded");
        }
    });
    scan.answer("the call that held the only turn", holding, 504)
        .await;
    full.stop().await;

    // Some lines (a connection closing, a server stopping) come after the answer they belong to.
    scan.check("all gateways stopped", "");
    let logs = captured();
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
    // The calls' own lines were among them, in both formats, naming the connections whose keys they must not.
    assert!(
        logs.lines()
            .any(|l| l.contains(r#""message":"call""#) && l.contains(r#""connection":"app""#)),
        "no JSON call line"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains(" call ") && l.contains(r#"connection="app""#)),
        "no text call line"
    );
    assert!(
        !logs.contains("PANIC"),
        "no call made the gateway panic: {logs}"
    );
}
