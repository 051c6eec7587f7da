//! SIGTERM on the real binary: it stops accepting, lets the calls in flight finish within
//! `server.shutdown_grace_secs`, and exits 0 when they all did.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::*;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The binary, killed when the test ends (passed or not) so that no server outlives its test. The reload tests
/// signal it, and `logs.rs` runs it too.
pub(crate) struct Gateway {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line the process has written so far, whoever looked at it.
    history: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub(crate) address: String,
}

impl Gateway {
    pub(crate) fn start(config: &Path) -> Self {
        Self::start_with(config, &[])
    }

    /// The binary on `config`, with `args` after it (`--log-format json`).
    pub(crate) fn start_with(config: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_partner-center-gateway"))
            .arg("--config")
            .arg(config)
            .args(args)
            // real_profile's client secret file is relative to the repository.
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        // Read on a thread, so a line that never comes fails the test at a deadline instead of hanging it.
        let (tx, lines) = mpsc::channel();
        let history = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&history);
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line.clone());
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut gateway = Self {
            child,
            lines,
            history,
            address: String::new(),
        };
        let listening = gateway.wait_for_line("partner-center-gateway listening");
        // In text, `address=...`; in JSON, an `address` field.
        let address = match serde_json::from_str::<serde_json::Value>(&listening) {
            Ok(line) => line["address"].as_str().map(str::to_owned),
            Err(_) => listening
                .split_whitespace()
                .find_map(|w| w.strip_prefix("address="))
                .map(str::to_owned),
        }
        .expect("the listening line names the address");
        gateway.address = format!("http://{address}");
        gateway
    }

    /// The next log line, or `None` when none comes before `deadline`.
    pub(crate) fn next_line(&self, deadline: Instant) -> Option<String> {
        self.lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .ok()
    }

    /// The first log line from now on that contains `needle`.
    pub(crate) fn wait_for_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no log line with {needle:?} ({e})"),
            }
        }
    }

    /// The log lines written since the last look (or the last `wait_for_line`), without waiting.
    pub(crate) fn lines_so_far(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Every line the process has written so far, including those already looked at.
    pub(crate) fn all_lines(&self) -> Vec<String> {
        self.history.lock().unwrap().clone()
    }

    pub(crate) fn sigterm(&self) {
        self.signal("TERM");
    }

    /// Sends the signal `name` (`TERM`, `HUP`) to the process.
    pub(crate) fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Waits for the process to exit, at most `within`; returns its status and what it wrote to stderr.
    pub(crate) fn exit(&mut self, within: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status, stderr)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ROLLED_REFRESH_TOKEN: &str = "refresh-token-rolled-by-the-test";

/// Partner Center and its token authority in one wiremock: tokens at once (a rolled refresh token for App+User),
/// customer details after `delay`, each naming its customer and padded so a truncated body cannot pass for whole.
pub(crate) async fn slow_partner_center(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/[^/]+/oauth2/v2\.0/token$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer",
            "expires_in": 3599,
            "access_token": "x",
            "refresh_token": ROLLED_REFRESH_TOKEN,
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1/customers/[^/]+$"))
        .respond_with(move |request: &Request| {
            let id = request.url.path().rsplit('/').next().unwrap();
            ResponseTemplate::new(200)
                .set_body_json(customer(id))
                .set_delay(delay)
        })
        .mount(&server)
        .await;
    server
}

fn customer(id: &str) -> serde_json::Value {
    serde_json::json!({ "id": id, "companyProfile": { "companyName": "x".repeat(16 * 1024) } })
}

pub(crate) fn customer_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// Waits until Partner Center has received `n` customer calls: they are then in flight in the gateway.
async fn wait_for_calls_upstream(server: &MockServer, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let received = server.received_requests().await.unwrap_or_default();
        if received.iter().filter(|r| r.method == "GET").count() >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{n} calls never reached Partner Center"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(crate) fn write_config(dir: &Path, upstream: &str, server_extra: &str) -> std::path::PathBuf {
    let toml = with_server_keys(
        &real_profile(upstream, upstream, &dir.join("user.refresh-token"), ""),
        server_extra,
    );
    let config = dir.join("gateway.toml");
    std::fs::write(&config, toml).unwrap();
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_answers_every_accepted_call_in_full_then_exits_0() {
    let partner_center = slow_partner_center(Duration::from_secs(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut gateway = Gateway::start(&write_config(dir.path(), &partner_center.uri(), ""));
    let client = reqwest::Client::new();
    let calls: Vec<_> = (0..20)
        .map(|i| {
            let request = client
                .get(format!(
                    "{}/v1/customers/{}",
                    gateway.address,
                    customer_id(i)
                ))
                .header("X-API-Key", if i % 2 == 0 { "app-key" } else { "user-key" });
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                (response.status(), response.text().await.unwrap())
            })
        })
        .collect();
    wait_for_calls_upstream(&partner_center, 20).await;

    gateway.sigterm();
    gateway.wait_for_line("stopped accepting connections");
    let late = reqwest::Client::new()
        .get(format!(
            "{}/v1/customers/{}",
            gateway.address,
            customer_id(99)
        ))
        .header("X-API-Key", "app-key")
        .timeout(Duration::from_secs(30))
        .send()
        .await;

    let late = late.expect_err("a call after SIGTERM is refused");
    assert!(late.is_connect(), "refused, not left hanging: {late}");
    for (i, call) in calls.into_iter().enumerate() {
        let (status, body) = call.await.unwrap();
        assert_eq!(status, 200, "call {i}: {body}");
        let body: serde_json::Value = serde_json::from_str(&body).expect("a complete JSON body");
        assert_eq!(body, customer(&customer_id(i)), "call {i}");
    }
    let (status, stderr) = gateway.exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{stderr}");
    // The App+User connection's rolled refresh token was on disk before it was used: nothing lost on the way out.
    let on_disk = std::fs::read_to_string(dir.path().join("user.refresh-token")).unwrap();
    assert_eq!(on_disk.trim(), ROLLED_REFRESH_TOKEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_still_in_flight_when_the_grace_period_ends_are_cut_off_and_named() {
    // Far longer than the grace period and than the test's own deadlines.
    let partner_center = slow_partner_center(Duration::from_secs(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &partner_center.uri(), "shutdown_grace_secs = 1");
    let mut gateway = Gateway::start(&config);
    let request = reqwest::Client::new()
        .get(format!(
            "{}/v1/customers/{}",
            gateway.address,
            customer_id(7)
        ))
        .header("X-API-Key", "app-key");
    let call = tokio::spawn(request.send());
    wait_for_calls_upstream(&partner_center, 1).await;

    gateway.sigterm();
    let cut_off = gateway.wait_for_line("cut off");
    let (status, stderr) = gateway.exit(Duration::from_secs(30));

    assert!(
        cut_off.contains(&format!("GET /v1/customers/{}", customer_id(7))),
        "{cut_off}"
    );
    assert!(!status.success(), "an unclean drain does not exit 0");
    assert!(stderr.contains("1 call(s) still in flight"), "{stderr}");
    assert!(
        call.await.unwrap().is_err(),
        "the cut-off call gets no answer"
    );
}

/// A SIGTERM that cuts off a call while its refresh-token exchange is under way still leaves the rolled token on
/// disk: the authority has already voided the old one, so exiting before the write would cost the connection
/// its sign-in.
#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_exchange_under_way_at_exit_is_written_before_the_process_ends() {
    let authority = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/[^/]+/oauth2/v2\.0/token$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(1500))
                .set_body_json(serde_json::json!({
                    "token_type": "Bearer",
                    "expires_in": 3599,
                    "access_token": "x",
                    "refresh_token": ROLLED_REFRESH_TOKEN,
                })),
        )
        .mount(&authority)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &authority.uri(), "shutdown_grace_secs = 0");
    let mut gateway = Gateway::start(&config);
    let call = tokio::spawn(
        reqwest::Client::new()
            .get(format!(
                "{}/v1/customers/{}",
                gateway.address,
                customer_id(1)
            ))
            .header("X-API-Key", "user-key")
            .send(),
    );
    // The exchange is under way once the authority has the request.
    let deadline = Instant::now() + Duration::from_secs(60);
    while authority
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the exchange never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    gateway.sigterm();
    let (status, stderr) = gateway.exit(Duration::from_secs(30));

    assert!(!status.success(), "the call was cut off: {stderr}");
    let on_disk = std::fs::read_to_string(dir.path().join("user.refresh-token")).unwrap();
    assert_eq!(on_disk.trim(), ROLLED_REFRESH_TOKEN, "{stderr}");
    let _ = call.await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_drain_delay_readyz_is_503_at_once_while_calls_are_still_served_then_the_listener_closes()
 {
    let partner_center = slow_partner_center(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &partner_center.uri(), "drain_delay_secs = 3");
    let mut gateway = Gateway::start(&config);
    let client = reqwest::Client::new();
    let ready = client
        .get(format!("{}/readyz", gateway.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    gateway.sigterm();
    gateway.wait_for_line("draining: /readyz answers 503");
    let ready = client
        .get(format!("{}/readyz", gateway.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "not_ready", "checks": {"shutdown": "draining"}})
    );
    // The load balancer has not heard yet: its calls are still answered.
    let call = client
        .get(format!(
            "{}/v1/customers/{}",
            gateway.address,
            customer_id(7)
        ))
        .header("X-API-Key", "app-key")
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 200);

    gateway.wait_for_line("stopped accepting connections");
    let late = reqwest::Client::new()
        .get(format!("{}/readyz", gateway.address))
        .send()
        .await
        .expect_err("the listener is closed after the delay");
    assert!(late.is_connect(), "{late}");
    let (status, stderr) = gateway.exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{stderr}");
}
