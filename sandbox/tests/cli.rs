//! The `partner-center-sandbox` binary, run as someone testing a Partner Center client would run it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use partner_center_sandbox::demo;
use serde_json::Value;

/// Kills the process when the test ends, passed or not, so no server outlives its test.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sandbox(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_partner-center-sandbox"));
    command
        .current_dir(dir)
        .args(args)
        .env_remove("PCGW_CONFIG")
        .envs(env.iter().copied())
        .env("RUST_LOG", "info");
    command
}

/// Starts the binary on a free port and returns it with the URL its `url=` log line names, the one line that
/// says where it listens.
fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Running, String) {
    let mut child = sandbox(dir, args, env)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let child = Running(child);
    // Read on a thread so a process that never logs the line fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut listening = Vec::new();
        for line in stdout.lines().map_while(Result::ok) {
            if line.contains("listening") {
                listening.push(line.clone());
            }
            if let Some(url) = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("url="))
            {
                let _ = tx.send((url.to_owned(), listening));
                return;
            }
        }
    });
    let (url, listening) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the sandbox logs where it listens");
    assert_eq!(listening.len(), 1, "{listening:#?}");
    (child, url)
}

async fn app_only_token(client: &reqwest::Client, url: &str) -> String {
    let scope = format!("{}/.default", demo::PARTNER_CENTER_RESOURCE);
    let response: Value = client
        .post(format!(
            "{url}/{}/oauth2/v2.0/token",
            demo::PARTNER_TENANT_ID
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", demo::CLIENT_SECRET),
            ("scope", scope.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn it_serves_partner_center_from_a_directory_with_no_configuration() {
    let empty = tempfile::tempdir().unwrap();
    let (_sandbox, url) = start(empty.path(), &[], &[]);
    let client = reqwest::Client::new();

    let keys: Value = client
        .get(format!(
            "{url}/{}/discovery/v2.0/keys",
            demo::PARTNER_TENANT_ID
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"][0]["alg"], "RS256");

    let unauthenticated = client
        .get(format!("{url}/v1/customers"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);

    let token = app_only_token(&client, &url).await;
    let page: Value = client
        .get(format!("{url}/v1/customers?size=2"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["id"], demo::SEED_CUSTOMER_ID);
    assert_eq!(
        page["links"]["next"]["headers"][0]["key"],
        "MS-ContinuationToken"
    );
}

/// Two calls under a throttle of one: the second is Partner Center's 429 with its Retry-After.
async fn assert_throttled_after_one_call(url: &str) {
    let client = reqwest::Client::new();
    let first = client
        .get(format!("{url}/v1/invoices"))
        .send()
        .await
        .unwrap();
    let second = client
        .get(format!("{url}/v1/invoices"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 401, "the first call is let through");
    assert_eq!(second.status(), 429);
    let retry_after: u64 = second.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
}

#[tokio::test]
async fn the_sandbox_table_of_a_gateway_configuration_file_turns_the_throttle_on() {
    let dir = tempfile::tempdir().unwrap();
    // A gateway's file: its other tables are the gateway's business and do not stop the sandbox.
    std::fs::write(
        dir.path().join("gateway.toml"),
        "[server]\nlisten = \"127.0.0.1:9\"\n\n[sandbox]\nthrottle = { calls = 1, period_secs = 3600 }\n",
    )
    .unwrap();
    let (_sandbox, url) = start(dir.path(), &["--config", "gateway.toml"], &[]);
    assert_throttled_after_one_call(&url).await;
}

#[tokio::test]
async fn environment_variables_configure_the_sandbox_as_they_do_the_gateway() {
    let empty = tempfile::tempdir().unwrap();
    let (_sandbox, url) = start(
        empty.path(),
        &[],
        &[
            ("PCGW_SANDBOX__THROTTLE__CALLS", "1"),
            ("PCGW_SANDBOX__THROTTLE__PERIOD_SECS", "3600"),
        ],
    );
    assert_throttled_after_one_call(&url).await;
}

/// Runs the binary expecting it to stop on its own, and returns its exit status and standard error. One that
/// keeps serving instead fails the test rather than hanging it.
fn refused(dir: &Path, args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = sandbox(dir, args, &[])
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut child = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        let _ = tx.send(text);
    });
    let stderr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the sandbox stops instead of serving");
    (child.0.wait().unwrap(), stderr)
}

#[test]
fn a_misspelt_sandbox_key_stops_start_up_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sandbox.toml"),
        "[sandbox]\nthrotle = { calls = 1, period_secs = 60 }\n",
    )
    .unwrap();
    let (status, stderr) = refused(dir.path(), &["--config", "sandbox.toml"]);
    assert!(!status.success());
    assert!(stderr.contains("throtle"), "{stderr}");
}

#[test]
fn a_missing_configuration_file_is_named() {
    let empty = tempfile::tempdir().unwrap();
    let (status, stderr) = refused(empty.path(), &["--config", "nope.toml"]);
    assert!(!status.success());
    assert!(stderr.contains("nope.toml"), "{stderr}");
}
