//! Partner Center down, slow, or answering nonsense; and what the gateway sends it when it is well.

use std::time::Duration;

use crate::common::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn partner_center_unreachable_is_502() {
    let server = mock_with_tokens("access-token-from-wiremock").await;
    let (app, _state) =
        gateway_on(&format!("http://{}", free_port_addr()), &server.uri(), "").await;
    let response = app
        .get("app-key", &format!("/v1/customers/{SEED_CUSTOMER}"))
        .await;
    assert_eq!(response.status(), 502);
    let body = json(response).await;
    assert_eq!(body["statusCode"], 502);
    assert_eq!(body["code"], "BadGateway");
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "causes are logged, not returned: {body}"
    );
}

#[tokio::test]
async fn partner_center_too_slow_is_504() {
    let server = mock_with_tokens("access-token-from-wiremock").await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("{}")
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let (app, _state) = gateway_on(&server.uri(), &server.uri(), "timeout_ms = 300").await;
    let response = app
        .get("app-key", &format!("/v1/customers/{SEED_CUSTOMER}"))
        .await;
    assert_eq!(response.status(), 504);
    assert_eq!(json(response).await["code"], "GatewayTimeout");
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_502() {
    let server = mock_with_tokens("access-token-from-wiremock").await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("<html>maintenance</html>", "text/html"),
        )
        .mount(&server)
        .await;
    let (app, _state) = gateway_on(&server.uri(), &server.uri(), "").await;
    for path in [
        format!("/v1/customers/{SEED_CUSTOMER}"),
        "/v1/customers".to_owned(),
        "/v1/invoices".to_owned(),
    ] {
        let response = app.get("app-key", &path).await;
        assert_eq!(response.status(), 502, "{path}");
        assert_eq!(json(response).await["code"], "BadGateway");
    }
}

#[tokio::test]
async fn partner_center_gets_the_documented_headers() {
    let server = mock_with_tokens("access-token-from-wiremock").await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{SEED_CUSTOMER}")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"id":"x"}"#, "application/json"))
        .mount(&server)
        .await;
    let (app, _state) = gateway_on(&server.uri(), &server.uri(), "").await;
    let correlation = "aaaa0000-bb11-2222-33cc-444444dddddd";
    let response = app
        .client
        .get(app.url(&format!("/v1/customers/{SEED_CUSTOMER}")))
        .header("X-API-Key", "app-key")
        .header("x-ms-correlation-id", correlation)
        .header("Accept-Language", "pt-BR,pt;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"id":"x"}"#,
        "the body is passed through byte for byte"
    );

    let requests = server.received_requests().await.unwrap();
    let call = requests
        .iter()
        .find(|r| r.method.as_str() == "GET")
        .unwrap();
    let header = |name: &str| {
        call.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header("authorization").unwrap(),
        "Bearer access-token-from-wiremock"
    );
    assert_eq!(header("accept").unwrap(), "application/json");
    assert_eq!(header("ms-correlationid").unwrap(), correlation);
    assert!(uuid::Uuid::try_parse(&header("ms-requestid").unwrap()).is_ok());
    assert_eq!(header("ms-contract-version").unwrap(), "v1");
    assert_eq!(header("x-locale").unwrap(), "pt-BR");
    assert_eq!(
        call.headers
            .get_all("host")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect::<Vec<_>>(),
        [server.uri().trim_start_matches("http://")],
        "one Host, Partner Center's host and port"
    );
    assert!(
        header("x-api-key").is_none(),
        "the caller's key stays at the gateway"
    );
}

#[tokio::test]
async fn the_continuation_token_travels_as_a_header_with_seek_operation_next() {
    let server = mock_with_tokens("access-token-from-wiremock").await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"totalCount":1,"items":[{"id":"a"}],"links":{"next":{"uri":"/customers?size=1&seekOperation=Next","method":"GET","headers":[{"key":"MS-ContinuationToken","value":"tok+/=="}]}},"attributes":{"objectType":"Collection"}}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let (app, _state) = gateway_on(&server.uri(), &server.uri(), "").await;
    let page = json(app.get("app-key", "/v1/customers?Size=1").await).await;
    let next = page["nextLink"].as_str().unwrap();
    assert_eq!(
        next,
        format!(
            "{}/v1/customers?Size=1&ContinuationToken=tok%2B%2F%3D%3D",
            app.address
        )
    );
    app.get_url("app-key", next).await;
    let requests = server.received_requests().await.unwrap();
    let follow = requests
        .iter()
        .filter(|r| r.url.path() == "/v1/customers")
        .nth(1)
        .unwrap();
    assert_eq!(follow.url.query(), Some("size=1&seekOperation=Next"));
    assert_eq!(follow.headers["ms-continuationtoken"], "tok+/==");
}

/// A maker's own token reaches Partner Center as `Bearer <token>`, the same bytes whether the maker sent that
/// or another spelling the gateway accepts (`bearer`, more spaces).
#[tokio::test]
async fn a_makers_token_reaches_partner_center_as_bearer_and_the_token_however_it_was_sent() {
    let issuer = spawn_app().await;
    let sandbox = issuer.sandbox().base_url();
    let server = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{SEED_CUSTOMER}")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"id":"x"}"#, "application/json"))
        .mount(&server)
        .await;
    let state = tempfile::tempdir().unwrap();
    let profile = real_profile(&server.uri(), &server.uri(), &temp_file(&state, "rt"), "").replace(
        "[auth]\n",
        &format!(
            "[auth]\nissuers = [{{ issuer = \"{sandbox}/{{tenantid}}/v2.0\", jwks_uri = \"{sandbox}/common/discovery/v2.0/keys\" }}]\n"
        ),
    );
    let app = spawn_toml(&profile).await;
    let token = sign_with_sandbox_key(
        &user_claims(&sandbox, "11111111-2222-4333-8444-555555555555"),
        "sandbox-key-1",
    );
    for sent in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER   {token}  "),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/v1/customers/{SEED_CUSTOMER}")))
            .header("Authorization", &sent)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{sent}");
    }
    let forwarded: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    let expected = format!("Bearer {token}");
    assert_eq!(forwarded.len(), 3);
    for (sent, got) in ["Bearer", "bearer", "BEARER   "].iter().zip(&forwarded) {
        // Only the scheme and spacing are shown on failure: the token is a kilobyte of base64.
        assert!(
            *got == expected,
            "sent as {sent:?}, forwarded as {:?}…",
            &got[..got.len().min(12)]
        );
    }
}
