//! What happens at the gateway's edge: authentication, the quota, and input that must never reach Partner Center.

use crate::common::*;
use serde_json::Value;

fn assert_gateway_error(body: &Value, status: u16) {
    assert_eq!(body["statusCode"], status, "{body}");
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| m.len() > 10),
        "{body}"
    );
    assert!(
        uuid::Uuid::try_parse(body["correlationId"].as_str().unwrap_or("")).is_ok(),
        "{body}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_400_and_never_reaches_partner_center() {
    let app = spawn_app().await;
    let agreements = format!("/v1/customers/{SEED_CUSTOMER}/agreements");
    let good_body = r#"{"primaryContact":{"firstName":"Tania","lastName":"Carr","email":"someone@example.com"},"templateId":"117a77b0-9360-443b-8795-c6dedc750cf9","dateAgreed":"2018-06-14T00:00:00.000Z","type":"MicrosoftCustomerAgreement"}"#;
    let gets = [
        "/v1/customers/not-a-guid".to_owned(),
        "/v1/customers/c501c3c4-d776-40ef-9ecf-9cefb59442c1x/orders".to_owned(),
        "/v1/customers/%2e%2e%2fv1%2finvoices".to_owned(),
        "/v1/customers/{c501c3c4-d776-40ef-9ecf-9cefb59442c1}/subscriptions".to_owned(),
        "/v1/customers?Size=0".to_owned(),
        "/v1/customers?Size=501".to_owned(),
        "/v1/customers?Size=-3".to_owned(),
        "/v1/customers?Size=ten".to_owned(),
        "/v1/customers?Size=5&Size=6".to_owned(),
        "/v1/customers?ContinuationToken=a%0D%0Ab".to_owned(),
        "/v1/invoices?Offset=-1".to_owned(),
        "/v1/invoices?Offset=1.5".to_owned(),
        "/v1/invoices?Size=0".to_owned(),
        format!("/v1/customers/{SEED_CUSTOMER}/partners/48a/subscriptions"),
        format!("/v1/customers/{SEED_CUSTOMER}/partners/48%2F3/subscriptions"),
        "/v1/agreements?AgreementType=Microsoft%20Customer".to_owned(),
    ];
    let posts = [
        "{".to_owned(),
        "not json".to_owned(),
        "[]".to_owned(),
        r#"{"templateId":"117a77b0-9360-443b-8795-c6dedc750cf9"}"#.to_owned(),
        good_body.replace("someone@example.com", ""),
        good_body.replace("2018-06-14T00:00:00.000Z", "June"),
    ];
    let (api_before, tokens_before) = (app.sandbox().api_calls(), app.sandbox().token_calls());
    for path in &gets {
        let response = app.get(CONTOSO_KEY, path).await;
        assert_eq!(response.status(), 400, "GET {path}");
        assert_gateway_error(&json(response).await, 400);
    }
    for body in &posts {
        let response = app.post_json(CONTOSO_KEY, &agreements, body.clone()).await;
        assert_eq!(
            response.status(),
            400,
            "POST {}",
            &body[..body.len().min(80)]
        );
        assert_gateway_error(&json(response).await, 400);
    }
    // A declared length over server.max_body_bytes is refused on the head alone.
    let oversized = format!(r#"{{"pad":"{}","x":1}}"#, "x".repeat(65 * 1024));
    let response = app.post_json(CONTOSO_KEY, &agreements, oversized).await;
    assert_eq!(response.status(), 413);
    assert_gateway_error(&json(response).await, 413);
    let response = app
        .post_json(CONTOSO_KEY, "/v1/customers/nope/agreements", good_body)
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        app.sandbox().api_calls(),
        api_before,
        "no bad input reached Partner Center"
    );
    assert_eq!(
        app.sandbox().token_calls(),
        tokens_before,
        "no bad input cost a token request"
    );
}

