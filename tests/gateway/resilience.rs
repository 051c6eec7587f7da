//! Partner Center's faults, one by one: what the caller gets and how many calls Partner Center saw. The table
//! in the README is this file's outcome.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::*;
use partner_center_gateway::clock::Clock;
use partner_center_gateway::sandbox::{Fault, SandboxOptions};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Quick retries, and a timeout no healthy call comes near even on a loaded machine.
const FAST: &str = "retry_base_delay_ms = 10\ntimeout_ms = 5000";
/// For the faults that are about time: Partner Center too slow.
const SHORT_TIMEOUT: &str = "retry_base_delay_ms = 10\ntimeout_ms = 500";

fn customer() -> String {
    format!("/v1/customers/{SEED_CUSTOMER}")
}

/// A mock Partner Center that also issues tokens, answering every GET with `answer`.
async fn partner_center(answer: ResponseTemplate) -> MockServer {
    let server = mock_with_tokens("x").await;
    Mock::given(method("GET"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

/// A mock Partner Center that answers `first` for its first `times` GETs, and a customer after that.
async fn healthy_after(first: ResponseTemplate, times: u64) -> MockServer {
    let server = partner_center(
        ResponseTemplate::new(200).set_body_raw(r#"{"id":"x"}"#, "application/json"),
    )
    .await;
    Mock::given(method("GET"))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(&server)
        .await;
    server
}

/// ConfirmCustomerAgreement for the seed customer on the App+User connection.
async fn confirm_agreement(app: &TestApp) -> reqwest::Response {
    let body = r#"{"primaryContact":{"firstName":"A","lastName":"B","email":"a@b.c"},"templateId":"117a77b0-9360-443b-8795-c6dedc750cf9","dateAgreed":"2018-06-14T00:00:00Z","type":"MicrosoftCustomerAgreement"}"#;
    app.post_json(
        "user-key",
        &format!("/v1/customers/{SEED_CUSTOMER}/agreements"),
        body,
    )
    .await
}

async fn api_calls(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with("/v1/"))
        .count()
}

#[tokio::test]
async fn slow_headers_are_a_504_after_one_call() {
    let pc = partner_center(
        ResponseTemplate::new(200)
            .set_body_string("{}")
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), SHORT_TIMEOUT).await;
    let response = app.get("app-key", &customer()).await;
    assert_eq!(response.status(), 504);
    assert_eq!(json(response).await["code"], "GatewayTimeout");
    assert_eq!(
        api_calls(&pc).await,
        1,
        "a read that timed out is not retried: the caller's wait stays bounded"
    );
}

#[tokio::test]
async fn a_slow_body_is_a_504() {
    let tokens = partner_center(ResponseTemplate::new(404)).await;
    let (pc, requests) = raw_fault_server(RawFault::SlowBody).await;
    let (app, _s) = gateway_on(&pc, &tokens.uri(), SHORT_TIMEOUT).await;
    let response = app.get("app-key", &customer()).await;
    assert_eq!(response.status(), 504);
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_truncated_body_is_retried_then_a_502() {
    let tokens = partner_center(ResponseTemplate::new(404)).await;
    let (pc, requests) = raw_fault_server(RawFault::TruncatedBody).await;
    let (app, _s) = gateway_on(&pc, &tokens.uri(), FAST).await;
    let response = app.get("app-key", &customer()).await;
    assert_eq!(response.status(), 502);
    assert_eq!(json(response).await["code"], "BadGateway");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        3,
        "the first attempt and two retries"
    );
}

#[tokio::test]
async fn a_connection_reset_is_retried_then_a_502() {
    let tokens = partner_center(ResponseTemplate::new(404)).await;
    let (pc, requests) = raw_fault_server(RawFault::Reset).await;
    let (app, _s) = gateway_on(&pc, &tokens.uri(), FAST).await;
    assert_eq!(app.get("app-key", &customer()).await.status(), 502);
    assert_eq!(requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn invalid_json_is_a_502_after_one_call() {
    let pc =
        partner_center(ResponseTemplate::new(200).set_body_raw("{\"id\":", "application/json"))
            .await;
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), FAST).await;
    assert_eq!(app.get("app-key", &customer()).await.status(), 502);
    assert_eq!(api_calls(&pc).await, 1);
}

#[tokio::test]
async fn server_errors_are_retried_and_the_last_one_passes_through() {
    for status in [500, 502, 503] {
        let body = format!(
            r#"{{"code":{status},"description":"Partner Center is unwell.","source":"PartnerFD"}}"#
        );
        let pc = partner_center(
            ResponseTemplate::new(status).set_body_raw(body.clone(), "application/json"),
        )
        .await;
        let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), FAST).await;
        let response = app.get("app-key", &customer()).await;
        assert_eq!(response.status(), status);
        assert_eq!(
            response.text().await.unwrap(),
            body,
            "Partner Center's own error body, unchanged"
        );
        assert_eq!(
            api_calls(&pc).await,
            3,
            "{status}: the first attempt and two retries"
        );
    }
}

