//! `GET /metrics` as Prometheus reads it: each metric scraped, its event made to happen, scraped again. Every
//! gateway has its own recorder, so these tests (and the others in this binary) cannot move each other's
//! numbers; the comparisons are deltas all the same, so that a number some other step of the same test moved
//! cannot pass for the event's.

use std::time::Duration;

use crate::common::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const FAST: &str = "retry_base_delay_ms = 10\ntimeout_ms = 5000";

/// One scrape, parsed just enough to read samples by name and labels.
struct Scrape(String);

impl Scrape {
    /// The sum of the samples named `name` whose labels include every one of `labels` (0 when there is none).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples(name, labels).sum()
    }

    fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.samples(name, labels).next().is_some()
    }

    fn samples<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = f64> + 'a {
        self.0.lines().filter_map(move |line| {
            if line.starts_with('#') {
                return None;
            }
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, series_labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let all = labels
                .iter()
                .all(|(k, v)| series_labels.contains(&format!("{k}=\"{v}\"")));
            (series_name == name && all).then(|| value.parse().unwrap())
        })
    }
}

async fn scrape_at(client: &reqwest::Client, url: &str) -> Scrape {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "Prometheus's text format"
    );
    Scrape(response.text().await.unwrap())
}

async fn scrape(app: &TestApp) -> Scrape {
    scrape_at(&app.client, &app.url("/metrics")).await
}

fn customer() -> String {
    format!("/v1/customers/{SEED_CUSTOMER}")
}

/// A mock Partner Center that also issues tokens, answering `first` to its first `times` GETs, then a
/// customer.
async fn partner_center(first: ResponseTemplate, times: u64) -> MockServer {
    let server = mock_with_tokens("x").await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"id":"x"}"#, "application/json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_call_counts_under_its_operation_and_status_and_is_timed() {
    let app = spawn_app().await;
    let details = [("operation", "GetCustomerDetails"), ("status", "200")];
    let refused = [("operation", "GetCustomerDetails"), ("status", "401")];
    let timed = [("operation", "GetCustomerDetails")];
    let before = scrape(&app).await;
    assert_eq!(app.get(CONTOSO_KEY, &customer()).await.status(), 200);
    let no_key = app.client.get(app.url(&customer())).send().await.unwrap();
    assert_eq!(no_key.status(), 401);
    // Not an operation: no call of any operation.
    assert_eq!(app.get(CONTOSO_KEY, "/v1/nowhere").await.status(), 404);
    let after = scrape(&app).await;
    assert_eq!(
        after.value("pcgw_calls_total", &details) - before.value("pcgw_calls_total", &details),
        1.0
    );
    assert_eq!(
        after.value("pcgw_calls_total", &refused) - before.value("pcgw_calls_total", &refused),
        1.0,
        "a refused call is its operation's call too"
    );
    assert_eq!(
        after.value("pcgw_calls_total", &[]) - before.value("pcgw_calls_total", &[]),
        2.0
    );
    assert_eq!(
        after.value("pcgw_call_duration_seconds_count", &timed)
            - before.value("pcgw_call_duration_seconds_count", &timed),
        2.0
    );
    assert!(after.value("pcgw_call_duration_seconds_sum", &timed) > 0.0);
    assert!(
        after.has(
            "pcgw_upstream_duration_seconds_count",
            &[
                ("operation", "GetCustomerDetails"),
                ("upstream_status", "200")
            ]
        ),
        "Partner Center's latency by operation and its status: {}",
        after.0
    );
    assert_eq!(after.value("pcgw_calls_in_flight", &[]), 0.0);
    // The paged operations and the write are named by their own operationIds.
    app.get(CONTOSO_KEY, "/v1/paged/invoices").await;
    let paged = scrape(&app).await;
    assert!(
        paged.has("pcgw_calls_total", &[("operation", "ListInvoices")]),
        "{}",
        paged.0
    );
}

#[tokio::test]
async fn a_call_in_flight_is_counted_until_it_is_answered() {
    let pc = partner_center(
        ResponseTemplate::new(200)
            .set_body_raw(r#"{"id":"x"}"#, "application/json")
            .set_delay(Duration::from_secs(2)),
        1,
    )
    .await;
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), FAST).await;
    let path = customer();
    let (answer, during) = tokio::join!(app.get("app-key", &path), async {
        while pc
            .received_requests()
            .await
            .unwrap()
            .iter()
            .all(|r| r.method != "GET")
        {
            tokio::task::yield_now().await;
        }
        scrape(&app).await
    });
    assert_eq!(answer.status(), 200);
    assert_eq!(during.value("pcgw_calls_in_flight", &[]), 1.0);
    assert_eq!(scrape(&app).await.value("pcgw_calls_in_flight", &[]), 0.0);
}

