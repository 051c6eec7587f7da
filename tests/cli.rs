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
