//! The quota as a caller sees it: exact admission, truthful headers, and one bucket per connection whether the
//! connection is named by an API key or by a maker's own token.

use std::time::Duration;

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use partner_center_gateway::clock::Clock;

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

async fn app_with_clock(clock: Clock, extra_quota: &str) -> (TestApp, tempfile::TempDir) {
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("rt")).replace(
        "period_secs = 60\n",
        &format!("period_secs = 60\n{extra_quota}\n"),
    );
    (spawn_toml_with_clock(&toml, clock).await, state)
}

#[tokio::test]
async fn remaining_counts_down_to_zero_at_the_429_and_waiting_retry_after_is_enough() {
    let clock = Clock::manual();
    let (app, _state) = app_with_clock(clock.clone(), "").await;
    let path = format!("/v1/customers/{SEED_CUSTOMER}");
    for expected_remaining in (0..100).rev() {
        let response = app.get(CONTOSO_KEY, &path).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "ratelimit-policy"),
            r#""connection";q=100;w=60"#
        );
        // Once the burst is spent, the next call is one refill step (0.6 s) away: t rounds that up.
        let t = if expected_remaining == 0 { 1 } else { 0 };
        assert_eq!(
            header(&response, "ratelimit"),
            format!(r#""connection";r={expected_remaining};t={t}"#)
        );
    }
    let refused = app.get(CONTOSO_KEY, &path).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after"), "1");
    assert_eq!(header(&refused, "ratelimit"), r#""connection";r=0;t=1"#);

    clock.advance(Duration::from_secs(1));
    let admitted = app.get(CONTOSO_KEY, &path).await;
    assert_eq!(
        admitted.status(),
        200,
        "a caller who waits exactly Retry-After is admitted"
    );
    assert_eq!(header(&admitted, "ratelimit"), r#""connection";r=0;t=1"#);
}

#[tokio::test]
async fn strict_window_spends_half_at_once_then_one_call_every_1_2_seconds() {
    let clock = Clock::manual();
    let (app, _state) = app_with_clock(clock.clone(), "strict_window = true").await;
    let path = format!("/v1/customers/{SEED_CUSTOMER}");
    for _ in 0..50 {
        assert_eq!(app.get(FABRIKAM_KEY, &path).await.status(), 200);
    }
    let refused = app.get(FABRIKAM_KEY, &path).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after"), "2", "1.2 s, rounded up");
    assert_eq!(
        header(&refused, "ratelimit-policy"),
        r#""connection";q=100;w=60"#
    );
    clock.advance(Duration::from_millis(1200));
    assert_eq!(app.get(FABRIKAM_KEY, &path).await.status(), 200);
    assert_eq!(app.get(FABRIKAM_KEY, &path).await.status(), 429);
}

#[tokio::test]
async fn two_hundred_concurrent_calls_on_a_fresh_connection_admit_exactly_the_burst() {
    let clock = Clock::manual();
    let (app, _state) = app_with_clock(clock, "").await;
    let url = app.url(&format!("/v1/customers/{SEED_CUSTOMER}"));
    let calls: Vec<_> = (0..200)
        .map(|_| {
            let (client, url) = (app.client.clone(), url.clone());
            tokio::spawn(async move {
                client
                    .get(url)
                    .header("X-API-Key", FABRIKAM_KEY)
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut statuses = vec![];
    for call in calls {
        statuses.push(call.await.unwrap().as_u16());
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 100);
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 100);
    assert_eq!(
        app.sandbox().api_calls(),
        100,
        "refused calls never reached Partner Center"
    );
}

#[tokio::test]
async fn a_maker_keeps_one_bucket_across_two_tokens_and_another_maker_has_their_own() {
    let clock = Clock::manual();
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("rt")).replace("calls = 100", "calls = 3");
    let app = spawn_toml_with_clock(&toml, clock).await;
    let path = format!("/v1/customers/{SEED_CUSTOMER}");

    let first = app.user_token("alice").await;
    // The same maker signed in again later: a different token, the same tid and oid.
    let payload = first.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let mut later = claims.clone();
    later["iat"] = serde_json::json!(claims["iat"].as_u64().unwrap() + 1);
    let second = sign_with_sandbox_key(&later, "sandbox-key-1");
    assert_ne!(first, second);

    assert_eq!(app.get_bearer(&first, &path).await.status(), 200);
    assert_eq!(app.get_bearer(&first, &path).await.status(), 200);
    let third = app.get_bearer(&second, &path).await;
    assert_eq!(third.status(), 200);
    assert_eq!(
        header(&third, "ratelimit"),
        r#""connection";r=0;t=20"#,
        "the second token spends the same bucket"
    );
    assert_eq!(app.get_bearer(&second, &path).await.status(), 429);

    let bob = app.user_token("bob").await;
    assert_eq!(
        app.get_bearer(&bob, &path).await.status(),
        200,
        "another maker has a bucket of their own"
    );
    assert_eq!(app.sandbox().api_calls(), 4);
}

#[tokio::test]
async fn bearer_tokens_that_are_not_valid_are_refused_before_partner_center() {
    let app = spawn_app().await;
    let base = app.sandbox().base_url();
    let path = format!("/v1/customers/{SEED_CUSTOMER}");
    let good = user_claims(&base, "2f0c8b4e-6d7a-4c1b-9e3f-5a6b7c8d9e0f");
    assert_eq!(
        app.get_bearer(&sign_with_sandbox_key(&good, "sandbox-key-1"), &path)
            .await
            .status(),
        200
    );
    let calls_before = app.sandbox().api_calls();

    let now = unix_now();
    let mut expired = good.clone();
    expired["exp"] = serde_json::json!(now - 120);
    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = serde_json::json!("https://graph.microsoft.com");
    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = serde_json::json!(format!(
        "https://evil.example/{}/v2.0",
        good["tid"].as_str().unwrap()
    ));
    let mut no_tenant = good.clone();
    no_tenant.as_object_mut().unwrap().remove("tid");
    let valid = sign_with_sandbox_key(&good, "sandbox-key-1");
    // Forged: a valid token's claims changed to another maker, the signature kept.
    let (head, rest) = valid.split_once('.').unwrap();
    let signature = rest.split_once('.').unwrap().1;
    let mut other = good.clone();
    other["oid"] = serde_json::json!("00000000-0000-4000-8000-000000000000");
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
    let forged = format!("{head}.{forged_payload}.{signature}");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&good).unwrap())
    );

    let cases = [
        (
            "expired",
            sign_with_sandbox_key(&expired, "sandbox-key-1"),
            "expired",
        ),
        (
            "wrong audience",
            sign_with_sandbox_key(&wrong_audience, "sandbox-key-1"),
            "aud",
        ),
        (
            "wrong issuer",
            sign_with_sandbox_key(&wrong_issuer, "sandbox-key-1"),
            "issuer",
        ),
        (
            "no tenant",
            sign_with_sandbox_key(&no_tenant, "sandbox-key-1"),
            "tid",
        ),
        ("forged", forged, "signature"),
        (
            "unknown key",
            sign_with_sandbox_key(&good, "rotated-away"),
            "key",
        ),
        ("unsigned", unsigned, "RS256"),
        ("not a JWT", "opaque-token".to_owned(), "JWT"),
    ];
    for (name, token, says) in cases {
        let response = app.get_bearer(&token, &path).await;
        assert_eq!(response.status(), 401, "{name}");
        assert!(
            response
                .headers()
                .get_all("www-authenticate")
                .iter()
                .any(|v| v.to_str().unwrap().starts_with("Bearer"))
        );
        let body = json(response).await;
        assert_eq!(body["code"], "Unauthorized", "{name}");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{name}: {body}"
        );
    }
    assert_eq!(
        app.sandbox().api_calls(),
        calls_before,
        "no refused token reached Partner Center"
    );
}

