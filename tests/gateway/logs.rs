//! One log line per call, from the real binary with `--log-format json`: its fields say what happened, and the
//! same line in text names the same things.

use std::time::Duration;

use crate::shutdown::{Gateway, customer_id, slow_partner_center, write_config};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CORRELATION: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

#[tokio::test(flavor = "multi_thread")]
async fn each_call_writes_one_json_line_saying_what_happened() {
    let partner_center = slow_partner_center(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &partner_center.uri(), "");
    let gateway = Gateway::start_with(&config, &["--log-format", "json"]);
    let customer = customer_id(3);
    let response = reqwest::Client::new()
        .get(format!("{}/v1/customers/{customer}", gateway.address))
        .header("X-API-Key", "app-key")
        .header("x-ms-correlation-id", CORRELATION)
        .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let line = gateway.wait_for_line(r#""message":"call""#);
    let line: serde_json::Value = serde_json::from_str(&line).expect("the line is JSON");
    let sent = partner_center.received_requests().await.unwrap();
    let customer_call = sent
        .iter()
        .find(|r| r.url.path().starts_with("/v1/customers/"))
        .unwrap();
    let request_id = customer_call.headers["ms-requestid"].to_str().unwrap();
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["operation"], "GetCustomerDetails");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["path"], format!("/v1/customers/{customer}"));
    assert_eq!(line["connection"], "app-conn");
    assert_eq!(line["status"], 200);
    assert_eq!(line["upstream_status"], 200);
    assert_eq!(line["attempts"], 1);
    assert_eq!(line["correlation_id"], CORRELATION);
    assert_eq!(line["request_id"], request_id);
    assert_eq!(line["trace_id"], TRACE);
    let gateway_ms = line["latency_ms"].as_f64().expect("a number");
    let upstream_ms = line["upstream_latency_ms"].as_f64().expect("a number");
    assert!(
        0.0 < upstream_ms && upstream_ms <= gateway_ms,
        "{upstream_ms} within {gateway_ms}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_of_the_gateways_quota_is_not_an_info_line() {
    let partner_center = slow_partner_center(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &partner_center.uri(), "");
    let toml =
        std::fs::read_to_string(&config).unwrap() + "\n[quota]\ncalls = 1\nperiod_secs = 3600\n";
    std::fs::write(&config, toml).unwrap();
    let gateway = Gateway::start_with(&config, &["--log-format", "json"]);
    let client = reqwest::Client::new();
    let url = format!("{}/v1/customers/{}", gateway.address, customer_id(1));
    for expected in [200, 429, 429, 429] {
        let response = client
            .get(&url)
            .header("X-API-Key", "app-key")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected);
    }
    // A call after the refusals: its line is the next `call` line, so none came between.
    let unknown = client
        .get(format!("{}/nowhere", gateway.address))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let first: serde_json::Value =
        serde_json::from_str(&gateway.wait_for_line(r#""message":"call""#)).unwrap();
    assert_eq!(first["status"], 200);
    let next: serde_json::Value =
        serde_json::from_str(&gateway.wait_for_line(r#""message":"call""#)).unwrap();
    assert_eq!(next["status"], 404, "a 429 was logged at INFO: {next}");
}