#[tokio::test]
async fn a_server_error_that_clears_is_invisible_to_the_caller() {
    let pc = healthy_after(ResponseTemplate::new(503), 1).await;
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), FAST).await;
    assert_eq!(app.get("app-key", &customer()).await.status(), 200);
    assert_eq!(api_calls(&pc).await, 2);
}

/// Partner Center answers 429 with `retry_after` once, then 200: the caller gets the 200, at least a second
/// later (the backoff alone would be 10 ms), after two calls.
async fn a_429_is_waited_out(retry_after: &str) {
    let pc = healthy_after(
        ResponseTemplate::new(429).insert_header("Retry-After", retry_after),
        1,
    )
    .await;
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), FAST).await;
    let started = std::time::Instant::now();
    assert_eq!(app.get("app-key", &customer()).await.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After {retry_after} was honoured"
    );
    assert_eq!(api_calls(&pc).await, 2);
}

#[tokio::test]
async fn a_429_with_a_short_retry_after_in_seconds_is_waited_out() {
    a_429_is_waited_out("1").await;
}

#[tokio::test]
async fn a_429_with_a_short_retry_after_as_a_date_is_waited_out() {
    // HTTP dates count whole seconds: 4 s ahead is at least 3 s ahead once truncated, and still more than a
    // second ahead when the gateway reads it.
    a_429_is_waited_out(&httpdate::fmt_http_date(
        std::time::SystemTime::now() + Duration::from_secs(4),
    ))
    .await;
}

#[tokio::test]
async fn a_429_that_would_overrun_the_budget_is_handed_to_the_caller_in_both_forms() {
    for as_date in [false, true] {
        // The date is made just before use: a gateway start-up in between must not eat into the 120 s.
        let retry_after = match as_date {
            false => "120".to_owned(),
            true => {
                httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120))
            }
        };
        let retry_after = retry_after.as_str();
        let body =
            r#"{"statusCode":429,"message":"Rate limit is exceeded. Try again in 120 seconds."}"#;
        let pc = partner_center(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", retry_after)
                .set_body_raw(body, "application/json"),
        )
        .await;
        let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), FAST).await;
        let response = app.get("app-key", &customer()).await;
        assert_eq!(response.status(), 429);
        let seconds: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((118..=120).contains(&seconds), "{retry_after} → {seconds}");
        assert_eq!(response.text().await.unwrap(), body);
        assert_eq!(api_calls(&pc).await, 1, "no waiting, no retry");
    }
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    for status in [400, 401, 403, 404, 409] {
        let pc = partner_center(
            ResponseTemplate::new(status).set_body_raw(r#"{"code":1}"#, "application/json"),
        )
        .await;
        let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), FAST).await;
        assert_eq!(app.get("app-key", &customer()).await.status(), status);
        assert_eq!(api_calls(&pc).await, 1, "{status}");
    }
}

#[tokio::test]
async fn the_token_endpoint_down_is_a_502_and_partner_center_is_not_called() {
    let pc = MockServer::start().await;
    let (app, _s) = gateway_on(&pc.uri(), &format!("http://{}", free_port_addr()), FAST).await;
    let response = app.get("app-key", &customer()).await;
    assert_eq!(response.status(), 502);
    assert_eq!(api_calls(&pc).await, 0);
}

