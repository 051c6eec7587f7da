//! `quota.backend = "redis"` against a real redis-server (never a mock), started here on a free loopback port
//! with no persistence, in a temporary directory, and killed when the test ends: several replicas share one
//! count exactly; an outage is met by each replica's share (or by 503), logged once each way; a Redis Cluster
//! works the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::shutdown::Gateway;
use partner_center_gateway::sandbox::SandboxOptions;

/// A redis-server of the test's own; killed on drop.
struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port_addr().port();
        let mut server = Self {
            child: None,
            port,
            dir,
        };
        server.launch(extra);
        server
    }

    fn launch(&mut self, extra: &[&str]) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (bash .ci/test installs it with apt-get)");
        self.child = Some(child);
        self.wait_until_it_answers();
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn wait_until_it_answers(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = redis::Client::open(self.url()).unwrap();
        loop {
            let pong = client
                .get_connection_with_timeout(Duration::from_millis(200))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            match pong {
                Ok(_) => return,
                // Up, and asking for its password.
                Err(e) if e.to_string().contains("NOAUTH") => return,
                Err(_) => {}
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new redis-server on the same port: empty, as a Redis with no persistence comes back.
    fn restart(&mut self, extra: &[&str]) {
        self.kill();
        self.launch(extra);
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

const KEY: &str = "shared-key";
const PATH: &str = "/v1/customers/c501c3c4-d776-40ef-9ecf-9cefb59442c1";

/// One app-only connection (`shared-conn`, key [`KEY`]) on `sandbox`, its quota counted in Redis at `url`:
/// 100 calls an hour (so that nothing refills during a test) unless `quota` says otherwise.
fn profile(sandbox: &str, redis: &str, quota: &str, connection_quota: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"

[upstream]
base_url = "{sandbox}"

[auth]
authority = "{sandbox}"

{TRIGGERS}

[quota]
calls = 100
period_secs = 3600
backend = "redis"
{quota}

[redis]
{redis}

[[connections]]
id = "shared-conn"
api_key_sha256 = "{key}"
{connection_quota}
[connections.credentials]
kind = "app_only"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret_file = "config/sandbox/demo-client-secret"
"#,
        key = sha256_hex(KEY),
        tenant = partner_center_gateway::sandbox::demo::PARTNER_TENANT_ID,
        client = partner_center_gateway::sandbox::demo::CLIENT_ID,
    )
}

/// What a batch of calls got: how many of each status, and the `r=` of each admitted call.
#[derive(Debug, Default)]
struct Tally {
    statuses: BTreeMap<u16, usize>,
    remaining: Vec<u32>,
    policies: Vec<String>,
}

impl Tally {
    fn admitted(&self) -> usize {
        self.statuses.get(&200).copied().unwrap_or(0)
    }
}

/// `n` calls at once on the one connection, spread round-robin over `gateways` (base URLs).
async fn burst(gateways: &[String], n: usize) -> Tally {
    let client = reqwest::Client::new();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..n {
        let url = format!("{}{PATH}", gateways[i % gateways.len()]);
        let client = client.clone();
        calls.spawn(async move {
            let response = client
                .get(url)
                .header("X-API-Key", KEY)
                .send()
                .await
                .unwrap();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
            };
            let status = response.status().as_u16();
            let ratelimit = header("ratelimit");
            let policy = header("ratelimit-policy");
            if status == 429 {
                let retry_after: u64 = header("retry-after").unwrap().parse().unwrap();
                assert!(retry_after >= 1);
                assert_eq!(
                    ratelimit.as_deref(),
                    Some(&*format!(r#""connection";r=0;t={retry_after}"#))
                );
            }
            (status, ratelimit, policy)
        });
    }
    let mut tally = Tally::default();
    while let Some(answer) = calls.join_next().await {
        let (status, ratelimit, policy) = answer.unwrap();
        *tally.statuses.entry(status).or_default() += 1;
        if status == 200 {
            let r = ratelimit
                .unwrap()
                .split(";r=")
                .nth(1)
                .and_then(|rest| rest.split(';').next())
                .unwrap()
                .parse()
                .unwrap();
            tally.remaining.push(r);
            tally.policies.push(policy.unwrap());
        }
    }
    tally.remaining.sort_unstable();
    tally
}

/// Each admitted call was told a different `r`, from `admitted − 1` down to 0: the count they agree on is the
/// one shared count, wherever the call landed.
fn assert_headers_follow_one_count(tally: &Tally, admitted: u32, policy: &str) {
    assert_eq!(
        tally.remaining,
        (0..admitted).collect::<Vec<_>>(),
        "{tally:?}"
    );
    assert!(
        tally.policies.iter().all(|p| p == policy),
        "{:?}",
        tally.policies
    );
}

fn write(dir: &Path, name: &str, toml: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, toml).unwrap();
    path
}

/// The slow machine's margin: exact counts must not depend on a round trip beating 50 ms under load.
const GENEROUS: &str = "timeout_ms = 2000";

#[tokio::test(flavor = "multi_thread")]
async fn three_replica_processes_admit_exactly_the_quota_then_survive_an_outage_and_resume() {
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let mut redis = RedisServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let toml = profile(
        &sandbox.base_url(),
        &format!("url = \"{}\"\nreplicas = 3\n{GENEROUS}", redis.url()),
        "",
        "",
    );
    let config = write(dir.path(), "gateway.toml", &toml);
    let replicas: Vec<Gateway> = (0..3).map(|_| Gateway::start(&config)).collect();
    let addresses: Vec<String> = replicas.iter().map(|g| g.address.clone()).collect();

    let first = burst(&addresses, 60).await;
    assert_eq!(first.admitted(), 60, "{:?}", first.statuses);
    assert_eq!(first.remaining, (40..100).collect::<Vec<_>>());
    let api_calls = sandbox.api_calls();

    // Redis gone: every call is still answered, each replica admitting its own third (33) and no more.
    redis.kill();
    let outage = burst(&addresses, 300).await;
    assert_eq!(
        outage.statuses,
        BTreeMap::from([(200, 99), (429, 201)]),
        "no 5xx, and 3 × 33 admitted"
    );
    assert!(
        outage
            .policies
            .iter()
            .all(|p| p == r#""connection";q=33;w=3600"#)
    );
    for replica in &replicas {
        replica.wait_for_line("Redis unavailable");
    }

    // Back (empty, as a Redis without persistence returns): the shared count resumes at once. The local shares
    // are spent, so an admitted call here can only be Redis's.
    redis.restart(&[]);
    let resumed = burst(&addresses, 300).await;
    assert_eq!(resumed.admitted(), 100, "{:?}", resumed.statuses);
    assert_headers_follow_one_count(&resumed, 100, r#""connection";q=100;w=3600"#);
    assert_eq!(sandbox.api_calls(), api_calls + 99 + 100);
    for replica in &replicas {
        replica.wait_for_line("Redis available again");
    }
    // Once each way: not one more line about it for all the calls in between or after.
    burst(&addresses, 30).await;
    for replica in &replicas {
        let more: Vec<_> = replica
            .lines_so_far()
            .into_iter()
            .filter(|l| l.contains("Redis unavailable") || l.contains("Redis available again"))
            .collect();
        assert!(more.is_empty(), "{more:?}");
    }
}

/// Three in-process gateways (each with its own limiter; only Redis is shared) and 300 calls at once.
async fn three_gateways(redis_table: &str, quota: &str, connection_quota: &str) -> Tally {
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let toml = profile(&sandbox.base_url(), redis_table, quota, connection_quota);
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(spawn_toml(&toml).await);
    }
    let addresses: Vec<String> = apps.iter().map(|a| a.address.clone()).collect();
    let tally = burst(&addresses, 300).await;
    for app in apps {
        app.stop().await;
    }
    tally
}

#[tokio::test(flavor = "multi_thread")]
async fn a_strict_window_is_shared_exactly_too() {
    let redis = RedisServer::start(&[]);
    let table = format!("url = \"{}\"\nreplicas = 3\n{GENEROUS}", redis.url());
    let tally = three_gateways(&table, "strict_window = true", "").await;
    // 100 an hour in a strict window: half at once.
    assert_eq!(tally.admitted(), 50, "{:?}", tally.statuses);
    assert_headers_follow_one_count(&tally, 50, r#""connection";q=100;w=3600"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connections_own_quota_is_shared_exactly_too() {
    let redis = RedisServer::start(&[]);
    let table = format!("url = \"{}\"\nreplicas = 3\n{GENEROUS}", redis.url());
    let tally = three_gateways(&table, "", "quota = { calls = 10, period_secs = 3600 }").await;
    assert_eq!(tally.admitted(), 10, "{:?}", tally.statuses);
    assert_headers_follow_one_count(&tally, 10, r#""connection";q=10;w=3600"#);
    let key = redis.cli(&["PTTL", "{pcgw:quota:shared-conn}"]);
    let ttl: u64 = key.trim().parse().unwrap();
    // Ten calls at one per 360 s: the bucket is full again in an hour, and the key lives no longer.
    assert!((3_500_000..=3_600_000).contains(&ttl), "{ttl}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_cluster_of_three_nodes_shares_the_count_exactly() {
    let nodes: Vec<RedisServer> = (0..3)
        .map(|_| {
            RedisServer::start(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ])
        })
        .collect();
    let mut create = Command::new("redis-cli");
    create.arg("--cluster").arg("create");
    for node in &nodes {
        create.arg(format!("127.0.0.1:{}", node.port));
    }
    let created = create
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !nodes
        .iter()
        .all(|n| n.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok"))
    {
        assert!(Instant::now() < deadline, "the cluster did not form");
        std::thread::sleep(Duration::from_millis(50));
    }
    let table = format!(
        "url = \"{}\"\ncluster = true\nreplicas = 3\n{GENEROUS}",
        nodes[1].url()
    );
    let tally = three_gateways(&table, "", "").await;
    assert_eq!(tally.admitted(), 100, "{:?}", tally.statuses);
    assert_headers_follow_one_count(&tally, 100, r#""connection";q=100;w=3600"#);
}

#[tokio::test]
async fn with_fail_open_off_an_unreachable_redis_is_a_503_with_retry_after_and_not_ready() {
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let nowhere = free_port_addr();
    let app = spawn_toml(&profile(
        &sandbox.base_url(),
        &format!("url = \"redis://:a-redis-password@{nowhere}\"\nfail_open = false"),
        "",
        "",
    ))
    .await;
    let response = app.get(KEY, PATH).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body = json(response).await;
    assert_eq!(body["statusCode"], 503);
    assert_eq!(body["code"], "QuotaUnavailable");
    assert!(body["correlationId"].is_string());
    assert_eq!(sandbox.api_calls(), 0, "nothing reaches Partner Center");
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let report = ready.text().await.unwrap();
    assert!(report.contains("calls are refused"), "{report}");
    assert!(!report.contains("a-redis-password"));
}

#[tokio::test]
async fn with_fail_open_an_unreachable_redis_leaves_this_replica_its_share() {
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let app = spawn_toml(&profile(
        &sandbox.base_url(),
        &format!("url = \"redis://{}\"\nreplicas = 4", free_port_addr()),
        "",
        "",
    ))
    .await;
    let tally = burst(std::slice::from_ref(&app.address), 40).await;
    assert_eq!(tally.statuses, BTreeMap::from([(200, 25), (429, 15)]));
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "this replica still serves");
    let report = json(ready).await;
    // Refused at once or left unanswered, depending on the client's reconnection timing.
    let redis = report["checks"]["redis"].as_str().unwrap();
    assert!(
        redis.ends_with(": each replica enforces its share of the quota"),
        "{redis}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_typed_or_unreadable_key_is_repaired_and_counted_never_an_outage_nor_a_500() {
    let redis = RedisServer::start(&[]);
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = profile(
        &sandbox.base_url(),
        &format!("url = \"{}\"\nreplicas = 2\n{GENEROUS}", redis.url()),
        "",
        "",
    );
    let gateway = Gateway::start(&write(dir.path(), "gateway.toml", &toml));
    let one = std::slice::from_ref(&gateway.address);
    assert_eq!(
        redis
            .cli(&["SET", "{pcgw:quota:shared-conn}", "not a bucket"])
            .trim(),
        "OK"
    );
    // Redis counts this connection from a full bucket again, the stray value gone.
    let wrong_type = burst(one, 8).await;
    assert_eq!(wrong_type.statuses, BTreeMap::from([(200, 8)]));
    assert_eq!(wrong_type.remaining, (92..100).collect::<Vec<_>>());
    assert!(
        wrong_type
            .policies
            .iter()
            .all(|p| p == r#""connection";q=100;w=3600"#)
    );
    assert_eq!(
        redis.cli(&["TYPE", "{pcgw:quota:shared-conn}"]).trim(),
        "hash"
    );

    // A hash of ours whose time is not a number: the same.
    let shape = "36000000:3564000000";
    redis.cli(&["DEL", "{pcgw:quota:shared-conn}"]);
    redis.cli(&[
        "HSET",
        "{pcgw:quota:shared-conn}",
        "tat",
        "soon",
        "shape",
        shape,
    ]);
    let unreadable = gateway_get(&gateway.address).await;
    assert_eq!(unreadable, r#""connection";r=99;t=0"#);
    let counted = gateway_get(&gateway.address).await;
    assert_eq!(counted, r#""connection";r=98;t=0"#);
    let ready = json(
        reqwest::get(format!("{}/readyz", gateway.address))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ready["checks"]["redis"], "ok");
    // Nothing of it is an outage of Redis, which answered every call.
    let outage_lines: Vec<_> = gateway
        .all_lines()
        .into_iter()
        .filter(|l| l.contains("Redis unavailable") || l.contains("Redis available again"))
        .collect();
    assert!(outage_lines.is_empty(), "{outage_lines:?}");
}

/// One call on the connection: its `RateLimit` header, the call admitted.
async fn gateway_get(address: &str) -> String {
    let response = reqwest::Client::new()
        .get(format!("{address}{PATH}"))
        .header("X-API-Key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["ratelimit"].to_str().unwrap().to_owned()
}

/// The App+User connection of `real_profile` (key "user-key"), its tokens shared through `redis`.
fn shared_tokens_profile(sandbox: &str, redis: &str, refresh_token_file: &Path) -> String {
    real_profile(sandbox, sandbox, refresh_token_file, "")
        + &format!("\n[quota]\nbackend = \"redis\"\n\n[redis]\nurl = \"{redis}\"\n{GENEROUS}\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_refreshing_at_once_make_one_exchange_and_share_the_newest_token() {
    let redis = RedisServer::start(&[]);
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let spawn = |i: usize| {
        let toml = shared_tokens_profile(
            &sandbox.base_url(),
            &redis.url(),
            &dir.path().join(format!("replica-{i}.refresh-token")),
        );
        async move { spawn_toml(&toml).await }
    };
    let (a, b) = (spawn(0).await, spawn(1).await);
    let (first, second) = tokio::join!(a.get("user-key", PATH), b.get("user-key", PATH));
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    assert_eq!(sandbox.token_calls(), 1, "one exchange for both replicas");
    let refresh = "{pcgw:token:user-conn}:refresh";
    assert_eq!(redis.cli(&["HGET", refresh, "gen"]).trim(), "1");
    let stored = redis.cli(&["HGET", refresh, "token"]);
    assert_ne!(
        stored.trim(),
        partner_center_gateway::sandbox::demo::CONTOSO_REFRESH_TOKEN_SEED
    );
    assert!(
        redis
            .cli(&["KEYS", "*"])
            .lines()
            .all(|k| !k.contains(stored.trim())),
        "no token in a key name"
    );

    // The one stored is the live one: a third replica, with no access token to take, exchanges Redis's token
    // (the seed in its own file was voided by the first exchange, and the sandbox would refuse it).
    redis.cli(&["DEL", "{pcgw:token:user-conn}:access"]);
    let c = spawn(2).await;
    assert_eq!(c.get("user-key", PATH).await.status(), 200);
    assert_eq!(sandbox.token_calls(), 2);
    assert_eq!(redis.cli(&["HGET", refresh, "gen"]).trim(), "2");
    // And the others take its access token from Redis: no request of theirs reaches the authority.
    assert_eq!(a.get("user-key", PATH).await.status(), 200);
    assert_eq!(sandbox.token_calls(), 2);
}

#[test]
fn share_refresh_token_moves_a_file_held_token_into_redis_once() {
    let redis = RedisServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let rt = dir.path().join("user.refresh-token");
    std::fs::write(&rt, "a-file-held-refresh-token\n").unwrap();
    let config = write(
        dir.path(),
        "gateway.toml",
        &shared_tokens_profile("http://127.0.0.1:9", &redis.url(), &rt),
    );
    let share = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_partner-center-gateway"))
            .arg("--config")
            .arg(&config)
            .args(["share-refresh-token", "--connection", "user-conn"])
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    let moved = share(&[]);
    assert!(moved.status.success(), "{moved:?}");
    let refresh = "{pcgw:token:user-conn}:refresh";
    assert_eq!(
        redis.cli(&["HGET", refresh, "token"]).trim(),
        "a-file-held-refresh-token"
    );
    assert_eq!(redis.cli(&["HGET", refresh, "gen"]).trim(), "1");
    let again = share(&[]);
    assert!(
        !again.status.success(),
        "Redis's token may be newer than the file's"
    );
    let replaced = share(&["--replace"]);
    assert!(replaced.status.success());
    assert_eq!(redis.cli(&["HGET", refresh, "gen"]).trim(), "2");
    for output in [moved, again, replaced] {
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(!text.contains("a-file-held-refresh-token"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_redis_password_is_never_logged_even_in_an_outage() {
    const PASSWORD: &str = "redis-password-7c1d";
    let mut redis = RedisServer::start(&["--requirepass", PASSWORD]);
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{}", redis.port);
    let toml = profile(
        &sandbox.base_url(),
        &format!("url = \"{url}\"\n{GENEROUS}"),
        "",
        "",
    );
    let gateway = Gateway::start(&write(dir.path(), "gateway.toml", &toml));
    let counted = burst(std::slice::from_ref(&gateway.address), 1).await;
    assert_eq!(
        counted.remaining,
        [99],
        "authenticated, and counted in Redis"
    );
    redis.kill();
    assert_eq!(
        burst(std::slice::from_ref(&gateway.address), 1)
            .await
            .admitted(),
        1
    );
    let outage = gateway.wait_for_line("Redis unavailable");
    assert!(outage.contains("redis://:***@127.0.0.1"), "{outage}");
    let ready = reqwest::get(format!("{}/readyz", gateway.address))
        .await
        .unwrap();
    assert!(!ready.text().await.unwrap().contains(PASSWORD));
    let lines = gateway.all_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("quotas are counted in Redis")),
        "{lines:?}"
    );
    // `redis.replicas` left at 1: an outage would let each replica admit the whole quota.
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("redis.replicas is 1"))
            .count(),
        1,
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.contains(PASSWORD)), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_killed_mid_run_leaves_every_call_answered_within_the_shares() {
    let mut redis = RedisServer::start(&[]);
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let toml = profile(
        &sandbox.base_url(),
        &format!("url = \"{}\"\nreplicas = 3\n{GENEROUS}", redis.url()),
        "",
        "",
    );
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(spawn_toml(&toml).await);
    }
    let addresses: Vec<String> = apps.iter().map(|a| a.address.clone()).collect();
    let calls = burst(&addresses, 600);
    // Killed once the first calls have reached Partner Center, while the rest are still coming.
    let killer = async {
        while sandbox.api_calls() < 20 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        redis.kill();
    };
    let (tally, ()) = tokio::join!(calls, killer);
    assert!(
        tally.statuses.keys().all(|s| [200, 429].contains(s)),
        "every call answered, none with a 5xx: {:?}",
        tally.statuses
    );
    let admitted = tally.admitted();
    // Redis's 100 at most, then each replica's third at most.
    assert!((20..=100 + 3 * 33).contains(&admitted), "{admitted}");
    assert_eq!(sandbox.api_calls(), admitted as u64);
}

/// A redis-server in Sentinel mode watching `master` as `pcgw`; killed on drop.
struct Sentinel {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Sentinel {
    fn start(master: &RedisServer) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port_addr().port();
        // Sentinel rewrites its configuration file as it learns: it must be its own, and writable.
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor pcgw 127.0.0.1 {} 1\n\
                 sentinel down-after-milliseconds pcgw 1000\nsentinel failover-timeout pcgw 10000\n",
                dir.path().display(),
                master.port
            ),
        )
        .unwrap();
        let child = Command::new("redis-server")
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until `what` holds, polling Redis: the condition is Redis's to reach, not a time.
    fn until(&self, what: &str, holds: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !holds(self) {
            assert!(Instant::now() < deadline, "{what} did not happen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ratelimit(response: &reqwest::Response) -> (String, String) {
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    (header("ratelimit-policy"), header("ratelimit"))
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_sentinel_the_count_follows_a_failover_to_the_new_master() {
    let master = RedisServer::start(&[]);
    let replica = RedisServer::start(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
    let sentinel = Sentinel::start(&master);
    sentinel.until("the Sentinel seeing the replica", |s| {
        s.cli(&["SENTINEL", "replicas", "pcgw"])
            .contains(&replica.port.to_string())
    });
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let table = format!(
        "url = \"redis://127.0.0.1:{}\"\nsentinel_master = \"pcgw\"\nreplicas = 2\n{GENEROUS}",
        sentinel.port
    );
    let app = spawn_toml(&profile(&sandbox.base_url(), &table, "", "")).await;
    for left in (90..100).rev() {
        let response = app.get(KEY, PATH).await;
        assert_eq!(
            ratelimit(&response),
            (
                r#""connection";q=100;w=3600"#.to_owned(),
                format!(r#""connection";r={left};t=0"#)
            )
        );
    }
    let on_master = master.cli(&["HGET", "{pcgw:quota:shared-conn}", "tat"]);
    sentinel.until("the replica having the count", |_| {
        replica.cli(&["HGET", "{pcgw:quota:shared-conn}", "tat"]) == on_master
    });

    assert_eq!(sentinel.cli(&["SENTINEL", "FAILOVER", "pcgw"]).trim(), "OK");
    sentinel.until("the replica becoming the master", |s| {
        s.cli(&["SENTINEL", "get-master-addr-by-name", "pcgw"])
            .contains(&replica.port.to_string())
            && replica.cli(&["ROLE"]).starts_with("master")
            && master.cli(&["ROLE"]).starts_with("slave")
    });
    // The old master's connection now refuses writes (or is gone): at most a few calls meet that, on the local
    // share (q=50), before the gateway asks the Sentinel again and the shared count goes on where it was.
    let mut resumed = None;
    for call in 0..20 {
        let response = app.get(KEY, PATH).await;
        assert_eq!(response.status(), 200);
        let (policy, limit) = ratelimit(&response);
        if policy == r#""connection";q=100;w=3600"# {
            resumed = Some((call, limit));
            break;
        }
        assert_eq!(policy, r#""connection";q=50;w=3600"#);
    }
    let (call, limit) = resumed.expect("the shared count resumed after the failover");
    assert!(call <= 3, "{call} calls on the local share");
    assert_eq!(limit, r#""connection";r=89;t=0"#);
    assert_ne!(
        replica.cli(&["HGET", "{pcgw:quota:shared-conn}", "tat"]),
        on_master,
        "counted on the new master"
    );
}

#[tokio::test]
async fn the_status_page_shows_redis_available_then_unavailable_with_its_password_hidden() {
    const PASSWORD: &str = "status-page-redis-pass";
    const ADMIN_KEY: &str = "admin-key-of-the-redis-status-test";
    let mut redis = RedisServer::start(&["--requirepass", PASSWORD]);
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("rt")).replace(
        "period_secs = 60\n",
        "period_secs = 60\nbackend = \"redis\"\n",
    ) + &format!(
        "\n[redis]\nurl = \"redis://:{PASSWORD}@127.0.0.1:{}\"\nreplicas = 2\n{GENEROUS}\n\n[admin]\napi_key_sha256 = \"{}\"\n",
        redis.port,
        sha256_hex(ADMIN_KEY)
    );
    let app = spawn_toml(&toml).await;
    let page = |app: &TestApp| {
        let request = app
            .client
            .get(app.url("/status"))
            .header("X-API-Key", ADMIN_KEY);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(app.get(CONTOSO_KEY, PATH).await.status(), 200);
    let shown = format!("redis://:***@127.0.0.1:{}", redis.port);
    let up = page(&app).await;
    assert!(
        up.contains(&format!("{shown} (shared quota count, available)")),
        "{up}"
    );
    redis.kill();
    assert_eq!(app.get(CONTOSO_KEY, PATH).await.status(), 200);
    let down = page(&app).await;
    assert!(
        down.contains(&format!(
            "{shown} (unavailable: each replica enforces its share of the quota)"
        )),
        "{down}"
    );
    assert!(!up.contains(PASSWORD) && !down.contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_finds_a_new_sign_in_stores_it_in_redis_for_every_replica() {
    const ADMIN_KEY: &str = "admin-key-of-the-redis-reload-test";
    let redis = RedisServer::start(&[]);
    let sandbox = standalone_sandbox(SandboxOptions::default().device_code_interval(0)).await;
    let dir = tempfile::tempdir().unwrap();
    let rt = dir.path().join("user.refresh-token");
    let config = write(
        dir.path(),
        "gateway.toml",
        &(shared_tokens_profile(&sandbox.base_url(), &redis.url(), &rt)
            + &format!(
                "\n[admin]\napi_key_sha256 = \"{}\"\n",
                sha256_hex(ADMIN_KEY)
            )),
    );
    let app = spawn_file_with_clock(&config, partner_center_gateway::clock::Clock::real()).await;
    assert_eq!(app.get("user-key", PATH).await.status(), 200);
    let refresh = "{pcgw:token:user-conn}:refresh";
    assert_eq!(redis.cli(&["HGET", refresh, "gen"]).trim(), "1");

    // Someone signed the connection in again (as `login` does on another machine): the file has a new token.
    let new_sign_in = device_code_refresh_token(&sandbox, true).await;
    std::fs::write(&rt, &new_sign_in).unwrap();
    let reloaded = app
        .client
        .post(app.url("/admin/reload"))
        .header("X-API-Key", ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(reloaded.status(), 200);
    assert_eq!(json(reloaded).await["changed"], 1);
    assert_eq!(redis.cli(&["HGET", refresh, "token"]).trim(), new_sign_in);
    assert_eq!(redis.cli(&["HGET", refresh, "gen"]).trim(), "2");
    assert_eq!(
        redis
            .cli(&["EXISTS", "{pcgw:token:user-conn}:access"])
            .trim(),
        "0",
        "the old sign-in's access token is no replica's any more"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn login_stores_the_new_sign_in_in_redis_where_a_running_replica_takes_it() {
    let redis = RedisServer::start(&[]);
    let sandbox = standalone_sandbox(SandboxOptions::default().device_code_interval(0)).await;
    let state = tempfile::tempdir().unwrap();
    let (config, rt) = crate::login::profile(&sandbox, state.path());
    let toml = std::fs::read_to_string(&config).unwrap()
        + &format!(
            "\n[quota]\nbackend = \"redis\"\n\n[redis]\nurl = \"{}\"\n{GENEROUS}\n",
            redis.url()
        );
    std::fs::write(&config, &toml).unwrap();

    let login = crate::login::sign_in(&config, &[("mfa", "true")]).await;
    assert!(login.status.success(), "{}", login.stderr);
    assert!(login.stdout.contains("in Redis"), "{}", login.stdout);
    let refresh = "{pcgw:token:user-conn}:refresh";
    let signed_in = std::fs::read_to_string(&rt).unwrap();
    assert_eq!(
        redis.cli(&["HGET", refresh, "token"]).trim(),
        signed_in.trim()
    );
    assert_eq!(redis.cli(&["HGET", refresh, "gen"]).trim(), "1");
    assert!(!login.stdout.contains(signed_in.trim()) && !login.stderr.contains(signed_in.trim()));

    // A replica whose own file holds something else entirely serves with Redis's sign-in.
    std::fs::write(&rt, "a-stale-token-the-sandbox-never-issued").unwrap();
    let app = spawn_toml(&toml).await;
    assert_eq!(app.get("user-key", PATH).await.status(), 200);
    assert_eq!(redis.cli(&["HGET", refresh, "gen"]).trim(), "2");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_slower_than_its_deadline_is_met_like_an_outage_within_the_deadline() {
    let redis = RedisServer::start(&[]);
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    // The default deadline, 50 ms.
    let app = spawn_toml(&profile(
        &sandbox.base_url(),
        &format!("url = \"{}\"\nreplicas = 2", redis.url()),
        "",
        "",
    ))
    .await;
    let shared = app.get(KEY, PATH).await;
    assert_eq!(
        ratelimit(&shared),
        (
            r#""connection";q=100;w=3600"#.to_owned(),
            r#""connection";r=99;t=0"#.to_owned()
        )
    );
    // Redis holds every client's commands for 1.5 s: it is there, but slow.
    assert_eq!(redis.cli(&["CLIENT", "PAUSE", "1500", "ALL"]).trim(), "OK");
    let started = Instant::now();
    let slow = app.get(KEY, PATH).await;
    let took = started.elapsed();
    assert_eq!(slow.status(), 200);
    assert_eq!(
        ratelimit(&slow).0,
        r#""connection";q=50;w=3600"#,
        "this replica's share decided"
    );
    assert!(
        took < Duration::from_millis(1500),
        "answered in {took:?}, not after Redis's 3 s"
    );
    assert_eq!(redis.cli(&["CLIENT", "UNPAUSE"]).trim(), "OK");
    // Redis counts again; the call it was too slow for may have reached it late, and counts too (a late
    // round trip can only make the count stricter).
    let back = app.get(KEY, PATH).await;
    let (policy, limit) = ratelimit(&back);
    assert_eq!(policy, r#""connection";q=100;w=3600"#);
    assert!(
        [r#""connection";r=98;t=0"#, r#""connection";r=97;t=0"#].contains(&limit.as_str()),
        "{limit}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_with_different_quotas_carry_each_others_spending_over() {
    let redis = RedisServer::start(&[]);
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let table = format!("url = \"{}\"\nreplicas = 2\n{GENEROUS}", redis.url());
    // One replica reloaded (or deployed) with 20 an hour, the other still at 10: one bucket, two shapes.
    let small = spawn_toml(&profile(
        &sandbox.base_url(),
        &table,
        "",
        "quota = { calls = 10, period_secs = 3600 }",
    ))
    .await;
    let large = spawn_toml(&profile(
        &sandbox.base_url(),
        &table,
        "",
        "quota = { calls = 20, period_secs = 3600 }",
    ))
    .await;
    let mut admitted = 0;
    for i in 0..60 {
        let app = if i % 2 == 0 { &small } else { &large };
        let response = app.get(KEY, PATH).await;
        match response.status().as_u16() {
            200 => admitted += 1,
            429 => {}
            other => panic!("call {i}: {other}"),
        }
    }
    // Neither replica forgets what the other spent: never more than the larger quota's burst.
    assert!((10..=20).contains(&admitted), "{admitted} admitted");
}

/// A token authority that answers after `delay`, rolling the refresh token, in front of a Partner Center that
/// answers every call.
async fn slow_authority(delay: Duration) -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/{}/oauth2/v2.0/token",
            partner_center_gateway::sandbox::demo::PARTNER_TENANT_ID
        )))
        .respond_with(ResponseTemplate::new(200).set_delay(delay).set_body_json(
            serde_json::json!({
                "token_type": "Bearer", "expires_in": 3599,
                "access_token": "at-slow", "refresh_token": "rolled-slowly"
            }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"id":"x"}"#, "application/json"))
        .mount(&server)
        .await;
    server
}

async fn token_requests(server: &wiremock::MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_authority_slower_than_a_short_lock_still_sees_one_exchange_for_two_replicas() {
    let redis = RedisServer::start(&[]);
    // Slower than 15 s, well within the token request's own budget (30 s by default).
    let authority = slow_authority(Duration::from_secs(16)).await;
    let dir = tempfile::tempdir().unwrap();
    let spawn = |i: usize| {
        let toml = shared_tokens_profile(
            &authority.uri(),
            &redis.url(),
            &dir.path().join(format!("replica-{i}.refresh-token")),
        );
        async move { spawn_toml(&toml).await }
    };
    let (a, b) = (spawn(0).await, spawn(1).await);
    let (first, second) = tokio::join!(a.get("user-key", PATH), b.get("user-key", PATH));
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    assert_eq!(
        token_requests(&authority).await,
        1,
        "the replica waiting never exchanged the same refresh token itself"
    );
    assert_eq!(
        redis
            .cli(&["HGET", "{pcgw:token:user-conn}:refresh", "token"])
            .trim(),
        "rolled-slowly"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_rolled_while_redis_was_down_is_the_one_every_replica_uses_once_it_is_back()
{
    // Persistent, so that Redis comes back with what it held: the generation the roll below voids.
    let durable = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut redis = RedisServer::start(&durable);
    let sandbox = standalone_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = redis.url();
    let spawn = |i: usize| {
        let toml = shared_tokens_profile(
            &sandbox.base_url(),
            &url,
            &dir.path().join(format!("replica-{i}.refresh-token")),
        );
        async move { spawn_toml(&toml).await }
    };
    let first = spawn(0).await;
    assert_eq!(first.get("user-key", PATH).await.status(), 200);
    let refresh = "{pcgw:token:user-conn}:refresh";
    assert_eq!(redis.cli(&["HGET", refresh, "gen"]).trim(), "1");
    first.stop().await;

    // Redis away, and a replica with no access token of its own: it renews with its file's token, which Redis
    // also holds as generation 1, and the authority voids it.
    redis.kill();
    let renewed_alone = spawn(0).await;
    assert_eq!(renewed_alone.get("user-key", PATH).await.status(), 200);
    assert_eq!(sandbox.token_calls(), 2);

    redis.restart(&durable);
    assert_eq!(redis.cli(&["HGET", refresh, "gen"]).trim(), "1");
    // Its next call (served from its cache) finds Redis back and stores its roll there.
    assert_eq!(renewed_alone.get("user-key", PATH).await.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis.cli(&["HGET", refresh, "gen"]).trim() != "2" {
        assert!(
            Instant::now() < deadline,
            "the roll made without Redis never reached it"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Another replica's renewal, from Redis: the live token, not the voided one.
    redis.cli(&["DEL", "{pcgw:token:user-conn}:access"]);
    let other = spawn(1).await;
    let renewed = other.get("user-key", PATH).await;
    assert_eq!(renewed.status(), 200, "{}", renewed.text().await.unwrap());
    assert_eq!(redis.cli(&["HGET", refresh, "gen"]).trim(), "3");
}