#[tokio::test]
async fn missing_or_unknown_keys_get_401_with_www_authenticate() {
    let app = spawn_app().await;
    let path = app.url(&format!("/v1/customers/{SEED_CUSTOMER}"));
    let missing = app.client.get(&path).send().await.unwrap();
    let unknown = app
        .client
        .get(&path)
        .header("X-API-Key", "demo-key-nobody")
        .send()
        .await
        .unwrap();
    for response in [missing, unknown] {
        assert_eq!(response.status(), 401);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("X-API-Key")
        );
        assert_gateway_error(&json(response).await, 401);
    }
    assert_eq!(app.sandbox().api_calls(), 0);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_refused_without_authentication() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/v2/customers"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_gateway_error(&json(response).await, 404);
    let response = app
        .client
        .delete(app.url(&format!("/v1/customers/{SEED_CUSTOMER}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(app.sandbox().api_calls(), 0);
}

#[tokio::test]
async fn the_101st_call_in_a_minute_gets_429_while_another_connection_is_served() {
    let state = tempfile::tempdir().unwrap();
    // The quota's clock stands still: on real time, a slow machine taking over 0.6 s for the 100 calls would
    // have earned a 101st.
    let clock = partner_center_gateway::clock::Clock::manual();
    let app = spawn_toml_with_clock(&sandbox_profile(&state.path().join("rt")), clock).await;
    let path = format!("/v1/customers/{SEED_CUSTOMER}");
    for i in 0..100 {
        assert_eq!(app.get(CONTOSO_KEY, &path).await.status(), 200, "call {i}");
    }
    let upstream_before = app.sandbox().api_calls();
    let refused = app.get(CONTOSO_KEY, &path).await;
    assert_eq!(refused.status(), 429);
    // 100 calls a minute refill one call every 0.6 s: the next admission is under a second away.
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(
        refused.text().await.unwrap(),
        r#"{"statusCode":429,"message":"Rate limit is exceeded. Try again in 1 seconds."}"#
    );
    assert_eq!(
        app.sandbox().api_calls(),
        upstream_before,
        "an over-quota call never reaches Partner Center"
    );
    assert_eq!(
        app.get(FABRIKAM_KEY, &path).await.status(),
        200,
        "another connection is still served"
    );
}

#[tokio::test]
async fn a_per_connection_quota_override_applies() {
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("rt")).replace(
        "id = \"fabrikam-demo\"",
        "id = \"fabrikam-demo\"\nquota = { calls = 2, period_secs = 3600 }",
    );
    let app = spawn_toml(&toml).await;
    let path = format!("/v1/customers/{SEED_CUSTOMER}");
    assert_eq!(app.get(FABRIKAM_KEY, &path).await.status(), 200);
    assert_eq!(app.get(FABRIKAM_KEY, &path).await.status(), 200);
    let refused = app.get(FABRIKAM_KEY, &path).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1799..=1800).contains(&retry_after), "{retry_after}");
    assert_eq!(app.get(CONTOSO_KEY, &path).await.status(), 200);
}

#[tokio::test]
async fn no_caller_input_can_change_the_host_the_gateway_calls() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let evil = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&evil)
        .await;
    let pc = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "x"
        })))
        .mount(&pc)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"items":[]}"#, "application/json"),
        )
        .mount(&pc)
        .await;
    let state = tempfile::tempdir().unwrap();
    let app = spawn_toml(&real_profile(
        &pc.uri(),
        &pc.uri(),
        &temp_file(&state, "rt"),
        "",
    ))
    .await;
    let evil_host = evil.address().to_string();
    let attempts = [
        format!("/v1/customers/http:%2F%2F{evil_host}%2Fv1%2Fcustomers"),
        format!("/v1/customers/@{evil_host}"),
        format!("/v1/customers/%40{evil_host}/orders"),
        format!("/v1/customers/{SEED_CUSTOMER}/partners/%2F%2F{evil_host}/subscriptions"),
        format!("/v1/agreements?AgreementType=http://{evil_host}/"),
        format!("/v1/invoices?Offset=@{evil_host}"),
    ];
    for attempt in &attempts {
        assert_eq!(app.get("app-key", attempt).await.status(), 400, "{attempt}");
    }
    // Accepted as a header value, never as part of a URL.
    let response = app
        .get(
            "app-key",
            &format!("/v1/customers?ContinuationToken=http://{evil_host}/@x"),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        evil.received_requests().await.unwrap().is_empty(),
        "nothing reached another host"
    );
}