#[tokio::test]
async fn the_jwks_down_is_a_503_and_partner_center_is_not_called() {
    let pc = partner_center(ResponseTemplate::new(200).set_body_string("{}")).await;
    let issuer = "https://login.example";
    let toml = real_profile(&pc.uri(), &pc.uri(), &std::path::PathBuf::from("/nonexistent/rt"), FAST).replace(
        "[auth]",
        &format!("[auth]\nissuers = [{{ issuer = \"{issuer}/{{tenantid}}/v2.0\", jwks_uri = \"http://{}/keys\" }}]", free_port_addr()),
    );
    let state = tempfile::tempdir().unwrap();
    let toml = toml.replace("/nonexistent/rt", temp_file(&state, "rt").to_str().unwrap());
    let app = spawn_toml(&toml).await;
    let token = sign_with_sandbox_key(
        &user_claims(issuer, "2f0c8b4e-6d7a-4c1b-9e3f-5a6b7c8d9e0f"),
        "k1",
    );
    let response = app.get_bearer(&token, &customer()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(json(response).await["code"], "TokenValidationUnavailable");
    assert_eq!(api_calls(&pc).await, 0);
}

#[tokio::test]
async fn an_open_circuit_answers_503_at_once_and_a_good_probe_closes_it() {
    let pc = healthy_after(ResponseTemplate::new(503), 3).await;
    // Three failures open the breaker; a cooldown of zero makes the very next call its probe.
    let extra = format!("{FAST}\nbreaker_failures = 3\nbreaker_cooldown_secs = 0\nmax_retries = 0");
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), &extra).await;
    for _ in 0..3 {
        assert_eq!(app.get("app-key", &customer()).await.status(), 503);
    }
    assert_eq!(
        app.get("app-key", &customer()).await.status(),
        200,
        "the probe succeeds and closes the circuit"
    );
    assert_eq!(app.get("app-key", &customer()).await.status(), 200);

    let pc = partner_center(ResponseTemplate::new(503)).await;
    let extra =
        format!("{FAST}\nbreaker_failures = 3\nbreaker_cooldown_secs = 60\nmax_retries = 0");
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), &extra).await;
    for _ in 0..3 {
        app.get("app-key", &customer()).await;
    }
    let refused = app.get("app-key", &customer()).await;
    assert_eq!(refused.status(), 503);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((59..=60).contains(&retry_after));
    assert_eq!(json(refused).await["code"], "UpstreamUnavailable");
    assert_eq!(api_calls(&pc).await, 3, "an open circuit sends nothing");
}

#[tokio::test]
async fn overload_is_answered_503_not_queued() {
    let pc = partner_center(
        ResponseTemplate::new(200)
            .set_body_raw(r#"{"id":"x"}"#, "application/json")
            // Long enough for the second call to arrive while the first holds the one turn, however loaded.
            .set_delay(Duration::from_secs(2)),
    )
    .await;
    let extra = "retry_base_delay_ms = 10\nmax_concurrent_calls = 1\nmax_queued_calls = 0";
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), extra).await;
    let path = customer();
    let (first, second) = tokio::join!(app.get("app-key", &path), async {
        // Starts once the first call is in flight at Partner Center.
        while api_calls(&pc).await == 0 {
            tokio::task::yield_now().await;
        }
        app.get("app-key", &path).await
    });
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 503);
    assert_eq!(second.headers()["retry-after"], "1");
    assert_eq!(json(second).await["code"], "Overloaded");
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_is_retried_once_with_the_same_request_id_and_stored_once() {
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let state = tempfile::tempdir().unwrap();
    let app = spawn_toml(&real_profile(
        &sandbox.base_url(),
        &sandbox.base_url(),
        &temp_file(&state, "rt"),
        FAST,
    ))
    .await;
    sandbox.inject(Fault::DropAfterCommit, 1);
    let body = r#"{"primaryContact":{"firstName":"Tania","lastName":"Carr","email":"someone@example.com"},"templateId":"117a77b0-9360-443b-8795-c6dedc750cf9","dateAgreed":"2018-06-14T00:00:00.000Z","type":"MicrosoftCustomerAgreement"}"#;
    let response = app
        .post_json(
            "user-key",
            &format!("/v1/customers/{SEED_CUSTOMER}/agreements"),
            body,
        )
        .await;
    assert_eq!(response.status(), 201, "the caller gets the agreement");
    assert_eq!(json(response).await["primaryContact"]["lastName"], "Carr");
    assert_eq!(
        sandbox.agreements_stored(SEED_CUSTOMER),
        1,
        "and Partner Center holds exactly one"
    );
    assert_eq!(sandbox.api_calls(), 2);
}

