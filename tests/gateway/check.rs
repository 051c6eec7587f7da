//! `check`: the real binary gets each connection a token and makes one Partner Center read with it, and prints
//! a table of what happened; one broken connection is a failed row and a non-zero exit, not a stopped check.

use std::process::Output;

use crate::common::*;
use partner_center_gateway::sandbox::{SandboxOptions, demo};

/// Runs `check` with `args` in `dir`. Asynchronously: the test's runtime serves the sandbox the child calls.
async fn check(dir: &std::path::Path, args: &[&str]) -> Output {
    check_with_proxy(dir, args, None).await
}

/// `check`, with the environment naming `proxy` as the HTTP proxy, or no proxy at all.
async fn check_with_proxy(dir: &std::path::Path, args: &[&str], proxy: Option<&str>) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_partner-center-gateway"));
    for name in ["ALL_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"] {
        command.env_remove(name).env_remove(name.to_lowercase());
    }
    if let Some(proxy) = proxy {
        command.env("HTTP_PROXY", proxy);
    }
    let run = command
        .current_dir(dir)
        .arg("check")
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("check finishes")
        .unwrap()
}

/// The table's row for `connection`, split into its cells.
fn row(stdout: &str, connection: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find(|line| line.split("  ").next() == Some(connection))
        .unwrap_or_else(|| panic!("no row for {connection}: {stdout}"));
    line.split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn good_and_broken_connections_each_get_a_row_and_a_failure_makes_the_exit_non_zero() {
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let state = tempfile::tempdir().unwrap();
    let rt = temp_file(&state, "user.refresh-token");
    let wrong_secret = temp_file(&state, "wrong-secret");
    std::fs::write(&wrong_secret, "not-the-demo-secret").unwrap();
    let broken = format!(
        r#"
[[connections]]
id = "wrong-secret"
api_key_sha256 = "{wrong_key}"
[connections.credentials]
kind = "app_only"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret_file = "{wrong_secret}"

[[connections]]
id = "never-signed-in"
api_key_sha256 = "{never_key}"
[connections.credentials]
kind = "app_user"
tenant_id = "{tenant}"
client_id = "{client}"
refresh_token_file = "{missing}"
"#,
        wrong_key = sha256_hex("wrong-key"),
        never_key = sha256_hex("never-key"),
        tenant = demo::PARTNER_TENANT_ID,
        client = demo::CLIENT_ID,
        wrong_secret = wrong_secret.display(),
        missing = temp_file(&state, "missing.refresh-token").display(),
    );
    let config = temp_file(&state, "gateway.toml");
    let toml = real_profile(&sandbox.base_url(), &sandbox.base_url(), &rt, "") + &broken;
    std::fs::write(&config, toml).unwrap();

    let out = check(
        std::path::Path::new("."),
        &["--config", config.to_str().unwrap()],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("2 of 4 connections failed the check"),
        "{stderr}"
    );
    let header = stdout.lines().next().unwrap();
    assert_eq!(
        header
            .split("  ")
            .filter(|c| !c.is_empty())
            .map(str::trim)
            .collect::<Vec<_>>(),
        [
            "connection",
            "kind",
            "token",
            "MFA",
            "refresh token age",
            "Partner Center"
        ]
    );
    assert_eq!(
        row(&stdout, "app-conn"),
        ["app-conn", "app_only", "ok", "n/a", "n/a", "200"]
    );
    let user = row(&stdout, "user-conn");
    assert_eq!(
        user[..4],
        ["user-conn", "app_user", "ok", "yes"],
        "{stdout}"
    );
    assert_eq!(
        user[4], "-",
        "no file until the check wrote the seed: {stdout}"
    );
    assert_eq!(user[5], "200");
    assert_eq!(
        row(&stdout, "wrong-secret"),
        ["wrong-secret", "app_only", "failed", "n/a", "n/a", "-"]
    );
    assert_eq!(
        row(&stdout, "never-signed-in"),
        ["never-signed-in", "app_user", "failed", "-", "-", "-"]
    );
    assert!(
        stdout.contains("wrong-secret: no token: token authority refused the credentials: 401 Unauthorized invalid_client: AADSTS7000215: Invalid client secret provided."),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "never-signed-in: configuration error: `connections[3].credentials.refresh_token_file`"
        ),
        "{stdout}"
    );

    // The App+User exchange rolled the refresh token, and the new one is on disk as the gateway keeps it.
    let rolled = std::fs::read_to_string(&rt).unwrap();
    assert_ne!(rolled, demo::CONTOSO_REFRESH_TOKEN_SEED);
    let again = check(
        std::path::Path::new("."),
        &[
            "--config",
            config.to_str().unwrap(),
            "--connection",
            "user-conn",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        stdout.lines().count(),
        2,
        "one connection, one row: {stdout}"
    );
    let user = row(&stdout, "user-conn");
    assert!(user[4].ends_with(" s"), "rolled seconds ago: {stdout}");
    assert_eq!(user[5], "200");
    assert_ne!(std::fs::read_to_string(&rt).unwrap(), rolled);
}

#[tokio::test]
async fn an_app_user_connection_signed_in_without_mfa_fails_with_partner_center_s_answer() {
    let sandbox = standalone_sandbox(SandboxOptions::default().device_code_interval(0)).await;
    let refresh_token = device_code_refresh_token(&sandbox, false).await;
    let state = tempfile::tempdir().unwrap();
    let rt = temp_file(&state, "user.refresh-token");
    std::fs::write(&rt, refresh_token).unwrap();
    let config = temp_file(&state, "gateway.toml");
    std::fs::write(
        &config,
        real_profile(&sandbox.base_url(), &sandbox.base_url(), &rt, ""),
    )
    .unwrap();

    let out = check(
        std::path::Path::new("."),
        &[
            "--config",
            config.to_str().unwrap(),
            "--connection",
            "user-conn",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(
        row(&stdout, "user-conn")[..4],
        ["user-conn", "app_user", "ok", "no"]
    );
    assert_eq!(row(&stdout, "user-conn")[5], "401 900421");
    assert!(
        stdout.contains("user-conn: Partner Center answered GET /v1/agreements?agreementType=MicrosoftCustomerAgreement with 401 900421: Multifactor authentication is required"),
        "{stdout}"
    );
}

#[tokio::test]
async fn the_sandbox_profile_checks_out_with_no_setup() {
    // A fresh directory holding only the shipped configuration, as after a clone.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config/sandbox")).unwrap();
    for file in ["config/default.toml", "config/sandbox/demo-client-secret"] {
        std::fs::copy(file, dir.path().join(file)).unwrap();
    }
    let out = check(dir.path(), &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        row(&stdout, "contoso-demo")[..4],
        ["contoso-demo", "app_user", "ok", "yes"]
    );
    assert_eq!(row(&stdout, "contoso-demo")[5], "200");
    assert_eq!(
        row(&stdout, "fabrikam-demo"),
        ["fabrikam-demo", "app_only", "ok", "n/a", "n/a", "200"]
    );
    assert!(dir.path().join("var/contoso-demo.refresh-token").is_file());
}

#[tokio::test]
async fn partner_center_and_the_token_authority_are_reached_through_the_proxy_the_environment_names()
 {
    // The sandbox stands in for the proxy: it answers a request sent to it in a proxy's absolute form as it
    // would the same path sent to it directly. Partner Center's host does not resolve, so only the proxy
    // reaches it.
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let state = tempfile::tempdir().unwrap();
    let rt = temp_file(&state, "user.refresh-token");
    let config = temp_file(&state, "gateway.toml");
    let unresolvable = "http://partner-center.invalid";
    std::fs::write(&config, real_profile(unresolvable, unresolvable, &rt, "")).unwrap();
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--connection",
        "app-conn",
    ];

    let out = check_with_proxy(std::path::Path::new("."), &args, Some(&sandbox.base_url())).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        row(&stdout, "app-conn"),
        ["app-conn", "app_only", "ok", "n/a", "n/a", "200"]
    );

    let direct = check_with_proxy(std::path::Path::new("."), &args, None).await;
    let stdout = String::from_utf8_lossy(&direct.stdout);
    assert_eq!(direct.status.code(), Some(1), "{stdout}");
    assert_eq!(row(&stdout, "app-conn")[2], "failed", "{stdout}");
}
