//! `/readyz`: ready when Partner Center and the token authority answer, not ready (503, naming the check) when
//! one cannot be reached, and the result reused for a moment so a storm of probes costs Partner Center one
//! request. (Not ready during the drain: `shutdown.rs`, on the real binary.)

use std::time::Duration;

use crate::common::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn readyz(app: &TestApp) -> (u16, serde_json::Value) {
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (status, json(response).await)
}

#[tokio::test]
async fn the_sandbox_profile_is_ready_and_says_what_it_checked() {
    let app = spawn_app().await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({
            "status": "ready",
            "checks": {
                "configuration": "ok",
                "listener": "ok",
                "partner_center": "ok",
                "token_authority": "ok",
                "redis": "not configured",
            }
        })
    );
    // Alive is a different question, and answered as before.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn an_unreachable_partner_center_is_503_naming_it_and_no_address() {
    let authority = mock_with_tokens("access").await;
    let closed = format!("http://{}", free_port_addr());
    let (app, _state) = gateway_on(&closed, &authority.uri(), "").await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(
        body["checks"]["partner_center"],
        "unreachable: cannot connect"
    );
    assert_eq!(body["checks"]["token_authority"], "ok");
    let port = closed.rsplit(':').next().unwrap();
    assert!(!body.to_string().contains(port), "no address in {body}");
}

#[tokio::test]
async fn a_token_authority_that_does_not_answer_in_time_is_503_naming_it() {
    let partner_center = MockServer::start().await;
    let silent = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_delay(Duration::from_secs(10)))
        .mount(&silent)
        .await;
    let (app, _state) = gateway_on(&partner_center.uri(), &silent.uri(), "").await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["checks"]["partner_center"], "ok",
        "any answer, a 404 too"
    );
    assert_eq!(
        body["checks"]["token_authority"],
        "unreachable: no answer in time"
    );
}

#[tokio::test]
async fn a_storm_of_probes_reaches_partner_center_once() {
    let partner_center = MockServer::start().await;
    let authority = mock_with_tokens("access").await;
    let (app, _state) = gateway_on(&partner_center.uri(), &authority.uri(), "").await;
    // At once, so most arrive while the first probe is still out: they wait for its result.
    let probes: Vec<_> = (0..50)
        .map(|_| tokio::spawn(app.client.get(app.url("/readyz")).send()))
        .collect();
    for probe in probes {
        assert_eq!(probe.await.unwrap().unwrap().status(), 200);
    }
    let received = partner_center.received_requests().await.unwrap();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].url.path(), "/");
    assert!(
        received[0].headers.get("authorization").is_none(),
        "a probe carries no credential"
    );
}
