//! Paging as the platform does it: the twins ListCustomers and ListInvoices answer `{"value", "nextLink"}`, the
//! shape Power Automate's and Logic Apps' Pagination setting follows, while GetAllCustomers and GetInvoices keep
//! the original connector's `items` answer for the flows built on it.

use std::collections::{BTreeSet, HashSet};

use crate::common::*;
use serde_json::Value;
use serde_json::value::RawValue;

/// Follows `first` and its `nextLink`s the way the platform does, reading nothing but `value` and `nextLink`;
/// returns every page's raw body.
async fn follow_value_pages(app: &TestApp, first: &str) -> Vec<String> {
    let mut next = Some(app.url(first));
    let mut pages = Vec::new();
    while let Some(url) = next {
        let response = app.get_url(FABRIKAM_KEY, &url).await;
        assert_eq!(response.status(), 200, "{url}");
        let body = response.text().await.unwrap();
        let page: Value = serde_json::from_str(&body).unwrap();
        let keys: BTreeSet<&str> = page
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(
            keys.is_subset(&BTreeSet::from(["value", "nextLink"])) && keys.contains("value"),
            "{url}: a page of value and nextLink only, not {keys:?}"
        );
        assert!(page["value"].is_array(), "{url}");
        next = page.get("nextLink").map(|l| l.as_str().unwrap().to_owned());
        pages.push(body);
    }
    pages
}

fn ids(page: &Value, list: &str) -> Vec<String> {
    page[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn list_customers_pages_through_every_customer_by_value_and_next_link() {
    let app = spawn_app().await;
    let pages = follow_value_pages(&app, "/v1/paged/customers?Size=200").await;
    let mut seen = HashSet::new();
    for (i, body) in pages.iter().enumerate() {
        let page: Value = serde_json::from_str(body).unwrap();
        for id in ids(&page, "value") {
            assert!(seen.insert(id), "a customer seen twice");
        }
        if let Some(link) = page["nextLink"].as_str() {
            assert!(
                link.starts_with(&app.url("/v1/paged/customers?Size=200&ContinuationToken=")),
                "page {i}: nextLink leads back to the twin with the same size: {link}"
            );
        }
    }
    assert_eq!(seen.len(), 1250);
    assert!(seen.contains(SEED_CUSTOMER));
    assert_eq!(pages.len(), 7);
}

#[tokio::test]
async fn list_invoices_pages_through_every_invoice_by_value_and_next_link() {
    let app = spawn_app().await;
    let pages = follow_value_pages(&app, "/v1/paged/invoices?Size=20").await;
    let mut seen = HashSet::new();
    let mut links = Vec::new();
    for body in &pages {
        let page: Value = serde_json::from_str(body).unwrap();
        for id in ids(&page, "value") {
            assert!(seen.insert(id), "an invoice seen twice");
        }
        links.extend(page["nextLink"].as_str().map(str::to_owned));
    }
    assert_eq!(seen.len(), 50);
    assert_eq!(
        links,
        [
            app.url("/v1/paged/invoices?Size=20&Offset=20"),
            app.url("/v1/paged/invoices?Size=20&Offset=40")
        ]
    );
}

/// The list inside a page, exactly as written.
fn raw_list(body: &str, list: &str) -> String {
    let page: std::collections::HashMap<String, &RawValue> = serde_json::from_str(body).unwrap();
    page[list].get().to_owned()
}

/// Walks an original and its twin side by side: on every page, the twin's `value` is the original's `items`,
/// byte for byte, and both lead to the same next page.
async fn twin_matches_original(app: &TestApp, original: &str, twin: &str) {
    let (mut original, mut twin) = (Some(app.url(original)), Some(app.url(twin)));
    let mut pages = 0;
    while let (Some(o), Some(t)) = (original.take(), twin.take()) {
        let o_body = app.get_url(FABRIKAM_KEY, &o).await.text().await.unwrap();
        let t_body = app.get_url(FABRIKAM_KEY, &t).await.text().await.unwrap();
        assert_eq!(
            raw_list(&t_body, "value"),
            raw_list(&o_body, "items"),
            "{t} and {o}"
        );
        let link = |body: &str| {
            serde_json::from_str::<Value>(body).unwrap()["nextLink"]
                .as_str()
                .map(str::to_owned)
        };
        (original, twin) = (link(&o_body), link(&t_body));
        if let (Some(o), Some(t)) = (&original, &twin) {
            assert_eq!(
                t.replacen("/v1/paged/", "/v1/", 1),
                *o,
                "the twin's next page is the original's"
            );
        }
        pages += 1;
    }
    assert!(original.is_none() && twin.is_none(), "both end together");
    assert!(pages > 1, "more than one page compared");
}

#[tokio::test]
async fn the_twins_list_the_originals_items_byte_for_byte() {
    let app = spawn_app().await;
    twin_matches_original(
        &app,
        "/v1/customers?Size=300",
        "/v1/paged/customers?Size=300",
    )
    .await;
    twin_matches_original(&app, "/v1/invoices?Size=15", "/v1/paged/invoices?Size=15").await;
}

#[tokio::test]
async fn the_originals_answer_partner_centers_page_with_items_and_only_next_link_added() {
    let app = spawn_app().await;
    let sandbox = app.sandbox();
    let token = sandbox_app_token(sandbox).await;
    for (ours, partner_centers) in [
        ("/v1/customers?Size=10", "/v1/customers?size=10"),
        ("/v1/invoices?Size=10", "/v1/invoices?size=10"),
    ] {
        let body = app.get(FABRIKAM_KEY, ours).await.text().await.unwrap();
        let direct = app
            .client
            .get(format!("{}{partner_centers}", sandbox.base_url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let page: Value = serde_json::from_str(&body).unwrap();
        assert!(
            page["items"].is_array() && page.get("value").is_none(),
            "{ours}: {page}"
        );
        let link = page["nextLink"].as_str().unwrap();
        let direct = direct.trim_end();
        assert_eq!(
            body,
            format!(
                "{},\"nextLink\":{}}}",
                &direct[..direct.len() - 1],
                serde_json::to_string(link).unwrap()
            ),
            "{ours}: Partner Center's bytes, nextLink added"
        );
    }
}