#[tokio::test]
async fn a_write_that_was_answered_is_never_sent_again() {
    let server = mock_with_tokens("x").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/customers/{SEED_CUSTOMER}/agreements")))
        .respond_with(
            ResponseTemplate::new(503).set_body_raw(r#"{"code":503}"#, "application/json"),
        )
        .mount(&server)
        .await;
    let (app, _s) = gateway_on(&server.uri(), &server.uri(), FAST).await;
    let response = confirm_agreement(&app).await;
    assert_eq!(response.status(), 503);
    assert_eq!(api_calls(&server).await, 1);
}

#[tokio::test]
async fn a_write_that_timed_out_is_retried_with_the_same_request_id() {
    a_write_that_times_out_once_is_answered_by_its_retry(SHORT_TIMEOUT).await;
}

#[tokio::test]
async fn a_write_that_timed_out_is_retried_even_when_one_timeout_outlasts_the_retry_budget() {
    // As by default (timeout 30 s, budget 10 s), scaled down: the budget is spent before the first attempt
    // gives up, and still the write is sent again, since only a repeat learns whether it was stored.
    a_write_that_times_out_once_is_answered_by_its_retry(
        "retry_base_delay_ms = 10\ntimeout_ms = 300\nretry_budget_ms = 100",
    )
    .await;
}

#[tokio::test]
async fn a_write_that_timed_out_is_retried_even_when_its_failure_opened_the_breaker() {
    // One failure opens the breaker: the timed-out attempt itself. Its repeat still goes out, since refusing it
    // would leave the caller not knowing whether the agreement was stored.
    a_write_that_times_out_once_is_answered_by_its_retry(
        "retry_base_delay_ms = 10\ntimeout_ms = 500\nbreaker_failures = 1\nbreaker_cooldown_secs = 60",
    )
    .await;
}

/// Partner Center takes the first ConfirmCustomerAgreement too long to answer and the second at once: the caller
/// gets the agreement, and both attempts carried one `MS-RequestId`.
async fn a_write_that_times_out_once_is_answered_by_its_retry(extra: &str) {
    let agreement = r#"{"primaryContact":{"firstName":"A","lastName":"B","email":"a@b.c"},"templateId":"117a77b0-9360-443b-8795-c6dedc750cf9","dateAgreed":"2018-06-14T00:00:00Z","type":"MicrosoftCustomerAgreement"}"#;
    let server = mock_with_tokens("x").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/customers/{SEED_CUSTOMER}/agreements")))
        .respond_with(ResponseTemplate::new(201).set_body_raw(agreement, "application/json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/customers/{SEED_CUSTOMER}/agreements")))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_raw(agreement, "application/json")
                .set_delay(Duration::from_secs(5)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (app, _s) = gateway_on(&server.uri(), &server.uri(), extra).await;
    let response = confirm_agreement(&app).await;
    assert_eq!(response.status(), 201);
    assert_eq!(json(response).await["primaryContact"]["lastName"], "B");
    let writes: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/agreements"))
        .collect();
    assert_eq!(writes.len(), 2);
    assert_eq!(
        writes[0].headers["ms-requestid"],
        writes[1].headers["ms-requestid"]
    );
}

/// Enough quota that polling the gateway for a state change never meets it.
const NO_QUOTA_IN_THE_WAY: &str = "\n[quota]\ncalls = 1000000\nperiod_secs = 60\n";

/// A caller that gives up after `patience`, as a client with a timeout does.
async fn give_up_after(app: &TestApp, patience: Duration) -> reqwest::Error {
    app.client
        .get(app.url(&customer()))
        .header("X-API-Key", "app-key")
        .timeout(patience)
        .send()
        .await
        .expect_err("the caller gives up before an answer comes")
}

#[tokio::test]
async fn a_probe_whose_caller_gave_up_reopens_the_circuit_and_the_next_probe_closes_it() {
    // Partner Center fails once, then is healthy but slower than the probe's caller is patient.
    let pc = partner_center(
        ResponseTemplate::new(200)
            .set_body_raw(r#"{"id":"x"}"#, "application/json")
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&pc)
        .await;
    let extra = format!(
        "retry_base_delay_ms = 10\ntimeout_ms = 5000\nmax_retries = 0\nbreaker_failures = 1\nbreaker_cooldown_secs = 5{NO_QUOTA_IN_THE_WAY}"
    );
    let state = tempfile::tempdir().unwrap();
    let clock = Clock::manual();
    let app = spawn_toml_with_clock(
        &real_profile(&pc.uri(), &pc.uri(), &temp_file(&state, "rt"), &extra),
        clock.clone(),
    )
    .await;
    assert_eq!(app.get("app-key", &customer()).await.status(), 500);
    assert_eq!(
        app.get("app-key", &customer()).await.headers()["retry-after"],
        "5",
        "one failure opened the circuit"
    );

    clock.advance(Duration::from_secs(5));
    // Patient enough to reach the breaker on a loaded machine, gone long before Partner Center's 3 s answer.
    assert!(
        give_up_after(&app, Duration::from_millis(500))
            .await
            .is_timeout(),
        "the probe is out, and its caller leaves before Partner Center answers"
    );
    // The gateway learns the caller left when it next reads that connection; until then the circuit is
    // half-open and says to come back in a second.
    let reopened = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let response = app.get("app-key", &customer()).await;
            assert_eq!(response.status(), 503);
            if response.headers()["retry-after"] == "5" {
                return response;
            }
        }
    })
    .await
    .expect("the abandoned probe leaves the circuit open again for a whole cooldown, not half-open for good");
    assert_eq!(json(reopened).await["code"], "UpstreamUnavailable");

    clock.advance(Duration::from_secs(5));
    assert_eq!(
        app.get("app-key", &customer()).await.status(),
        200,
        "the next probe reaches Partner Center and closes the circuit"
    );
    assert_eq!(app.get("app-key", &customer()).await.status(), 200);
}