#[tokio::test]
async fn quota_decisions_are_within_then_near_then_over_the_limit() {
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("rt")).replace("calls = 100\n", "calls = 5\n");
    let app = spawn_toml(&toml).await;
    let decisions = |s: &Scrape| {
        ["within_limit", "near_limit", "over_limit"]
            .map(|d| s.value("pcgw_quota_decisions_total", &[("decision", d)]))
    };
    let before = scrape(&app).await;
    assert_eq!(before.value("pcgw_quota_tracked_connections", &[]), 0.0);
    // Five calls of five: 1, 2 and 3 leave 80 % or more; 4 and 5 use 80 % and 100 %; the sixth is refused.
    for _ in 0..5 {
        assert_eq!(app.get(FABRIKAM_KEY, &customer()).await.status(), 200);
    }
    let mid = scrape(&app).await;
    assert_eq!(
        decisions(&mid),
        [3.0, 2.0, 0.0],
        "decisions: {:?}",
        decisions(&mid)
    );
    assert_eq!(app.get(FABRIKAM_KEY, &customer()).await.status(), 429);
    let after = scrape(&app).await;
    assert_eq!(decisions(&after), [3.0, 2.0, 1.0]);
    assert_eq!(
        after.value("pcgw_calls_total", &[("status", "429")]),
        1.0,
        "the throttled call counts as a 429"
    );
    assert_eq!(after.value("pcgw_quota_tracked_connections", &[]), 1.0);
}

#[tokio::test]
async fn a_token_is_a_miss_and_a_request_then_a_hit_and_an_app_user_exchange_rolls_the_refresh_token()
 {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let grant = [("grant", "refresh_token"), ("outcome", "ok")];
    assert_eq!(app.get(CONTOSO_KEY, &customer()).await.status(), 200);
    let first = scrape(&app).await;
    let moved = |name: &str, labels: &[(&str, &str)], a: &Scrape, b: &Scrape| {
        b.value(name, labels) - a.value(name, labels)
    };
    assert_eq!(
        moved("pcgw_token_cache_misses_total", &[], &before, &first),
        1.0
    );
    assert_eq!(
        moved("pcgw_token_cache_hits_total", &[], &before, &first),
        0.0
    );
    assert_eq!(
        moved("pcgw_token_requests_total", &grant, &before, &first),
        1.0
    );
    assert_eq!(
        moved(
            "pcgw_token_request_duration_seconds_count",
            &[("grant", "refresh_token")],
            &before,
            &first
        ),
        1.0
    );
    assert_eq!(
        moved("pcgw_refresh_token_rolls_total", &[], &before, &first),
        1.0
    );
    assert_eq!(app.get(CONTOSO_KEY, &customer()).await.status(), 200);
    let second = scrape(&app).await;
    assert_eq!(
        moved("pcgw_token_cache_hits_total", &[], &first, &second),
        1.0
    );
    assert_eq!(
        moved("pcgw_token_cache_misses_total", &[], &first, &second),
        0.0
    );
    assert_eq!(
        moved("pcgw_token_requests_total", &[], &first, &second),
        0.0
    );
    // The app-only connection's grant is counted under its own name, and rolls nothing.
    assert_eq!(app.get(FABRIKAM_KEY, &customer()).await.status(), 200);
    let third = scrape(&app).await;
    assert_eq!(
        moved(
            "pcgw_token_requests_total",
            &[("grant", "client_credentials"), ("outcome", "ok")],
            &second,
            &third
        ),
        1.0
    );
    assert_eq!(
        moved("pcgw_refresh_token_rolls_total", &[], &second, &third),
        0.0
    );
}

#[tokio::test]
async fn a_refused_refresh_token_is_a_failed_exchange() {
    let authority = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_grant", "error_description": "AADSTS70000: the grant is expired"
        })))
        .mount(&authority)
        .await;
    let (app, _s) = gateway_on(&authority.uri(), &authority.uri(), FAST).await;
    let before = scrape(&app).await;
    assert_eq!(app.get("user-key", &customer()).await.status(), 502);
    let after = scrape(&app).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    assert_eq!(moved("pcgw_refresh_token_failures_total", &[]), 1.0);
    assert_eq!(moved("pcgw_refresh_token_rolls_total", &[]), 0.0);
    assert_eq!(
        moved(
            "pcgw_token_requests_total",
            &[("grant", "refresh_token"), ("outcome", "error")]
        ),
        1.0
    );
}

#[tokio::test]
async fn a_retry_counts_by_reason_and_each_attempt_is_timed_with_its_status() {
    let pc = partner_center(ResponseTemplate::new(503), 1).await;
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), FAST).await;
    let before = scrape(&app).await;
    assert_eq!(app.get("app-key", &customer()).await.status(), 200);
    let after = scrape(&app).await;
    let reason = [("reason", "server_error")];
    assert_eq!(
        after.value("pcgw_upstream_retries_total", &reason)
            - before.value("pcgw_upstream_retries_total", &reason),
        1.0
    );
    for status in ["503", "200"] {
        let labels = [
            ("operation", "GetCustomerDetails"),
            ("upstream_status", status),
        ];
        assert_eq!(
            after.value("pcgw_upstream_duration_seconds_count", &labels),
            1.0,
            "{status}: {}",
            after.0
        );
    }
}

