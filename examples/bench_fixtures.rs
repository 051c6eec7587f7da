//! The files `bench/run` needs that a shell cannot make quickly: a gateway configuration of N API-key
//! connections (keys `bench-key-<i>`, the ones `bench/load.lua` sends) against a stub, and, for bearer
//! pass-through, N Entra-shaped user tokens signed with the sandbox's key (it is in the repository: the sandbox
//! is a demo) and the JWKS that verifies them.
//!
//! ```text
//! cargo run --release --example bench_fixtures -- config FILE --stub URL --listen ADDR --connections N
//!     [--calls C --period-secs P] [--extra-quota TOML-LINES]
//! cargo run --release --example bench_fixtures -- tokens DIR --stub URL --makers N
//! ```

use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use partner_center_gateway::connection::hash_api_key;
use partner_center_gateway::sandbox::demo;

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).map(|i| {
        args.get(i + 1)
            .unwrap_or_else(|| panic!("{name} needs a value"))
            .as_str()
    })
}

fn required<'a>(args: &'a [String], name: &str) -> &'a str {
    arg(args, name).unwrap_or_else(|| panic!("{name} is required"))
}

/// `n` app-only connections on the sandbox's demo application, its secret in one file beside the
/// configuration; the stub is both Partner Center and the token authority, and the issuer of bearer tokens.
fn config(file: &Path, args: &[String]) {
    let stub = required(args, "--stub").trim_end_matches('/');
    let n: usize = required(args, "--connections")
        .parse()
        .expect("--connections N");
    let calls = arg(args, "--calls").unwrap_or("1000000000");
    let period = arg(args, "--period-secs").unwrap_or("1");
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).unwrap();
    let secret = dir.join("client-secret");
    std::fs::write(&secret, demo::CLIENT_SECRET).unwrap();
    let mut toml = String::with_capacity(300 * n + 1024);
    writeln!(
        toml,
        "[server]\nlisten = \"{listen}\"\n\n[upstream]\nbase_url = \"{stub}\"\n\n[auth]\nauthority = \"{stub}\"\n\
         issuers = [{{ issuer = \"{stub}/{{tenantid}}/v2.0\", jwks_uri = \"{stub}/jwks\" }}]\n\n\
         [triggers]\nsigning_key = \"bench-trigger-signing-key-0123456789abcdef\"\n\n\
         [quota]\ncalls = {calls}\nperiod_secs = {period}\n{extra}",
        listen = required(args, "--listen"),
        extra = arg(args, "--extra-quota").unwrap_or(""),
    )
    .unwrap();
    let (tenant, client, secret) = (demo::PARTNER_TENANT_ID, demo::CLIENT_ID, secret.display());
    for i in 0..n {
        write!(
            toml,
            "\n[[connections]]\nid = \"bench-{i}\"\napi_key_sha256 = \"{}\"\n[connections.credentials]\n\
             kind = \"app_only\"\ntenant_id = \"{tenant}\"\nclient_id = \"{client}\"\nclient_secret_file = \"{secret}\"\n",
            hash_api_key(&format!("bench-key-{i}"))
        )
        .unwrap();
    }
    std::fs::write(file, toml).unwrap();
}

/// `tokens.txt` (one token a line, a maker each) and `jwks.json` in `dir`.
fn tokens(dir: &Path, args: &[String]) {
    let stub = required(args, "--stub").trim_end_matches('/');
    let n: usize = required(args, "--makers").parse().expect("--makers N");
    std::fs::create_dir_all(dir).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sandbox/src");
    let pem = std::fs::read(root.join("sandbox-signing-key.pem")).unwrap();
    let modulus = std::fs::read_to_string(root.join("sandbox-signing-key.n")).unwrap();
    let kid = "bench-key-1";
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.into());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tid = demo::PARTNER_TENANT_ID;
    let mut out = String::with_capacity(n * 800);
    for i in 0..n {
        // Valid for a day: a benchmark run never outlives its tokens.
        let claims = serde_json::json!({
            "aud": demo::PARTNER_CENTER_RESOURCE,
            "iss": format!("{stub}/{tid}/v2.0"),
            "iat": now, "nbf": now, "exp": now + 86_400,
            "tid": tid, "oid": format!("00000000-0000-4000-8000-{i:012}"), "idtyp": "user",
            "scp": "user_impersonation", "amr": ["pwd", "mfa"],
        });
        out.push_str(&jsonwebtoken::encode(&header, &claims, &key).unwrap());
        out.push('\n');
    }
    std::fs::write(dir.join("tokens.txt"), out).unwrap();
    let jwks = serde_json::json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": modulus.trim(), "e": "AQAB",
    }]});
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match (args.first().map(String::as_str), args.get(1)) {
        (Some("config"), Some(file)) => config(Path::new(file), &args),
        (Some("tokens"), Some(dir)) => tokens(Path::new(dir), &args),
        _ => {
            eprintln!(
                "usage: bench_fixtures config FILE --stub URL --listen ADDR --connections N [--calls C --period-secs P]"
            );
            eprintln!("       bench_fixtures tokens DIR --stub URL --makers N");
            std::process::exit(2);
        }
    }
}
