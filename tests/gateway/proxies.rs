//! Behind a TLS-terminating proxy without `server.public_base_url`: the links the gateway hands out (`nextLink`,
//! the served connector definition) follow the proxy's `Forwarded` or `X-Forwarded-*` headers, but only when
//! the proxy is in `server.trusted_proxies`, only the family `server.forwarded_header` names, and only the
//! fields `server.forwarded_fields` lists; everything else is ignored.

use crate::common::*;
use serde_json::{Value, json};

/// A proxy on this machine that sets `X-Forwarded-Proto` and `X-Forwarded-Host`, both believed.
const X_FORWARDED_PROTO_AND_HOST: &str = r#"trusted_proxies = ["127.0.0.1"]
forwarded_header = "x-forwarded"
forwarded_fields = ["proto", "host"]"#;

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
    let (app, _state) = spawn_with_server_keys(X_FORWARDED_PROTO_AND_HOST).await;
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
    let (app, _state) = spawn_with_server_keys(
        r#"trusted_proxies = ["10.0.0.0/8", "127.0.0.0/8"]
forwarded_header = "forwarded"
forwarded_fields = ["proto", "host"]"#,
    )
    .await;
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
    let (others, _b) = spawn_with_server_keys(
        r#"trusted_proxies = ["10.0.0.0/8", "::1"]
forwarded_header = "forwarded"
forwarded_fields = ["proto", "host"]"#,
    )
    .await;
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
    let (rfc, _a) = spawn_with_server_keys(
        r#"trusted_proxies = ["127.0.0.1"]
forwarded_header = "forwarded"
forwarded_fields = ["proto", "host"]"#,
    )
    .await;
    let (x, _b) = spawn_with_server_keys(X_FORWARDED_PROTO_AND_HOST).await;
    for (app, headers) in [
        (&rfc, [("Forwarded", "proto=gopher")]),
        (&rfc, [("Forwarded", "proto=https;proto=http")]),
        (&rfc, [("Forwarded", r#"host="pcgw.contoso.example"#)]),
        (&rfc, [("Forwarded", "host=evil.example/steal?x=")]),
        (&rfc, [("Forwarded", r#"host="a:b:c""#)]),
        (&x, [("X-Forwarded-Proto", "javascript")]),
        (&x, [("X-Forwarded-Host", "user@evil.example")]),
        (&x, [("X-Forwarded-Host", "pcgw.contoso.example,")]),
        (&x, [("X-Forwarded-Host", "[[evil")]),
    ] {
        let before = app.sandbox().api_calls();
        for path in [
            "/v1/customers?Size=10",
            "/v1/paged/invoices",
            "/openapi/connector/apiDefinition.swagger.json",
        ] {
            let response = get_with(app, path, &headers).await;
            assert_eq!(response.status(), 400, "{path} with {headers:?}");
            let body = json(response).await;
            assert_eq!(body["code"], "InvalidForwardedHeader", "{body}");
        }
        assert_eq!(
            app.sandbox().api_calls(),
            before,
            "nothing reached Partner Center"
        );
    }
}

#[tokio::test]
async fn the_configured_public_base_url_still_wins() {
    let (app, _state) = spawn_with_server_keys(
        "trusted_proxies = [\"127.0.0.1\"]\nforwarded_header = \"x-forwarded\"\nforwarded_fields = [\"proto\", \"host\"]\npublic_base_url = \"https://pcgw.example.com/pc\"",
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

/// A caller's own `Forwarded` beside the proxy's `X-Forwarded-*` is not the proxy's: with `x-forwarded`
/// configured it is ignored, whether it names another host or only a `for=` that used to wipe out the proxy's
/// headers.
#[tokio::test]
async fn the_header_family_not_configured_is_ignored() {
    let (app, _state) = spawn_with_server_keys(X_FORWARDED_PROTO_AND_HOST).await;
    let proxy = [
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "pcgw.contoso.example"),
    ];
    for callers in [
        "host=evil.example;proto=https",
        "for=1.2.3.4",
        "proto=gopher;host=\"a b\"",
    ] {
        let headers = [proxy[0], proxy[1], ("Forwarded", callers)];
        let (next, schemes, host) = links(&app, &headers).await;
        assert!(
            next.starts_with("https://pcgw.contoso.example/v1/paged/customers?"),
            "with the caller's Forwarded: {callers}: {next}"
        );
        assert_eq!(
            (schemes, host),
            (json!(["https"]), json!("pcgw.contoso.example")),
            "{callers}"
        );
    }

    // And the other way round: a proxy that sets Forwarded, and a caller's X-Forwarded-Host.
    let (rfc, _b) = spawn_with_server_keys(
        r#"trusted_proxies = ["127.0.0.1"]
forwarded_header = "forwarded"
forwarded_fields = ["proto", "host"]"#,
    )
    .await;
    let (next, _, host) = links(
        &rfc,
        &[
            ("X-Forwarded-Host", "evil.example"),
            ("Forwarded", "proto=https;host=pcgw.contoso.example"),
        ],
    )
    .await;
    assert!(next.starts_with("https://pcgw.contoso.example/"), "{next}");
    assert_eq!(host, json!("pcgw.contoso.example"));
}

/// A proxy that sets only the scheme (AWS's Application Load Balancer sets X-Forwarded-Proto and passes a
/// caller's X-Forwarded-Host through): by default only `proto` is believed, so the caller cannot pick the host.
#[tokio::test]
async fn the_forwarded_host_is_believed_only_when_configured() {
    for family in ["x-forwarded", "forwarded"] {
        let (app, _state) = spawn_with_server_keys(&format!(
            "trusted_proxies = [\"127.0.0.1\"]\nforwarded_header = \"{family}\""
        ))
        .await;
        let reached = app.address.trim_start_matches("http://").to_owned();
        let (next, schemes, host) = links(
            &app,
            &[
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Host", "evil.example"),
                ("Forwarded", "proto=https;host=evil.example"),
            ],
        )
        .await;
        assert!(
            next.starts_with(&format!("https://{reached}/v1/paged/customers?")),
            "{family}: the proxy's scheme and the request's own Host: {next}"
        );
        assert_eq!(
            (schemes, host),
            (json!(["https"]), json!(reached)),
            "{family}"
        );
    }
}

/// A `Host` that is no host (stray colons, brackets that are no IPv6 address, a port that is no number, a dotted
/// number that is no IPv4 address) makes no link: 400 in the gateway's error shape, and nothing reaches Partner
/// Center.
#[tokio::test]
async fn a_malformed_host_is_a_400_that_reaches_nobody() {
    let app = spawn_app().await;
    let before = app.sandbox().api_calls();
    for bad in [
        "a:b:c",
        "[[evil",
        "[evil]",
        "h:",
        "h:99999",
        "h:8x",
        "1.2.3.999",
        "[::1",
    ] {
        for path in [
            "/v1/paged/customers?Size=2",
            "/v1/invoices?Size=2",
            "/openapi.json",
            "/openapi/connector/apiDefinition.swagger.json",
        ] {
            let response = app
                .client
                .get(app.url(path))
                .header("X-API-Key", CONTOSO_KEY)
                .header("Host", bad)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{path} with Host: {bad}");
            let body = json(response).await;
            assert_eq!(
                body["code"], "InvalidHost",
                "{path} with Host: {bad}: {body}"
            );
            assert!(body["correlationId"].is_string(), "{body}");
        }
    }
    // Names, addresses and ports that are fine still make links.
    for good in [
        "pcgw.contoso.example",
        "pcgw.contoso.example:8443",
        "127.0.0.1:9",
        "[::1]:8080",
    ] {
        let response = app
            .client
            .get(app.url("/v1/paged/customers?Size=2"))
            .header("X-API-Key", CONTOSO_KEY)
            .header("Host", good)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{good}");
        let next = json(response).await["nextLink"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(next.starts_with(&format!("http://{good}/")), "{next}");
    }
    assert_eq!(
        app.sandbox().api_calls(),
        before + 4,
        "only the good calls went out"
    );
}

/// Without `server.public_base_url`, `/openapi.json` and the connector definition are built from the request's
/// `Host` (and what a trusted proxy forwards): an answer a shared cache kept for one caller would hand another
/// links to wherever the first one said. They are marked `no-store`. With the URL configured they are the same
/// for everyone and carry no such mark.
#[tokio::test]
async fn documents_built_from_the_request_are_not_stored_by_caches() {
    let paths = [
        "/openapi.json",
        "/openapi/connector/apiDefinition.swagger.json",
        "/openapi/connector/apiDefinition.swagger.json?locale=pt-BR&auth=oauth",
    ];
    let (per_request, _a) = spawn_with_server_keys(X_FORWARDED_PROTO_AND_HOST).await;
    let (fixed, _b) =
        spawn_with_server_keys("public_base_url = \"https://pcgw.example.com\"").await;
    for path in paths {
        let response = get_with(&per_request, path, &[]).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path}"
        );
        let response = get_with(&fixed, path, &[]).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers().get("cache-control").is_none(), "{path}");
    }
}