#[tokio::test]
async fn the_breaker_state_is_0_closed_then_2_open() {
    let pc = partner_center(ResponseTemplate::new(503), 1000).await;
    let extra =
        format!("{FAST}\nbreaker_failures = 3\nbreaker_cooldown_secs = 60\nmax_retries = 0");
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), &extra).await;
    let state = |s: &Scrape| s.value("pcgw_breaker_state", &[("upstream", "Partner Center")]);
    let before = scrape(&app).await;
    assert!(before.has("pcgw_breaker_state", &[("upstream", "Partner Center")]));
    assert_eq!(state(&before), 0.0);
    for _ in 0..3 {
        assert_eq!(app.get("app-key", &customer()).await.status(), 503);
    }
    let after = scrape(&app).await;
    assert_eq!(state(&after), 2.0);
    assert_eq!(
        after.value("pcgw_breaker_state", &[("upstream", "token authority")]),
        0.0,
        "the token authority answered"
    );
}

#[tokio::test]
async fn the_breaker_is_1_half_open_while_its_probe_is_out_then_0_closed() {
    let server = mock_with_tokens("x").await;
    // The probe's answer is slow enough to scrape while it is out, however loaded the machine.
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"id":"x"}"#, "application/json")
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    // One failure opens it; a cooldown of zero makes the very next call its probe.
    let extra = format!("{FAST}\nbreaker_failures = 1\nbreaker_cooldown_secs = 0\nmax_retries = 0");
    let (app, _s) = gateway_on(&server.uri(), &server.uri(), &extra).await;
    let state = |s: &Scrape| s.value("pcgw_breaker_state", &[("upstream", "Partner Center")]);
    assert_eq!(app.get("app-key", &customer()).await.status(), 503);
    assert_eq!(state(&scrape(&app).await), 2.0);
    let gets =
        |requests: Vec<wiremock::Request>| requests.iter().filter(|r| r.method == "GET").count();
    let path = customer();
    let (probe, during) = tokio::join!(app.get("app-key", &path), async {
        while gets(server.received_requests().await.unwrap()) < 2 {
            tokio::task::yield_now().await;
        }
        scrape(&app).await
    });
    assert_eq!(state(&during), 1.0);
    assert_eq!(probe.status(), 200);
    assert_eq!(state(&scrape(&app).await), 0.0);
}

#[tokio::test]
async fn a_429_waited_out_is_a_throttled_retry() {
    let pc = partner_center(
        ResponseTemplate::new(429).insert_header("Retry-After", "0"),
        1,
    )
    .await;
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), FAST).await;
    let before = scrape(&app).await;
    assert_eq!(app.get("app-key", &customer()).await.status(), 200);
    let after = scrape(&app).await;
    let throttled = [("reason", "throttled")];
    assert_eq!(
        after.value("pcgw_upstream_retries_total", &throttled)
            - before.value("pcgw_upstream_retries_total", &throttled),
        1.0
    );
    assert_eq!(
        after.value(
            "pcgw_upstream_duration_seconds_count",
            &[("upstream_status", "429")]
        ),
        1.0
    );
}

#[tokio::test]
async fn a_metrics_address_that_cannot_be_bound_names_its_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let state = tempfile::tempdir().unwrap();
    let toml =
        sandbox_profile(&state.path().join("rt")) + &format!("\n[metrics]\nlisten = \"{addr}\"\n");
    let settings = partner_center_gateway::config::Settings::from_toml(&toml).unwrap();
    let e = partner_center_gateway::startup::Application::build(settings)
        .await
        .err()
        .expect("the address is taken")
        .to_string();
    assert!(e.contains("metrics.listen"), "{e}");
}

