//! Stamps the binary with the commit it was built from, for `pcgw_build_info`. Without git (a source tarball,
//! a Docker build context without `.git`) `PCGW_GIT_COMMIT` names it, else it is `unknown`; the build never
//! fails for want of git.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=PCGW_GIT_COMMIT");
    let commit = std::env::var("PCGW_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    // Rebuilt only when HEAD moves (a commit, a checkout), not on every build: HEAD, and the branch it names
    // (loose or packed). Only files that exist are named: cargo reruns a script on every build for a missing one.
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
        watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    for path in watched.into_iter().flatten() {
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    // Not a PCGW_ name: cargo also sets this in the environment of what `cargo run` and `cargo test` start, and
    // the gateway warns about any PCGW_ variable that is not a configuration key.
    println!("cargo:rustc-env=PARTNER_CENTER_GATEWAY_COMMIT={commit}");
}
