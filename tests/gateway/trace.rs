//! W3C trace context: a caller's valid `traceparent` is continued (Partner Center sees the same trace-id with the
//! gateway's span as parent, and the answer names that span), an invalid one starts a new trace rather than
//! failing the call, and a call without one gets one.

use crate::common::*;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_PARENT: &str = "00f067aa0ba902b7";

/// The gateway on a wiremock Partner Center that answers any customer, and that Partner Center.
async fn gateway() -> (TestApp, tempfile::TempDir, MockServer, MockServer) {
    let tokens = mock_with_tokens("access").await;
    let partner_center = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1/customers/[^/]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "x"})))
        .mount(&partner_center)
        .await;
    let (app, state) = gateway_on(&partner_center.uri(), &tokens.uri(), "").await;
    (app, state, partner_center, tokens)
}

/// Calls the gateway with `headers`; returns the answer's `traceparent` and what Partner Center was sent.
async fn call(headers: &[(&str, &str)]) -> (String, Option<String>, Option<String>) {
    let (app, _state, partner_center, _tokens) = gateway().await;
    let mut request = app
        .client
        .get(app.url(&format!("/v1/customers/{SEED_CUSTOMER}")))
        .header("X-API-Key", "app-key");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let returned = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    let received = partner_center.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let header = |name: &str| {
        received[0]
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    (returned, header("traceparent"), header("tracestate"))
}

/// `(trace-id, parent-id, flags)` of a version-00 `traceparent`.
fn fields(traceparent: &str) -> (String, String, String) {
    let parts: Vec<_> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(parts[0], "00", "{traceparent}");
    assert!(
        parts[1].len() == 32 && parts[2].len() == 16 && parts[3].len() == 2,
        "{traceparent}"
    );
    let hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    assert!(parts[1..].iter().all(|p| hex(p)), "{traceparent}");
    assert!(parts[1] != "0".repeat(32) && parts[2] != "0".repeat(16));
    (parts[1].into(), parts[2].into(), parts[3].into())
}

#[tokio::test]
async fn a_callers_trace_is_continued_to_partner_center_with_the_gateways_span_as_parent() {
    let caller = format!("00-{CALLER_TRACE}-{CALLER_PARENT}-01");
    let (returned, sent, state) = call(&[
        ("traceparent", &caller),
        ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
    ])
    .await;
    let sent = sent.expect("Partner Center was sent a traceparent");
    let (trace, parent, flags) = fields(&sent);
    assert_eq!(trace, CALLER_TRACE, "the same trace");
    assert_ne!(parent, CALLER_PARENT, "the gateway's span is the parent");
    assert_eq!(flags, "01", "the caller's sampling decision is kept");
    assert_eq!(
        returned, sent,
        "the answer names the span that called Partner Center"
    );
    assert_eq!(
        state.as_deref(),
        Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
    );
}

#[tokio::test]
async fn an_invalid_traceparent_starts_a_new_trace_and_the_call_still_succeeds() {
    // An all-zero trace-id is what the Recommendation names invalid; the tracestate goes with it.
    let (returned, sent, state) = call(&[
        (
            "traceparent",
            &format!("00-{}-{CALLER_PARENT}-01", "0".repeat(32)),
        ),
        ("tracestate", "rojo=1"),
    ])
    .await;
    let sent = sent.expect("Partner Center was sent a traceparent");
    let (trace, _, _) = fields(&sent);
    assert_ne!(trace, "0".repeat(32));
    assert_eq!(returned, sent);
    assert_eq!(state, None, "no tracestate without a valid traceparent");
}

#[tokio::test]
async fn a_call_without_a_trace_gets_one_that_partner_center_and_the_caller_both_see() {
    let (returned, sent, state) = call(&[]).await;
    let sent = sent.expect("Partner Center was sent a traceparent");
    fields(&sent);
    assert_eq!(returned, sent);
    assert_eq!(state, None);
}

#[tokio::test]
async fn every_answer_names_its_trace_even_a_refusal() {
    let app = spawn_app().await;
    let caller = format!("00-{CALLER_TRACE}-{CALLER_PARENT}-00");
    let response = app
        .client
        .get(app.url("/v1/customers"))
        .header("X-API-Key", "not-a-key")
        .header("traceparent", &caller)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (trace, parent, flags) = fields(response.headers()["traceparent"].to_str().unwrap());
    assert_eq!((trace.as_str(), flags.as_str()), (CALLER_TRACE, "00"));
    assert_ne!(parent, CALLER_PARENT);
}
