//! Behind a TLS-terminating proxy without `server.public_base_url`: the links the gateway hands out (`nextLink`,
//! the served connector definition) follow the proxy's `Forwarded` or `X-Forwarded-*` headers, but only when
//! the proxy is in `server.trusted_proxies`; from anyone else they are ignored.

use crate::common::*;
use serde_json::{Value, json};

/// The sandbox profile with `keys` in its `[server]` table; the directory holds its refresh token.
async fn spawn_with_server_keys(keys: &str) -> (TestApp, tempfile::TempDir) {
    let state = tempfile::tempdir().unwrap();
    let toml = with_server_keys(&sandbox_profile(&state.path().join("rt")), keys);
    (spawn_toml(&toml).await, state)
}

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(path))
        .header("X-API-Key", FABRIKAM_KEY);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// The first customers page's `nextLink` and the connector definition's `(schemes, host)`, as a caller with
/// `headers` sees them.
async fn links(app: &TestApp, headers: &[(&str, &str)]) -> (String, Value, Value) {
    let page = get_with(app, "/v1/paged/customers?Size=10", headers).await;
    assert_eq!(page.status(), 200);
    let next = json(page).await["nextLink"].as_str().unwrap().to_owned();
    let definition = get_with(
        app,
        "/openapi/connector/apiDefinition.swagger.json",
        headers,
    )
    .await;
    assert_eq!(definition.status(), 200);
    let definition = json(definition).await;
    (
        next,
        definition["schemes"].clone(),
        definition["host"].clone(),
    )
}

#[tokio::test]
async fn a_trusted_proxys_x_forwarded_headers_make_the_links() {
    let (app, _state) = spawn_with_server_keys(r#"trusted_proxies = ["127.0.0.1"]"#).await;
    let (next, schemes, host) = links(
        &app,
        &[
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "pcgw.contoso.example"),
        ],
    )
    .await;
    assert!(
        next.starts_with(
            "https://pcgw.contoso.example/v1/paged/customers?Size=10&ContinuationToken="
        ),
        "{next}"
    );
    assert_eq!(
        (schemes, host),
        (json!(["https"]), json!("pcgw.contoso.example"))
    );

    // Through two proxies, each appending: the last values are the nearest proxy's.
    let (next, schemes, host) = links(
        &app,
        &[
            ("X-Forwarded-Proto", "http, https"),
            (
                "X-Forwarded-Host",
                "evil.example, pcgw.contoso.example:8443",
            ),
        ],
    )
    .await;
    assert!(
        next.starts_with("https://pcgw.contoso.example:8443/"),
        "{next}"
    );
    assert_eq!(
        (schemes, host),
        (json!(["https"]), json!("pcgw.contoso.example:8443"))
    );
}

#[tokio::test]
async fn a_trusted_proxys_forwarded_header_makes_the_links() {
    let (app, _state) =
        spawn_with_server_keys(r#"trusted_proxies = ["10.0.0.0/8", "127.0.0.0/8"]"#).await;
    let (next, schemes, host) = links(
        &app,
        &[(
            "Forwarded",
            r#"for=192.0.2.60;host=evil.example;proto=http, for=10.1.2.3;proto=https;host="pcgw.contoso.example""#,
        )],
    )
    .await;
    assert!(
        next.starts_with("https://pcgw.contoso.example/v1/paged/customers?"),
        "{next}"
    );
    assert_eq!(
        (schemes, host),
        (json!(["https"]), json!("pcgw.contoso.example"))
    );

    // Only the scheme forwarded: the host is the one the request reached.
    let (next, schemes, host) = links(&app, &[("Forwarded", "proto=https")]).await;
    let reached = app.address.trim_start_matches("http://");
    assert!(next.starts_with(&format!("https://{reached}/")), "{next}");
    assert_eq!((schemes, host), (json!(["https"]), json!(reached)));
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let spoofed: &[(&str, &str)] = &[
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "evil.example"),
        ("Forwarded", "proto=https;host=evil.example"),
    ];
    // Nobody trusted (the default), and a list that does not hold this peer (127.0.0.1).
    let (default, _a) = spawn_with_server_keys("").await;
    let (others, _b) = spawn_with_server_keys(r#"trusted_proxies = ["10.0.0.0/8", "::1"]"#).await;
    for app in [&default, &others] {
        let (next, schemes, host) = links(app, spoofed).await;
        assert!(
            next.starts_with(&app.url("/v1/paged/customers?")),
            "the request's own scheme and Host: {next}"
        );
        assert_eq!(
            (schemes, host),
            (
                json!(["http"]),
                json!(app.address.trim_start_matches("http://"))
            )
        );
        // Not read, so not judged either: a malformed value from an untrusted peer is no error.
        let response = get_with(
            app,
            "/v1/paged/customers?Size=10",
            &[("Forwarded", "proto=gopher")],
        )
        .await;
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test]
async fn a_malformed_value_from_a_trusted_proxy_is_a_400_that_reaches_nobody() {
    let (app, _state) = spawn_with_server_keys(r#"trusted_proxies = ["127.0.0.1"]"#).await;
    let before = app.sandbox().api_calls();
    for headers in [
        [("Forwarded", "proto=gopher")],
        [("Forwarded", "proto=https;proto=http")],
        [("Forwarded", r#"host="pcgw.contoso.example"#)],
        [("Forwarded", "host=evil.example/steal?x=")],
        [("X-Forwarded-Proto", "javascript")],
        [("X-Forwarded-Host", "user@evil.example")],
        [("X-Forwarded-Host", "pcgw.contoso.example,")],
    ] {
        for path in [
            "/v1/customers?Size=10",
            "/v1/paged/invoices",
            "/openapi/connector/apiDefinition.swagger.json",
        ] {
            let response = get_with(&app, path, &headers).await;
            assert_eq!(response.status(), 400, "{path} with {headers:?}");
            let body = json(response).await;
            assert_eq!(body["code"], "InvalidForwardedHeader", "{body}");
        }
    }
    assert_eq!(
        app.sandbox().api_calls(),
        before,
        "nothing reached Partner Center"
    );
}

#[tokio::test]
async fn the_configured_public_base_url_still_wins() {
    let (app, _state) = spawn_with_server_keys(
        "trusted_proxies = [\"127.0.0.1\"]\npublic_base_url = \"https://pcgw.example.com/pc\"",
    )
    .await;
    let (next, schemes, host) = links(
        &app,
        &[
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Host", "elsewhere.example"),
        ],
    )
    .await;
    assert!(
        next.starts_with("https://pcgw.example.com/pc/v1/paged/customers?"),
        "{next}"
    );
    assert_eq!(
        (schemes, host),
        (json!(["https"]), json!("pcgw.example.com"))
    );
}
