//! What the gateway makes of a query string: an optional value sent empty, as a flow sends an input mapped to an
//! empty variable, is the same as no value at all.

use crate::common::*;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn an_empty_optional_value_answers_as_if_it_were_left_out() {
    let app = spawn_app().await;
    let agreements = format!("/v1/customers/{SEED_CUSTOMER}/agreements");
    for (with_empty, without) in [
        ("/v1/customers?Size=".to_owned(), "/v1/customers".to_owned()),
        (
            "/v1/customers?size=&ContinuationToken=".to_owned(),
            "/v1/customers".to_owned(),
        ),
        (
            "/v1/invoices?Size=&Offset=".to_owned(),
            "/v1/invoices".to_owned(),
        ),
        (
            "/v1/invoices?Size=5&Offset=".to_owned(),
            "/v1/invoices?Size=5".to_owned(),
        ),
        (
            "/v1/agreements?AgreementType=".to_owned(),
            "/v1/agreements".to_owned(),
        ),
        (format!("{agreements}?AgreementType="), agreements.clone()),
    ] {
        let empty = app.get(CONTOSO_KEY, &with_empty).await;
        assert_eq!(empty.status(), 200, "{with_empty}");
        let empty = json(empty).await;
        let absent = json(app.get(CONTOSO_KEY, &without).await).await;
        assert_eq!(empty, absent, "{with_empty} answers as {without}");
    }
}

#[tokio::test]
async fn partner_center_is_not_sent_the_empty_values() {
    let server = mock_with_tokens("access-token-from-wiremock").await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"totalCount":0,"items":[],"attributes":{"objectType":"Collection"}}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let (app, _state) = gateway_on(&server.uri(), &server.uri(), "").await;
    for path in [
        "/v1/customers?Size=",
        "/v1/invoices?Size=&Offset=",
        "/v1/agreements?AgreementType=",
    ] {
        assert_eq!(app.get("user-key", path).await.status(), 200, "{path}");
    }
    let calls: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "GET")
        .map(|r| match r.url.query() {
            Some(query) => format!("{}?{query}", r.url.path()),
            None => r.url.path().to_owned(),
        })
        .collect();
    assert_eq!(
        calls,
        [
            "/v1/customers",
            "/v1/invoices",
            // An empty AgreementType is no AgreementType: the gateway's default applies.
            "/v1/agreements?agreementType=MicrosoftCustomerAgreement",
        ]
    );
}

#[tokio::test]
async fn malformed_or_repeated_values_are_still_refused_before_partner_center() {
    let app = spawn_app().await;
    let before = app.sandbox().api_calls();
    for path in [
        "/v1/customers?Size=%20",
        "/v1/customers?Size=0",
        // Given twice, empty or not: which one the caller meant is not the gateway's to guess.
        "/v1/customers?Size=&Size=5",
        "/v1/customers?Size=5&size=",
        "/v1/invoices?Offset=&Offset=",
        "/v1/invoices?Offset=x",
        "/v1/agreements?AgreementType=%20",
    ] {
        let response = app.get(CONTOSO_KEY, path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body = json(response).await;
        assert_eq!(body["statusCode"], 400, "{path}: {body}");
    }
    assert_eq!(
        app.sandbox().api_calls(),
        before,
        "nothing reached Partner Center"
    );
}