#[tokio::test]
async fn hostile_headers_and_bodies_get_4xx_and_nothing_panics() {
    let app = spawn_app().await;
    let agreements = format!("/v1/customers/{SEED_CUSTOMER}/agreements");
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let wrong_types = r#"{"primaryContact":"Tania","templateId":7,"dateAgreed":[],"type":null}"#;
    for body in [deep.as_str(), wrong_types, "\u{0}\u{1}binary", "null"] {
        let response = app
            .post_json(CONTOSO_KEY, &agreements, body.to_owned())
            .await;
        assert_eq!(response.status(), 400, "{}", &body[..body.len().min(40)]);
    }
    let non_ascii = reqwest::header::HeaderValue::from_bytes("chave-ção".as_bytes()).unwrap();
    let response = app
        .client
        .get(app.url("/v1/invoices"))
        .header("X-API-Key", non_ascii)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let calls_before = app.sandbox().api_calls();
    let odd = reqwest::header::HeaderValue::from_bytes("pt-BR\u{00e7}".as_bytes()).unwrap();
    for name in [
        "Accept-Language",
        "x-ms-correlation-id",
        "x-ms-client-tracking-id",
    ] {
        let response = app
            .client
            .get(app.url("/v1/invoices?Size=1"))
            .header("X-API-Key", FABRIKAM_KEY)
            .header(name, odd.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{name}");
        let body = json(response).await;
        assert_eq!(body["code"], "InvalidHeader", "{name}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(&name.to_ascii_lowercase()),
            "{body}"
        );
    }
    assert_eq!(
        app.sandbox().api_calls(),
        calls_before,
        "no refused header reached Partner Center"
    );
    // An ASCII value that is not a language tag or a GUID is a hint the gateway does not use, not an error.
    let response = app
        .client
        .get(app.url("/v1/invoices?Size=1"))
        .header("X-API-Key", FABRIKAM_KEY)
        .header("Accept-Language", "*")
        .header("x-ms-correlation-id", "run-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let long = "9".repeat(10_000);
    assert_eq!(
        app.get(CONTOSO_KEY, &format!("/v1/customers?Size={long}"))
            .await
            .status(),
        400
    );
    assert_eq!(
        app.get(CONTOSO_KEY, &format!("/v1/invoices?Offset={long}"))
            .await
            .status(),
        400
    );
}

/// A CR inside a header value is how a header is smuggled into another. No HTTP client library sends one, so
/// the request is written by hand. (A bare LF is a line ending, as RFC 9112 allows, so what follows it is a
/// header of its own; the gateway forwards no caller header as it is, so it goes nowhere.)
#[tokio::test]
async fn a_cr_inside_a_header_is_a_400_before_anything_else_runs() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    for injected in ["en\rX-Injected: 1", "en\r"] {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let request = format!(
            "GET /v1/invoices?Size=1 HTTP/1.1\r\nHost: {address}\r\nX-API-Key: {FABRIKAM_KEY}\r\n\
             Accept-Language: {injected}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{injected:?}: {answer}");
    }
    assert_eq!(
        app.sandbox().api_calls(),
        0,
        "nothing reached Partner Center"
    );
}

/// The sandbox profile with the server's header and body timeouts set to `ms`.
fn with_client_timeouts(ms: u64, state: &tempfile::TempDir) -> String {
    with_server_keys(
        &sandbox_profile(&state.path().join("contoso.refresh-token")),
        &format!("header_timeout_ms = {ms}\nbody_timeout_ms = {ms}"),
    )
}

/// A client that sends nothing, or its headers a little at a time (slowloris), or the cleartext HTTP/2
/// preface and then nothing, loses the connection once `server.header_timeout_ms` has passed, instead of
/// holding it, and a task, forever.
#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let state = tempfile::tempdir().unwrap();
    let app = spawn_toml(&with_client_timeouts(300, &state)).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let partial_headers = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n");
    for sent in [
        "",
        partial_headers.as_str(),
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ] {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(sent.as_bytes()).await.unwrap();
        let started = std::time::Instant::now();

        let mut rest = Vec::new();
        let closed = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            stream.read_to_end(&mut rest),
        )
        .await;

        // hyper's own default is 30 s: closing well before it shows the configured 300 ms is the one at work.
        assert!(closed.is_ok(), "{sent:?}: still open after 30 s");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{sent:?}: closed only after {:?}",
            started.elapsed()
        );
        let answer = String::from_utf8_lossy(&rest);
        assert!(
            answer.is_empty()
                || answer.starts_with("HTTP/1.1 4")
                || answer.starts_with("HTTP/1.1 5"),
            "{sent:?}: {answer}"
        );
    }
}

/// A body trickled in slower than `server.body_timeout_ms` is a 408 that names the problem, and the write
/// never reaches Partner Center.
#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_a_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let state = tempfile::tempdir().unwrap();
    let app = spawn_toml(&with_client_timeouts(300, &state)).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /v1/customers/{SEED_CUSTOMER}/agreements HTTP/1.1\r\nHost: {address}\r\n\
         X-API-Key: {CONTOSO_KEY}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\
         Connection: close\r\n\r\n{{\"primaryContact\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();

    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_string(&mut answer),
    )
    .await
    .expect("answered well before 30 s")
    .unwrap();

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"RequestTimeout\""), "{answer}");
    assert_eq!(
        app.sandbox().api_calls(),
        0,
        "nothing reached Partner Center"
    );
}