#[tokio::test]
async fn an_unknown_signing_key_refetches_the_jwks_at_most_once_a_minute() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let issuer = MockServer::start().await;
    let n = std::fs::read_to_string("sandbox/src/sandbox-signing-key.n").unwrap();
    // The issuer publishes `kids`; Partner Center answers every call.
    let publish = |kids: &[&str]| {
        let keys: Vec<_> = kids
            .iter()
            .map(|kid| serde_json::json!({"kty": "RSA", "kid": kid, "n": n.trim(), "e": "AQAB", "alg": "RS256"}))
            .collect();
        vec![
            Mock::given(method("GET")).and(path("/keys")).respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({ "keys": keys })),
            ),
            Mock::given(method("GET"))
                .and(path(format!("/v1/customers/{SEED_CUSTOMER}")))
                .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json")),
        ]
    };
    for mock in publish(&["k1"]) {
        mock.mount(&issuer).await;
    }
    let key_fetches = || async {
        issuer
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/keys")
            .count()
    };
    let state = tempfile::tempdir().unwrap();
    let toml = real_profile(&issuer.uri(), &issuer.uri(), &temp_file(&state, "rt"), "").replace(
        "[auth]",
        &format!(
            "[auth]\nissuers = [{{ issuer = \"{0}/{{tenantid}}/v2.0\", jwks_uri = \"{0}/keys\" }}]",
            issuer.uri()
        ),
    );
    let clock = Clock::manual();
    let app = spawn_toml_with_clock(&toml, clock.clone()).await;
    let path = format!("/v1/customers/{SEED_CUSTOMER}");
    let claims = user_claims(&issuer.uri(), "2f0c8b4e-6d7a-4c1b-9e3f-5a6b7c8d9e0f");

    assert_eq!(
        app.get_bearer(&sign_with_sandbox_key(&claims, "k1"), &path)
            .await
            .status(),
        200
    );
    for kid in ["k2", "k3", "k4"] {
        assert_eq!(
            app.get_bearer(&sign_with_sandbox_key(&claims, kid), &path)
                .await
                .status(),
            401
        );
    }
    // The cold fetch that found k1 was less than a minute ago: the unknown kids are refused without asking
    // the issuer again.
    assert_eq!(key_fetches().await, 1);

    // The issuer rotates to k2. Within the minute its tokens are still refused, without a fetch.
    issuer.reset().await;
    for mock in publish(&["k1", "k2"]) {
        mock.mount(&issuer).await;
    }
    let k2 = sign_with_sandbox_key(&claims, "k2");
    clock.advance(Duration::from_secs(59));
    assert_eq!(app.get_bearer(&k2, &path).await.status(), 401);
    assert_eq!(
        key_fetches().await,
        0,
        "the issuer was not asked (its log was reset)"
    );

    // A minute after the last fetch, an unknown kid asks once more, and the rotated key is accepted.
    clock.advance(Duration::from_secs(1));
    assert_eq!(app.get_bearer(&k2, &path).await.status(), 200);
    assert_eq!(app.get_bearer(&k2, &path).await.status(), 200);
    assert_eq!(key_fetches().await, 1);
}