#[tokio::test]
async fn a_queued_call_is_the_queue_length_and_a_refusal_is_counted() {
    let pc = partner_center(
        ResponseTemplate::new(200)
            .set_body_raw(r#"{"id":"x"}"#, "application/json")
            // Long enough for the others to arrive while the first holds the one turn, however loaded.
            .set_delay(Duration::from_secs(2)),
        1,
    )
    .await;
    let extra = "retry_base_delay_ms = 10\nmax_concurrent_calls = 1\nmax_queued_calls = 1";
    let (app, _s) = gateway_on(&pc.uri(), &pc.uri(), extra).await;
    let before = scrape(&app).await;
    assert_eq!(before.value("pcgw_admission_queue_length", &[]), 0.0);
    let path = customer();
    let (first, second, (queued, third)) = tokio::join!(
        app.get("app-key", &path),
        async {
            // Once the first call holds the one turn at Partner Center, the second waits in the queue.
            while pc
                .received_requests()
                .await
                .unwrap()
                .iter()
                .all(|r| r.method != "GET")
            {
                tokio::task::yield_now().await;
            }
            app.get("app-key", &path).await
        },
        async {
            // A deadline, so that a queue length that never moves fails the test instead of hanging it.
            let queued = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    let scraped = scrape(&app).await;
                    if scraped.value("pcgw_admission_queue_length", &[]) > 0.0 {
                        break scraped;
                    }
                    tokio::task::yield_now().await;
                }
            })
            .await
            .expect("the second call is queued while the first holds the turn");
            (queued, app.get("app-key", &path).await)
        }
    );
    assert_eq!(queued.value("pcgw_admission_queue_length", &[]), 1.0);
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200, "the queued call got its turn");
    assert_eq!(third.status(), 503, "the queue was full");
    let after = scrape(&app).await;
    let full = [("reason", "queue_full")];
    assert_eq!(
        after.value("pcgw_admission_refusals_total", &full)
            - before.value("pcgw_admission_refusals_total", &full),
        1.0
    );
    assert_eq!(after.value("pcgw_admission_queue_length", &[]), 0.0);
}

#[tokio::test]
async fn connection_ids_are_labels_only_when_configured() {
    let off = spawn_app().await;
    off.get(CONTOSO_KEY, &customer()).await;
    let scraped = scrape(&off).await;
    assert!(scraped.value("pcgw_calls_total", &[]) >= 1.0);
    assert!(!scraped.0.contains("connection=\""), "{}", scraped.0);
    assert!(!scraped.0.contains("contoso-demo"), "{}", scraped.0);

    let on = spawn_sandbox_profile("\n[metrics]\nconnection_label = true\n").await;
    on.get(CONTOSO_KEY, &customer()).await;
    let scraped = scrape(&on).await;
    let contoso = [("connection", "contoso-demo")];
    assert_eq!(
        scraped.value("pcgw_calls_total", &contoso),
        1.0,
        "{}",
        scraped.0
    );
    assert_eq!(scraped.value("pcgw_quota_decisions_total", &contoso), 1.0);
    // Neither the key nor its hash: the configuration's ID names the connection.
    assert!(!scraped.0.contains(CONTOSO_KEY));
    assert!(!scraped.0.contains(&sha256_hex(CONTOSO_KEY)));
}

#[tokio::test]
async fn metrics_listen_moves_the_endpoint_to_its_own_listener() {
    let app = spawn_sandbox_profile("\n[metrics]\nlisten = \"127.0.0.1:0\"\n").await;
    let own = app
        .metrics_address
        .clone()
        .expect("metrics.listen binds a listener of its own");
    assert_ne!(own, app.address);
    assert_eq!(app.get(CONTOSO_KEY, &customer()).await.status(), 200);
    let scraped = scrape_at(&app.client, &format!("{own}/metrics")).await;
    assert_eq!(
        scraped.value("pcgw_calls_total", &[("status", "200")]),
        1.0,
        "the main listener's calls, counted"
    );
    let main = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(main.status(), 404);
    // The private listener serves nothing else.
    let other = app
        .client
        .get(format!("{own}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn metrics_are_no_operation_of_the_documents_and_cost_no_quota() {
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("rt")).replace("calls = 100\n", "calls = 1\n");
    let app = spawn_toml(&toml).await;
    for _ in 0..3 {
        let scraped = scrape(&app).await;
        assert_eq!(scraped.value("pcgw_calls_total", &[]), 0.0);
    }
    assert_eq!(
        app.get(CONTOSO_KEY, &customer()).await.status(),
        200,
        "scrapes spent none of the one call"
    );
    let document = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    let document = document.text().await.unwrap();
    assert!(!document.contains("/metrics"), "{document}");
}

#[tokio::test]
async fn build_info_names_the_version_and_commit() {
    let app = spawn_app().await;
    let scraped = scrape(&app).await;
    let version = [("version", env!("CARGO_PKG_VERSION"))];
    assert_eq!(
        scraped.value("pcgw_build_info", &version),
        1.0,
        "{}",
        scraped.0
    );
    let line = scraped
        .0
        .lines()
        .find(|l| l.starts_with("pcgw_build_info{"))
        .unwrap();
    let commit = line
        .split("commit=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(!commit.is_empty());
    // From a git checkout (as the tests run), the commit is the checkout's own.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap());
    // Unless the build was told another one.
    if let (Some(head), Err(_)) = (head, std::env::var("PCGW_GIT_COMMIT")) {
        assert!(head.starts_with(commit), "{commit} is not {head}");
    }
}
