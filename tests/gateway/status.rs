//! The status page as an administrator meets it: behind the admin key only, off without one, and showing each
//! registered connection's last hour (in English, or in Portuguese when the browser asks), with no secret in it.

use crate::common::{
    CONTOSO_KEY, FABRIKAM_KEY, SEED_CUSTOMER, TestApp, UNKNOWN_CUSTOMER, sandbox_profile,
    sha256_hex, spawn_app, spawn_toml,
};

const ADMIN_KEY: &str = "admin-key-of-the-status-tests";

/// The sandbox profile with a quota of 3 calls a minute and an admin key.
async fn app_with_admin() -> (TestApp, tempfile::TempDir) {
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("rt")).replace("calls = 100", "calls = 3")
        + &format!(
            "\n[admin]\napi_key_sha256 = \"{}\"\n",
            sha256_hex(ADMIN_KEY)
        );
    (spawn_toml(&toml).await, state)
}

async fn status(app: &TestApp, key: Option<&str>, language: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url("/status"));
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    if let Some(language) = language {
        request = request.header("Accept-Language", language);
    }
    request.send().await.unwrap()
}

/// The table row of `connection`: its cells' texts.
fn row(page: &str, connection: &str) -> Vec<String> {
    let start = page
        .find(&format!("<tr><td>{connection}</td>"))
        .unwrap_or_else(|| panic!("no row for {connection} in {page}"));
    let end = start + page[start..].find("</tr>").unwrap();
    page[start..end]
        .split("<td")
        .skip(1)
        .map(|cell| {
            let text = &cell[cell.find('>').unwrap() + 1..];
            text[..text.find("</td>").unwrap()].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_makers_key_or_no_key_is_refused_and_the_page_is_off_without_admin_keys() {
    let (app, _state) = app_with_admin().await;
    for key in [None, Some(CONTOSO_KEY)] {
        let response = status(&app, key, None).await;
        assert_eq!(response.status(), 401, "key {key:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "Unauthorized", "{body}");
    }

    let without = spawn_app().await;
    let response = status(&without, Some(ADMIN_KEY), None).await;
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "NotFound");
}

#[tokio::test]
async fn the_admin_sees_each_connections_calls_and_refusals_and_no_secret() {
    let (app, _state) = app_with_admin().await;
    let path = format!("/v1/customers/{SEED_CUSTOMER}");
    let statuses: Vec<u16> = {
        let mut s = Vec::new();
        for _ in 0..4 {
            s.push(app.get(CONTOSO_KEY, &path).await.status().as_u16());
        }
        s
    };
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(app.get(FABRIKAM_KEY, &path).await.status(), 200);
    let unknown = format!("/v1/customers/{UNKNOWN_CUSTOMER}");
    assert_eq!(app.get(FABRIKAM_KEY, &unknown).await.status(), 404);
    // Opening the page is no call of a connection: the rows read the same after it.
    let before = status(&app, Some(ADMIN_KEY), None)
        .await
        .text()
        .await
        .unwrap();

    let response = status(&app, Some(ADMIN_KEY), None).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("Gateway status"), "{page}");
    assert!(page.contains("embedded sandbox"), "{page}");
    assert!(page.contains("3 calls per 60 s"), "{page}");
    assert!(page.contains("not configured"), "{page}");
    assert!(page.contains("closed"), "{page}");
    assert!(page.contains("<svg id=\"chart\""), "{page}");

    let contoso = row(&page, "contoso-demo");
    assert_eq!(contoso[1..3], ["3", "1"], "{contoso:?}");
    assert!(contoso[3].starts_with("0 / 3 ("), "{contoso:?}");
    assert_ne!(contoso[4], "–", "the token was fetched: {contoso:?}");
    let fabrikam = row(&page, "fabrikam-demo");
    assert_eq!(fabrikam[1..3], ["2", "0"], "{fabrikam:?}");
    assert!(fabrikam[3].starts_with("1 / 3 ("), "{fabrikam:?}");
    assert!(fabrikam[5].starts_with("404 ("), "{fabrikam:?}");
    assert_eq!(contoso[5], "–", "{contoso:?}");
    for connection in ["contoso-demo", "fabrikam-demo"] {
        assert_eq!(row(&before, connection), row(&page, connection));
    }

    let client_secret = std::fs::read_to_string("config/sandbox/demo-client-secret").unwrap();
    for secret in [
        ADMIN_KEY,
        CONTOSO_KEY,
        FABRIKAM_KEY,
        client_secret.trim(),
        "sandbox-demo-refresh-token-contoso-admin",
        &sha256_hex(CONTOSO_KEY),
        &sha256_hex(ADMIN_KEY),
    ] {
        assert!(!page.contains(secret), "the page shows {secret:?}");
    }
    assert!(!page.contains("<script"), "the page needs no script");
}

#[tokio::test]
async fn a_portuguese_browser_gets_the_page_in_pt_br() {
    let (app, _state) = app_with_admin().await;
    let page = status(&app, Some(ADMIN_KEY), Some("pt-BR,pt;q=0.9,en;q=0.5"))
        .await
        .text()
        .await
        .unwrap();
    for label in [
        "lang=\"pt-BR\"",
        "Status do gateway",
        "Conexões",
        "Cota restante",
        "3 chamadas a cada 60 s",
        "não configurado",
    ] {
        assert!(page.contains(label), "{label} not in {page}");
    }
    assert!(!page.contains("Gateway status"), "{page}");
}
