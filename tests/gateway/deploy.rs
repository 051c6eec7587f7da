//! The Kubernetes manifest's configuration is one the gateway loads, and its pod waits long enough for the drain
//! the configuration asks for. (Its YAML, and the compose file's, are parsed by `.ci/deploy`.)

use partner_center_gateway::config::Settings;

const MANIFEST: &str = include_str!("../../deploy/kubernetes/partner-center-gateway.yaml");
const REDIS_MANIFEST: &str =
    include_str!("../../deploy/kubernetes/partner-center-gateway-redis.yaml");

/// The ConfigMap's `partner-center.toml`: the block scalar under its key, de-indented.
fn configmap_toml() -> String {
    toml_in(MANIFEST)
}

fn toml_in(manifest: &str) -> String {
    let mut lines = manifest
        .lines()
        .skip_while(|l| l.trim() != "partner-center.toml: |");
    lines
        .next()
        .expect("the ConfigMap holds partner-center.toml");
    lines
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn manifest_number(key: &str) -> u64 {
    number_in(MANIFEST, key)
}

fn number_in(manifest: &str, key: &str) -> u64 {
    manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("the manifest sets {key}"))
        .parse()
        .unwrap()
}

#[test]
fn the_manifests_configuration_loads_and_its_pod_outlasts_the_drain() {
    let settings =
        Settings::from_toml(&configmap_toml()).expect("the ConfigMap's configuration loads");
    assert!(
        settings.server.drain_delay_secs > 0,
        "a drain delay behind a Service"
    );
    // The drain delay, the grace period, and the wait for a refresh-token exchange under way (5 s).
    let needed = settings.server.drain_delay_secs + settings.server.shutdown_grace_secs + 5;
    assert!(
        manifest_number("terminationGracePeriodSeconds") > needed,
        "the kubelet would kill the gateway mid-drain"
    );
}

#[test]
fn the_three_replica_manifest_shares_the_quota_through_redis_and_outlasts_the_drain() {
    // The URL comes from the Secret as PCGW_REDIS__URL, which TOML text alone does not read.
    let toml = toml_in(REDIS_MANIFEST).replace(
        "[redis]\n",
        "[redis]\nurl = \"redis://partner-center-gateway-redis:6379\"\n",
    );
    let settings = Settings::from_toml(&toml).expect("the ConfigMap's configuration loads");
    let redis = settings.redis.as_ref().expect("quota.backend = \"redis\"");
    // The gateway's Deployment (the one with a rolling strategy; Redis's runs one) has as many replicas as the
    // quota is shared by.
    let gateway_replicas = format!("  replicas: {}\n  strategy:", redis.replicas);
    assert!(
        REDIS_MANIFEST.contains(&gateway_replicas),
        "{gateway_replicas}"
    );
    let needed = settings.server.drain_delay_secs + settings.server.shutdown_grace_secs + 5;
    assert!(number_in(REDIS_MANIFEST, "terminationGracePeriodSeconds") > needed);
}
