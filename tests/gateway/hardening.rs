//! The edges of the protocol, as a hostile or careless client meets them: refusals that cannot flood the log,
//! an agreement body that reaches Partner Center only as the fields the gateway checked, Host and credential
//! headers given twice, errors in the gateway's JSON shape with plain words, bearer identities that cannot
//! collide, the answers' cache and framing headers, request bodies of the wrong type, and query values that
//! never reach the log.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;
use crate::shutdown::{Gateway, customer_id, slow_partner_center, write_config};

const AGREEMENT: &str = r#"{"primaryContact":{"firstName":"Tania","lastName":"Carr","email":"someone@example.com","phoneNumber":"1234567890"},"templateId":"117a77b0-9360-443b-8795-c6dedc750cf9","dateAgreed":"2018-06-14T00:00:00.000Z","type":"MicrosoftCustomerAgreement"}"#;

fn agreements_path() -> String {
    format!("/v1/customers/{SEED_CUSTOMER}/agreements")
}

/// The gateway's own error shape: JSON with a status, a code, a message and the correlation ID.
async fn gateway_error(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body = json(response).await;
    assert_eq!(body["statusCode"], status, "{body}");
    assert!(body["code"].is_string(), "{body}");
    assert!(body["correlationId"].is_string(), "{body}");
    body
}

