//! `login`: the real binary signs an App+User connection in with the device code flow against a sandbox of the
//! test's own, which a test approves as a person would approve the code at the sign-in page; then the gateway
//! serves that connection with the refresh token the sign-in wrote.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::common::*;
use partner_center_gateway::sandbox::{SandboxHandle, SandboxOptions, demo};

/// Bounds every wait on the child, so that a login that never prints or never ends fails the test.
const LIMIT: Duration = Duration::from_secs(60);

/// The real-upstream test profile with `user-conn`'s refresh token file in `dir` and no seed: the file that
/// exists afterwards can only be the sign-in's.
pub(crate) fn profile(sandbox: &SandboxHandle, dir: &Path) -> (PathBuf, PathBuf) {
    let rt = dir.join("user.refresh-token");
    let seed = format!(
        "refresh_token_seed = \"{}\"\n",
        demo::CONTOSO_REFRESH_TOKEN_SEED
    );
    let toml = real_profile(&sandbox.base_url(), &sandbox.base_url(), &rt, "").replace(&seed, "");
    assert!(!toml.contains("refresh_token_seed"));
    let config = dir.join("gateway.toml");
    std::fs::write(&config, toml).unwrap();
    (config, rt)
}

pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `login --connection user-conn`, approves the code it prints through the sandbox's sign-in form with
/// `approval`, and returns how the command ended.
pub(crate) async fn sign_in(config: &Path, approval: &[(&str, &str)]) -> Finished {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_partner-center-gateway"))
        .args(["login", "--connection", "user-conn", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.unwrap();
        text
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = String::new();
    let (mut page, mut code) = (None, None);
    while code.is_none() {
        let line = tokio::time::timeout(LIMIT, lines.next_line())
            .await
            .expect("login prints its code")
            .unwrap()
            .unwrap_or_else(|| panic!("login ended before printing a code: {stdout}"));
        if let Some(url) = line.strip_prefix("  open  ") {
            page = Some(url.to_owned());
        }
        if let Some(user_code) = line.strip_prefix("  code  ") {
            code = Some(user_code.to_owned());
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let page = page.expect("the page comes before the code");
    let mut form = vec![("user_code", code.unwrap())];
    form.extend(approval.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let approved = reqwest::Client::new()
        .post(&page)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200, "{}", approved.text().await.unwrap());
    while let Some(line) = tokio::time::timeout(LIMIT, lines.next_line())
        .await
        .expect("login finishes once the code is approved")
        .unwrap()
    {
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let status = tokio::time::timeout(LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    Finished {
        status,
        stdout,
        stderr: stderr.await.unwrap(),
    }
}

fn assert_private_token_file(rt: &Path) {
    let metadata = std::fs::metadata(rt).expect("the sign-in wrote the refresh token file");
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    let token = std::fs::read_to_string(rt).unwrap();
    assert_eq!(
        token.split('.').count(),
        3,
        "a sandbox refresh token: {token}"
    );
}

#[tokio::test]
async fn a_sign_in_with_mfa_writes_the_refresh_token_the_gateway_then_serves_agreements_with() {
    let sandbox = standalone_sandbox(SandboxOptions::default().device_code_interval(0)).await;
    let state = tempfile::tempdir().unwrap();
    let (config, rt) = profile(&sandbox, state.path());

    let login = sign_in(&config, &[("mfa", "true")]).await;
    assert!(login.status.success(), "{}\n{}", login.stdout, login.stderr);
    assert!(
        login
            .stdout
            .contains(&format!("  open  {}/devicelogin", sandbox.base_url())),
        "{}",
        login.stdout
    );
    assert!(
        login
            .stdout
            .contains("Signed in as contoso-admin, with multifactor authentication."),
        "{}",
        login.stdout
    );
    assert!(!login.stderr.contains("warning"), "{}", login.stderr);
    assert_private_token_file(&rt);

    let app = spawn_toml(&std::fs::read_to_string(&config).unwrap()).await;
    let metadata = app.get("user-key", "/v1/agreements").await;
    assert_eq!(metadata.status(), 200);
    let body = json(metadata).await;
    assert_eq!(body["items"][0]["templateId"], demo::MCA_TEMPLATE_ID);
}

#[tokio::test]
async fn a_sign_in_without_mfa_is_saved_with_a_warning_and_partner_center_refuses_its_calls() {
    let sandbox = standalone_sandbox(SandboxOptions::default().device_code_interval(0)).await;
    let state = tempfile::tempdir().unwrap();
    let (config, rt) = profile(&sandbox, state.path());

    let login = sign_in(&config, &[("mfa", "false")]).await;
    assert_eq!(login.status.code(), Some(1), "{}", login.stderr);
    assert!(
        login.stdout.contains("WITHOUT multifactor authentication"),
        "{}",
        login.stdout
    );
    for words in [
        "warning: connection user-conn was signed in without multifactor authentication",
        r#"the token's amr is ["pwd"]"#,
        "Partner Center refuses every App+User call made without MFA (401, error code 900421)",
    ] {
        assert!(login.stderr.contains(words), "{words}: {}", login.stderr);
    }
    assert_private_token_file(&rt);

    // The gateway gets the connection its token, and Partner Center's refusal reaches the maker as it was sent.
    let app = spawn_toml(&std::fs::read_to_string(&config).unwrap()).await;
    let refused = app.get("user-key", "/v1/agreements").await;
    assert_eq!(refused.status(), 401);
    assert_eq!(
        json(refused).await,
        serde_json::json!({
            "code": 900421,
            "description": "Multifactor authentication is required: App+User calls need an access token whose 'amr' claim includes 'mfa'. Sign in again with MFA.",
            "data": [],
            "source": "PartnerFD",
        })
    );
}

#[test]
fn login_names_what_it_cannot_sign_in() {
    let run = |connection: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_partner-center-gateway"))
            .args(["login", "--connection", connection])
            .output()
            .unwrap()
    };
    let app_only = run("fabrikam-demo");
    assert!(!app_only.status.success());
    let stderr = String::from_utf8_lossy(&app_only.stderr);
    assert!(
        stderr.contains("connection fabrikam-demo is app_only") && stderr.contains("app_user"),
        "{stderr}"
    );
    let unknown = run("nobody");
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains(r#"no connection "nobody""#)
            && stderr.contains("contoso-demo, fabrikam-demo"),
        "{stderr}"
    );
}
