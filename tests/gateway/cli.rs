//! The binary itself: a bad configuration stops start-up with a message that names the key.

use std::process::Command;

fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_partner-center-gateway"))
}

#[test]
fn an_environment_override_with_a_bad_value_names_the_key() {
    let out = gateway()
        .env("PCGW_SERVER__LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("server.listen"), "{stderr}");
}

#[test]
fn a_real_profile_with_the_demo_keys_refuses_to_start() {
    let out = gateway()
        .env(
            "PCGW_UPSTREAM__BASE_URL",
            "https://api.partnercenter.microsoft.com",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("api_key_sha256") && stderr.contains("demo"),
        "{stderr}"
    );
}

#[test]
fn a_missing_configuration_file_is_named() {
    let out = gateway()
        .args(["--config", "config/nope.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("config/nope.toml"));
}

/// Kills the process when the test ends, passed or not, so no server outlives its test.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `args`, waits for the log line that carries `field=` (the address it listens on),
/// and returns the process and that URL.
fn start(args: &[&str], env: &[(&str, &str)], field: &str) -> (Running, String) {
    start_in(std::path::Path::new("."), args, env, field)
}

fn start_in(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
    field: &str,
) -> (Running, String) {
    use std::io::{BufRead, BufReader};
    let mut child = gateway()
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let child = Running(child);
    let prefix = format!("{field}=");
    // Read on a thread so a process that never logs the line fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(value) = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix(prefix.as_str()))
            {
                let _ = tx.send(value.to_owned());
                return;
            }
        }
    });
    let value = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the process logs where it listens");
    let url = if value.starts_with("http") {
        value
    } else {
        format!("http://{value}")
    };
    (child, url)
}

#[test]
fn the_sandbox_subcommand_serves_partner_center_alone() {
    // From a directory with no configuration: the sandbox needs none.
    let elsewhere = tempfile::tempdir().unwrap();
    let (_child, url) = start_in(
        elsewhere.path(),
        &["sandbox", "--listen", "127.0.0.1:0"],
        &[],
        "url",
    );
    let keys = reqwest::blocking_get(&format!(
        "{url}/8f5c9f0a-3f6e-4a4e-9d3b-5d3c2b1a0e9f/discovery/v2.0/keys"
    ));
    let unauthenticated = reqwest::blocking_get(&format!("{url}/v1/customers"));
    assert_eq!(keys.0, 200);
    assert!(keys.1.contains("\"RS256\""), "{}", keys.1);
    assert_eq!(unauthenticated.0, 401);
}

#[test]
fn serve_is_the_default_subcommand() {
    // Kubernetes sets PCGW_PORT and PCGW_SERVICE_HOST for a Service named pcgw: not configuration keys (no
    // `__`), so they must not stop start-up.
    let (_child, url) = start(
        &[],
        &[
            ("PCGW_SERVER__LISTEN", "127.0.0.1:0"),
            ("PCGW_PORT", "tcp://10.0.0.7:8080"),
            ("PCGW_SERVICE_HOST", "10.0.0.7"),
        ],
        "address",
    );
    let health = reqwest::blocking_get(&format!("{url}/healthz"));
    let customers = reqwest::blocking_get(&format!("{url}/v1/customers"));
    assert_eq!(health.0, 200);
    assert_eq!(customers.0, 401, "operations are served and need a key");
}

mod reqwest {
    /// A one-off GET from a synchronous test: (status, body).
    pub fn blocking_get(url: &str) -> (u16, String) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let response = ::reqwest::get(url).await.unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            })
    }
}

/// What the binary wrote to stdout when started with `env` on a real profile that keeps the demo keys: a warning
/// about `PCGW_SERVER_LISTEN` (no `__`, so not a key), then it refuses to start.
fn warning_then_refusal(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = gateway()
        .args(args)
        .env("PCGW_SERVER_LISTEN", "typo")
        .env(
            "PCGW_UPSTREAM__BASE_URL",
            "https://api.partnercenter.microsoft.com",
        )
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_json_warning(stdout: &str) -> bool {
    stdout.lines().next().is_some_and(|line| {
        serde_json::from_str::<serde_json::Value>(line)
            .is_ok_and(|v| v["level"] == "WARN" && v["variable"] == "PCGW_SERVER_LISTEN")
    })
}

#[test]
fn the_log_is_json_when_the_flag_the_environment_or_the_file_says_so() {
    let text = warning_then_refusal(&[], &[]);
    assert!(text.contains("WARN") && !is_json_warning(&text), "{text}");
    let flag = warning_then_refusal(&["--log-format", "json"], &[]);
    assert!(is_json_warning(&flag), "{flag}");
    let env = warning_then_refusal(&[], &[("PCGW_LOG__FORMAT", "json")]);
    assert!(is_json_warning(&env), "{env}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    let profile = std::fs::read_to_string("config/default.toml").unwrap();
    std::fs::write(&file, format!("{profile}\n[log]\nformat = \"json\"\n")).unwrap();
    let from_file = warning_then_refusal(&["--config", file.to_str().unwrap()], &[]);
    assert!(is_json_warning(&from_file), "{from_file}");
    // The flag wins over the file.
    let text = warning_then_refusal(
        &["--config", file.to_str().unwrap(), "--log-format", "text"],
        &[],
    );
    assert!(!is_json_warning(&text), "{text}");
}

#[test]
fn probe_exits_0_on_a_ready_gateway_and_1_when_nothing_answers() {
    let (_child, url) = start(&[], &[("PCGW_SERVER__LISTEN", "127.0.0.1:0")], "address");
    let ready = gateway()
        .args(["probe", "--url", &format!("{url}/readyz")])
        .output()
        .unwrap();
    assert!(ready.status.success(), "{ready:?}");
    assert!(String::from_utf8_lossy(&ready.stdout).contains("\"status\":\"ready\""));
    let closed = format!("http://{}/healthz", crate::common::free_port_addr());
    let down = gateway()
        .args(["probe", "--url", &closed])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1), "{down:?}");
}