/// Sends `request` as written, on a socket of its own, and returns the status and the body.
async fn raw(address: &str, request: &str) -> (u16, String) {
    let address = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

// --- refusals in the log ---------------------------------------------------------------------------------------

/// Reads `gateway`'s JSON log lines until the summaries of `kind` add up to `calls`, and returns every line read.
fn lines_until_summarised(gateway: &Gateway, kind: &str, calls: u64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    let mut summarised = 0;
    while summarised < calls {
        let line = gateway
            .next_line(deadline)
            .unwrap_or_else(|| panic!("only {summarised} of {calls} {kind} refusals summarised"));
        let line: Value = serde_json::from_str(&line).expect("a JSON line");
        if line["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("refused"))
            && line["kind"] == kind
        {
            summarised += line["calls"].as_u64().expect("a count");
        }
        lines.push(line);
    }
    lines
}

/// The lines at INFO or above that are one call's own line.
fn call_lines(lines: &[Value], status: u16) -> usize {
    lines
        .iter()
        .filter(|l| l["message"] == "call" && l["status"] == status && l["level"] != "DEBUG")
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_over_quota_calls_are_a_few_summary_lines_not_five_hundred() {
    let partner_center = slow_partner_center(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &partner_center.uri(), "");
    let toml =
        std::fs::read_to_string(&config).unwrap() + "\n[quota]\ncalls = 1\nperiod_secs = 3600\n";
    std::fs::write(&config, toml).unwrap();
    let gateway = Gateway::start_with(&config, &["--log-format", "json"]);
    let client = reqwest::Client::new();
    let url = format!("{}/v1/customers/{}", gateway.address, customer_id(1));
    let send = || client.get(&url).header("X-API-Key", "app-key").send();
    assert_eq!(send().await.unwrap().status(), 200);
    for _ in 0..500 {
        assert_eq!(send().await.unwrap().status(), 429);
    }

    let lines = lines_until_summarised(&gateway, "quota", 500);
    let summaries: Vec<_> = lines.iter().filter(|l| l["kind"] == "quota").collect();
    assert!(
        summaries.len() <= 3,
        "500 refusals in a burst make at most a few summaries: {summaries:?}"
    );
    let first = summaries[0];
    assert_eq!(first["level"], "INFO");
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("calls (quota) in the last 5 s"),
        "{first}"
    );
    assert_eq!(call_lines(&lines, 429), 0, "no 429 has a line of its own");
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_refused_by_an_open_breaker_are_summarised_not_logged_one_by_one() {
    let partner_center = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/[^/]+/oauth2/v2\.0/token$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "x", "refresh_token": "rolled",
        })))
        .mount(&partner_center)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1/customers/[^/]+$"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"code": 1})))
        .mount(&partner_center)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let toml = with_server_keys(
        &real_profile(
            &partner_center.uri(),
            &partner_center.uri(),
            &dir.path().join("rt"),
            "breaker_failures = 1\nbreaker_cooldown_secs = 3600",
        ),
        "",
    ) + "\n[quota]\ncalls = 1000\n";
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, toml).unwrap();
    let gateway = Gateway::start_with(&config, &["--log-format", "json"]);
    let client = reqwest::Client::new();
    let url = format!("{}/v1/customers/{}", gateway.address, customer_id(1));
    let send = || client.get(&url).header("X-API-Key", "app-key").send();
    // Partner Center's 500 opens the breaker; the call's retry may already be refused.
    let first = send().await.unwrap().status().as_u16();
    assert!([500, 503].contains(&first), "{first}");
    for _ in 0..200 {
        assert_eq!(send().await.unwrap().status(), 503);
    }

    let lines = lines_until_summarised(&gateway, "circuit_open", 200);
    assert_eq!(
        call_lines(&lines, 503),
        0,
        "no refusal has a line of its own"
    );
    let loud = lines
        .iter()
        .filter(|l| l["level"] == "WARN" || l["level"] == "ERROR")
        .count();
    assert!(loud <= 4, "the breaker opened once: {lines:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_refused_by_a_full_gateway_are_summarised_not_logged_one_by_one() {
    let partner_center = slow_partner_center(Duration::from_secs(30)).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = with_server_keys(
        &real_profile(
            &partner_center.uri(),
            &partner_center.uri(),
            &dir.path().join("rt"),
            "max_concurrent_calls = 1\nmax_queued_calls = 0",
        ),
        "",
    ) + "\n[quota]\ncalls = 1000\n";
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, toml).unwrap();
    let gateway = Gateway::start_with(&config, &["--log-format", "json"]);
    let client = reqwest::Client::new();
    let url = format!("{}/v1/customers/{}", gateway.address, customer_id(1));
    let busy = tokio::spawn(client.get(&url).header("X-API-Key", "app-key").send());
    // The one turn is taken once Partner Center has the first call.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !partner_center
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .any(|r| r.url.path().starts_with("/v1/customers/"))
    {
        assert!(
            Instant::now() < deadline,
            "the first call never reached Partner Center"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..100 {
        let response = client
            .get(&url)
            .header("X-API-Key", "app-key")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
    }

    let lines = lines_until_summarised(&gateway, "overloaded", 100);
    assert_eq!(
        call_lines(&lines, 503),
        0,
        "no refusal has a line of its own"
    );
    busy.abort();
}

// --- the agreement body ----------------------------------------------------------------------------------------

#[tokio::test]
async fn an_agreement_reaches_partner_center_as_the_checked_fields_re_serialised() {
    let partner_center = mock_with_tokens("x").await;
    Mock::given(method("POST"))
        .and(path(agreements_path()))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"templateId": "x"})))
        .mount(&partner_center)
        .await;
    let (app, _state) = gateway_on(&partner_center.uri(), &partner_center.uri(), "").await;
    // The same agreement, its keys in another order and spaced out.
    let sent = r#"{ "type": "MicrosoftCustomerAgreement", "dateAgreed": "2018-06-14T00:00:00.000Z",
        "templateId": "117a77b0-9360-443b-8795-c6dedc750cf9",
        "primaryContact": { "phoneNumber": "1234567890", "email": "someone@example.com", "lastName": "Carr", "firstName": "Tania" } }"#;
    let response = app.post_json("user-key", &agreements_path(), sent).await;
    assert_eq!(response.status(), 201);
    let received = partner_center.received_requests().await.unwrap();
    let forwarded = received
        .iter()
        .find(|r| r.url.path() == agreements_path())
        .expect("the agreement reached Partner Center");
    assert_eq!(String::from_utf8_lossy(&forwarded.body), AGREEMENT);
}