#[tokio::test]
async fn callers_who_give_up_while_queued_leave_the_queue() {
    // Partner Center answers the first call in three seconds, the rest at once.
    let pc = healthy_after(
        ResponseTemplate::new(200)
            .set_body_raw(r#"{"id":"x"}"#, "application/json")
            .set_delay(Duration::from_secs(3)),
        1,
    )
    .await;
    let extra = format!(
        "max_concurrent_calls = 1\nmax_queued_calls = 2\nqueue_timeout_ms = 10000{NO_QUOTA_IN_THE_WAY}"
    );
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), &extra).await;
    let path = customer();
    let (first, ()) = tokio::join!(app.get("app-key", &path), async {
        // Starts once the first call holds the one turn, at Partner Center.
        while api_calls(&pc).await == 0 {
            tokio::task::yield_now().await;
        }
        // Patient enough to be queued on a loaded machine, gone long before the first call ends.
        let (a, b) = tokio::join!(
            give_up_after(&app, Duration::from_millis(500)),
            give_up_after(&app, Duration::from_millis(500))
        );
        assert!(
            a.is_timeout() && b.is_timeout(),
            "both waited for a turn and gave up"
        );
        // The gateway learns they left when it next reads their connections; a caller that comes before that
        // still finds the queue full. Well before the first call ends, a caller must find room and wait.
        let deadline = std::time::Instant::now() + Duration::from_millis(1000);
        let queued = loop {
            let response = app.get("app-key", &customer()).await;
            if response.status() != 503 || std::time::Instant::now() >= deadline {
                break response;
            }
        };
        assert_eq!(
            queued.status(),
            200,
            "a caller queued behind the first call is served, not refused by callers long gone"
        );
    });
    assert_eq!(first.status(), 200);
    assert_eq!(api_calls(&pc).await, 2);
}