#[tokio::test]
async fn an_agreement_with_a_field_the_gateway_does_not_check_is_refused_naming_it() {
    let app = spawn_app().await;
    let with = |extra: &str| AGREEMENT.replacen('{', &format!("{{{extra},"), 1);
    let nested = format!(r#""extra":{}1{}"#, "[".repeat(5000), "]".repeat(5000));
    let cases = [
        (
            with(r#""TemplateId":"00000000-0000-4000-8000-000000000000""#),
            "TemplateId",
        ),
        (with(r#""userId":"x""#), "userId"),
        (
            AGREEMENT.replace(
                r#""firstName":"Tania""#,
                r#""firstName":"Tania","FirstName":"Eve""#,
            ),
            "primaryContact.FirstName",
        ),
        (
            AGREEMENT.replace(r#""type":"#, r#""type":"MicrosoftCloudAgreement","type":"#),
            "type",
        ),
        (with(&nested), "JSON"),
    ];
    let calls_before = app.sandbox().api_calls();
    for (body, named) in cases {
        let response = app
            .post_json(CONTOSO_KEY, &agreements_path(), body.clone())
            .await;
        let error = gateway_error(response, 400).await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(named), "{named}: {message}");
    }
    assert_eq!(
        app.sandbox().api_calls(),
        calls_before,
        "none reached Partner Center"
    );
}

#[tokio::test]
async fn body_errors_say_which_field_and_what_was_expected_in_plain_words() {
    let app = spawn_app().await;
    let cases = [
        ("[]".to_owned(), "a JSON object"),
        (
            AGREEMENT.replace(r#""Tania""#, "42"),
            "primaryContact.firstName",
        ),
        (
            AGREEMENT.replace(r#","type":"MicrosoftCustomerAgreement""#, ""),
            "type",
        ),
        ("{".to_owned(), "JSON"),
    ];
    for (body, named) in cases {
        let response = app.post_json(CONTOSO_KEY, &agreements_path(), body).await;
        let error = gateway_error(response, 400).await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(named), "{named}: {message}");
        for rust in ["struct", "NewAgreement", "`"] {
            assert!(!message.contains(rust), "{message}");
        }
    }
}

#[tokio::test]
async fn an_agreement_of_a_type_partner_center_does_not_know_is_refused_naming_the_types() {
    let app = spawn_app().await;
    for kind in [
        "Anything",
        "microsoftcustomeragreement",
        "*",
        "MicrosoftCustomerAgreement ",
    ] {
        let body = AGREEMENT.replace("MicrosoftCustomerAgreement", kind);
        let response = app.post_json(CONTOSO_KEY, &agreements_path(), body).await;
        let error = gateway_error(response, 400).await;
        let message = error["message"].as_str().unwrap();
        for accepted in [
            "type",
            "MicrosoftCustomerAgreement",
            "MicrosoftCloudAgreement",
        ] {
            assert!(message.contains(accepted), "{kind}: {message}");
        }
    }
    assert_eq!(
        app.sandbox().api_calls(),
        0,
        "nothing reached Partner Center"
    );
    // Each type Partner Center knows gets through, with its template.
    for (kind, template) in [
        (
            "MicrosoftCustomerAgreement",
            "117a77b0-9360-443b-8795-c6dedc750cf9",
        ),
        (
            "MicrosoftCloudAgreement",
            "998b88de-aa99-4388-a42c-1b3517d49490",
        ),
    ] {
        let body = AGREEMENT
            .replace("MicrosoftCustomerAgreement", kind)
            .replace("117a77b0-9360-443b-8795-c6dedc750cf9", template);
        let response = app.post_json(CONTOSO_KEY, &agreements_path(), body).await;
        assert!(
            [201, 409].contains(&response.status().as_u16()),
            "{kind}: {}",
            response.status()
        );
    }
}

// --- Host and credential headers -------------------------------------------------------------------------------

#[tokio::test]
async fn two_host_headers_are_a_json_400() {
    let app = spawn_app().await;
    let (status, body) = raw(
        &app.address,
        &format!(
            "GET /v1/customers?Size=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nX-API-Key: {CONTOSO_KEY}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).expect("the JSON error shape");
    assert_eq!(body["code"], "InvalidHost", "{body}");
}

#[tokio::test]
async fn a_host_that_is_no_host_is_refused_and_never_put_in_a_next_link() {
    let app = spawn_app().await;
    let long = format!("{}.example", "a".repeat(300));
    for host in [
        "127.0.0.1:0",
        "127.0.0.1:99999",
        long.as_str(),
        "a..b",
        "-a.example",
    ] {
        let (status, body) = raw(
            &app.address,
            &format!(
                "GET /v1/customers?Size=1 HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {CONTOSO_KEY}\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        assert_eq!(status, 400, "{host}: {body}");
        assert!(!body.contains("nextLink"), "{host}: {body}");
        let body: Value = serde_json::from_str(&body).expect("the JSON error shape");
        assert_eq!(body["code"], "InvalidHost", "{host}: {body}");
    }
}

#[tokio::test]
async fn a_credential_header_given_twice_is_refused_rather_than_the_first_used() {
    let app = spawn_app().await;
    let calls_before = app.sandbox().api_calls();
    let twice_key = app
        .client
        .get(app.url("/v1/customers?Size=1"))
        .header("X-API-Key", CONTOSO_KEY)
        .header("X-API-Key", "someone-elses-key")
        .send()
        .await
        .unwrap();
    let error = gateway_error(twice_key, 400).await;
    assert!(
        error["message"].as_str().unwrap().contains("X-API-Key"),
        "{error}"
    );
    let token = app.user_token("admin").await;
    let twice_token = app
        .client
        .get(app.url("/v1/customers?Size=1"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Authorization", "Bearer another")
        .send()
        .await
        .unwrap();
    let error = gateway_error(twice_token, 400).await;
    assert!(
        error["message"].as_str().unwrap().contains("Authorization"),
        "{error}"
    );
    assert_eq!(app.sandbox().api_calls(), calls_before);
}

// --- errors in the JSON shape ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_duplicated_locale_on_the_connector_documents_is_a_json_400() {
    let app = spawn_app().await;
    for path in [
        "/openapi/connector/apiDefinition.swagger.json?locale=en-US&locale=pt-BR",
        "/openapi/connector/apiProperties.json?locale=en-US&locale=pt-BR",
        "/openapi/connector/apiProperties.json?locale=fr-FR",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let error = gateway_error(response, 400).await;
        assert!(
            error["message"].as_str().unwrap().contains("locale"),
            "{path}: {error}"
        );
    }
}

#[tokio::test]
async fn a_file_swagger_ui_does_not_have_is_the_gateways_json_404() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/swagger-ui/no-such-file.js"))
        .send()
        .await
        .unwrap();
    gateway_error(response, 404).await;
}

// --- bearer identities -----------------------------------------------------------------------------------------

/// The sandbox's user claims for `oid`, signed with its key.
fn bearer(app: &TestApp, edit: impl FnOnce(&mut Value)) -> String {
    let mut claims = user_claims(
        &app.sandbox().base_url(),
        "11111111-2222-4333-8444-555555555555",
    );
    edit(&mut claims);
    sign_with_sandbox_key(&claims, "sandbox-key-1")
}

#[tokio::test]
async fn a_bearer_token_without_guid_tenant_and_object_ids_is_refused() {
    let app = spawn_app().await;
    let base = app.sandbox().base_url();
    let tokens = [
        ("empty oid", bearer(&app, |c| c["oid"] = json!(""))),
        (
            "no oid",
            bearer(&app, |c| {
                c.as_object_mut().unwrap().remove("oid");
            }),
        ),
        ("oid not a GUID", bearer(&app, |c| c["oid"] = json!("a:b"))),
        (
            "tid not a GUID",
            bearer(&app, |c| {
                c["tid"] = json!("contoso");
                c["iss"] = json!(format!("{base}/contoso/v2.0"));
            }),
        ),
    ];
    let calls_before = app.sandbox().api_calls();
    for (case, token) in tokens {
        let response = app.get_bearer(&token, "/v1/customers?Size=1").await;
        let error = gateway_error(response, 401).await;
        assert_eq!(error["code"], "Unauthorized", "{case}: {error}");
    }
    assert_eq!(
        app.sandbox().api_calls(),
        calls_before,
        "none reached Partner Center"
    );
}

#[tokio::test]
async fn a_user_and_an_application_with_the_same_ids_have_quotas_of_their_own() {
    let app = spawn_app().await;
    let user = bearer(&app, |_| {});
    let application = bearer(&app, |c| {
        let claims = c.as_object_mut().unwrap();
        claims.remove("scp");
        claims.insert("idtyp".into(), json!("app"));
        claims.insert("roles".into(), json!(["Partner.Read"]));
    });
    let remaining =
        |response: &reqwest::Response| response.headers()["ratelimit"].to_str().unwrap().to_owned();
    let first = app.get_bearer(&user, "/v1/customers?Size=1").await;
    assert!(remaining(&first).starts_with("\"connection\";r=99;"));
    let second = app.get_bearer(&user, "/v1/customers?Size=1").await;
    assert!(remaining(&second).starts_with("\"connection\";r=98;"));
    let other = app.get_bearer(&application, "/v1/customers?Size=1").await;
    assert!(
        remaining(&other).starts_with("\"connection\";r=99;"),
        "the application's first call: {}",
        remaining(&other)
    );
}

#[tokio::test]
async fn an_application_s_own_token_from_the_authority_passes_through() {
    let app = spawn_app().await;
    let token = sandbox_app_token(app.sandbox()).await;
    let response = app.get_bearer(&token, "/v1/customers?Size=1").await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

// --- answers' headers and request bodies -----------------------------------------------------------------------

#[tokio::test]
async fn customer_data_is_not_stored_and_no_answer_is_sniffed_or_framed() {
    let toml = "\n[admin]\napi_key_sha256 = [\"".to_owned() + &sha256_hex("admin-key") + "\"]\n";
    let app = spawn_sandbox_profile(&toml).await;
    let page = app.get(CONTOSO_KEY, "/v1/customers?Size=2").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let refused = app.get("no-such-key", "/v1/invoices").await;
    assert_eq!(refused.headers()["x-content-type-options"], "nosniff");
    for (path, key) in [("/swagger-ui/", None), ("/status", Some("admin-key"))] {
        let mut request = app.client.get(app.url(path));
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            response.headers()["content-security-policy"],
            "frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_or_is_encoded_is_a_415() {
    let app = spawn_app().await;
    let calls_before = app.sandbox().api_calls();
    let post = |headers: &[(&str, &str)]| {
        let mut request = app
            .client
            .post(app.url(&agreements_path()))
            .header("X-API-Key", CONTOSO_KEY)
            .body(AGREEMENT);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for headers in [
        &[("Content-Type", "text/plain")][..],
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &[("Content-Type", "application/jsonx")],
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "br"),
        ],
    ] {
        let error = gateway_error(post(headers).await.unwrap(), 415).await;
        assert_eq!(
            error["code"], "UnsupportedMediaType",
            "{headers:?}: {error}"
        );
    }
    assert_eq!(app.sandbox().api_calls(), calls_before);
    // JSON in its spellings, and no type at all, are read.
    for content_type in [
        None,
        Some("application/json; charset=utf-8"),
        Some("application/vnd.contoso+json"),
        Some("APPLICATION/JSON"),
    ] {
        let headers: Vec<_> = content_type
            .map(|t| ("Content-Type", t))
            .into_iter()
            .collect();
        let response = post(&headers).await.unwrap();
        assert!(
            [201, 409].contains(&response.status().as_u16()),
            "{content_type:?}: {}",
            response.status()
        );
    }
}

// --- the query in the log --------------------------------------------------------------------------------------

/// A bearer token's shape (header.payload.signature), as a maker might paste one.
const JWT: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtYWtlciJ9.c2lnbmF0dXJl";

#[tokio::test(flavor = "multi_thread")]
async fn a_query_value_that_is_no_documented_parameter_is_redacted_in_the_log() {
    let partner_center = slow_partner_center(Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path("/v1/invoices"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"totalCount": 0, "items": []})),
        )
        .mount(&partner_center)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &partner_center.uri(), "");
    let gateway = Gateway::start_with(&config, &["--log-format", "json"]);
    let response = reqwest::Client::new()
        .get(format!(
            "{}/v1/invoices?Size=5&api_key=hunter2&Offset=0&access_token=eyJsecret\
             &{JWT}=x&pcgw_S3cr3tK3yPastedAsAName",
            gateway.address
        ))
        .header("X-API-Key", "app-key")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let line = gateway.wait_for_line(r#""message":"call""#);
    // A token pasted as a parameter's name is as secret as one pasted as its value.
    for secret in ["hunter2", "eyJsecret", "eyJhbGciOi", "pcgw_S3cr3t"] {
        assert!(!line.contains(secret), "{secret} in {line}");
    }
    let line: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        line["query"],
        "Size=5&REDACTED=REDACTED&Offset=0&REDACTED=REDACTED&REDACTED=REDACTED&REDACTED",
        "{line}"
    );
}
