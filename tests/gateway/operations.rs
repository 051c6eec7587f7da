//! Every operation, end to end: gateway on port 0 → embedded sandbox over HTTP.

use std::collections::HashSet;

use crate::common::*;
use serde_json::Value;

#[tokio::test]
async fn customer_details_keeps_every_field_partner_center_sends() {
    let app = spawn_app().await;
    let response = app
        .get(CONTOSO_KEY, &format!("/v1/customers/{SEED_CUSTOMER}"))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let c = json(response).await;
    assert_eq!(c["id"], SEED_CUSTOMER);
    for path in [
        "/commerceId",
        "/companyProfile/tenantId",
        "/companyProfile/companyName",
        "/companyProfile/domain",
        "/companyProfile/address/country",
        "/companyProfile/address/postalCode",
        "/companyProfile/email",
        "/billingProfile/id",
        "/billingProfile/firstName",
        "/billingProfile/culture",
        "/billingProfile/defaultAddress/addressLine1",
        "/billingProfile/defaultAddress/phoneNumber",
        "/relationshipToPartner",
        "/allowDelegatedAccess",
        "/customDomains",
    ] {
        assert!(c.pointer(path).is_some(), "{path} missing in {c}");
    }
}

#[tokio::test]
async fn subscriptions_orders_and_the_partner_filter() {
    let app = spawn_app().await;
    let subs = json(
        app.get(
            CONTOSO_KEY,
            &format!("/v1/customers/{SEED_CUSTOMER}/subscriptions"),
        )
        .await,
    )
    .await;
    assert_eq!(subs["totalCount"], 2);
    let first = &subs["items"][0];
    for field in [
        "id",
        "offerId",
        "offerName",
        "friendlyName",
        "quantity",
        "unitType",
        "creationDate",
        "status",
        "autoRenewEnabled",
        "billingCycle",
        "partnerId",
        "orderId",
    ] {
        assert!(first.get(field).is_some(), "{field} missing in {first}");
    }

    let by_partner = app
        .get(
            CONTOSO_KEY,
            &format!("/v1/customers/{SEED_CUSTOMER}/partners/4847383/subscriptions"),
        )
        .await;
    assert_eq!(by_partner.status(), 200);
    let by_partner = json(by_partner).await;
    let items = by_partner["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|s| s["partnerId"] == "4847383"));
    let none = json(
        app.get(
            CONTOSO_KEY,
            &format!("/v1/customers/{SEED_CUSTOMER}/partners/1/subscriptions"),
        )
        .await,
    )
    .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);

    let orders = json(
        app.get(
            CONTOSO_KEY,
            &format!("/v1/customers/{SEED_CUSTOMER}/orders"),
        )
        .await,
    )
    .await;
    let order = &orders["items"][0];
    for field in [
        "id",
        "referenceCustomerId",
        "billingCycle",
        "currencyCode",
        "lineItems",
        "creationDate",
        "status",
    ] {
        assert!(order.get(field).is_some(), "{field} missing in {order}");
    }
    assert!(order["lineItems"][0].get("offerId").is_some());
}

#[tokio::test]
async fn paging_through_all_customers_by_following_next_link() {
    let app = spawn_app().await;
    let mut next = Some(app.url("/v1/customers?Size=500"));
    let (mut ids, mut pages) = (HashSet::new(), 0);
    while let Some(url) = next {
        let response = app
            .client
            .get(&url)
            .header("X-API-Key", FABRIKAM_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let page = json(response).await;
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            assert!(
                ids.insert(item["id"].as_str().unwrap().to_owned()),
                "customer seen twice"
            );
            assert!(item.pointer("/companyProfile/companyName").is_some());
        }
        next = page.get("nextLink").map(|l| l.as_str().unwrap().to_owned());
        if let Some(link) = &next {
            assert!(
                link.starts_with(&app.address),
                "nextLink points back at the gateway: {link}"
            );
            assert!(
                link.contains("Size=500"),
                "nextLink keeps the page size: {link}"
            );
        }
    }
    assert!(ids.len() >= 1200, "{} customers", ids.len());
    assert!(ids.contains(SEED_CUSTOMER));
    assert_eq!(pages, ids.len().div_ceil(500));
}

#[tokio::test]
async fn next_links_use_the_configured_public_base_url() {
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("rt")).replace(
        "max_body_bytes = 65536",
        "max_body_bytes = 65536\npublic_base_url = \"https://pcgw.example.com/\"",
    );
    let app = spawn_toml(&toml).await;
    let page = json(app.get(FABRIKAM_KEY, "/v1/customers?Size=10").await).await;
    let link = page["nextLink"].as_str().unwrap();
    assert!(
        link.starts_with("https://pcgw.example.com/v1/customers?Size=10&ContinuationToken="),
        "{link}"
    );
}

#[tokio::test]
async fn invoices_page_by_offset() {
    let app = spawn_app().await;
    let mut next = Some(app.url("/v1/invoices?Size=20"));
    let mut ids = HashSet::new();
    let mut offsets = vec![];
    while let Some(url) = next {
        let page = json(app.get_url(FABRIKAM_KEY, &url).await).await;
        for item in page["items"].as_array().unwrap() {
            for field in [
                "id",
                "invoiceDate",
                "billingPeriodStartDate",
                "totalCharges",
                "paidAmount",
                "currencyCode",
                "invoiceDetails",
                "documentType",
                "invoiceType",
            ] {
                assert!(item.get(field).is_some(), "{field} missing in {item}");
            }
            assert!(ids.insert(item["id"].as_str().unwrap().to_owned()));
        }
        next = page.get("nextLink").map(|l| l.as_str().unwrap().to_owned());
        offsets.extend(
            next.iter()
                .map(|l| l.rsplit("Offset=").next().unwrap().to_owned()),
        );
    }
    assert_eq!(ids.len(), 50);
    assert_eq!(offsets, ["20", "40"]);
    let last = json(
        app.get(FABRIKAM_KEY, "/v1/invoices?Size=20&Offset=40")
            .await,
    )
    .await;
    assert_eq!(last["items"].as_array().unwrap().len(), 10);
    assert!(last.get("nextLink").is_none());
}

#[tokio::test]
async fn agreement_metadata_then_confirm_then_list() {
    let app = spawn_app().await;
    let metadata = json(app.get(CONTOSO_KEY, "/v1/agreements").await).await;
    let template = metadata["items"][0]["templateId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(template, "117a77b0-9360-443b-8795-c6dedc750cf9");
    assert_eq!(
        metadata["items"][0]["agreementType"],
        "MicrosoftCustomerAgreement"
    );

    let body = format!(
        r#"{{"primaryContact":{{"firstName":"Tania","lastName":"Carr","email":"someone@example.com","phoneNumber":"1234567890"}},"templateId":"{template}","dateAgreed":"2018-06-14T00:00:00.000Z","type":"MicrosoftCustomerAgreement"}}"#
    );
    let path = format!("/v1/customers/{SEED_CUSTOMER}/agreements");
    let created = app.post_json(CONTOSO_KEY, &path, body.clone()).await;
    assert_eq!(created.status(), 201);
    let created = json(created).await;
    assert_eq!(created["templateId"], template.as_str());
    assert_eq!(created["primaryContact"]["email"], "someone@example.com");

    let listed = json(
        app.get(
            CONTOSO_KEY,
            &format!("{path}?AgreementType=MicrosoftCustomerAgreement"),
        )
        .await,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["primaryContact"]["firstName"], "Tania");

    // Partner Center's own answer to a repeated contact reaches the caller as Partner Center sent it.
    let again = app.post_json(CONTOSO_KEY, &path, body).await;
    assert_eq!(again.status(), 409);
    let again: Value = json(again).await;
    assert_eq!(
        again,
        serde_json::json!({
            "code": 600061,
            "message": "A partner confirmed agreement already exists for the customer.",
            "description": "A partner confirmed agreement already exists for the customer.",
            "errorName": "PartnerConfirmedAgreementAlreadyExists",
            "isRetryable": false,
            "parameters": {},
            "errorMessageExtended": "InternalErrorCode=600061"
        })
    );
    assert_eq!(app.sandbox().agreements_stored(SEED_CUSTOMER), 1);
}

#[tokio::test]
async fn app_only_connections_get_partner_centers_403_on_agreements() {
    let app = spawn_app().await;
    let response = app.get(FABRIKAM_KEY, "/v1/agreements").await;
    assert_eq!(response.status(), 403);
    let body = json(response).await;
    assert!(
        body.get("code").is_some(),
        "Partner Center's error body: {body}"
    );
}

#[tokio::test]
async fn unknown_customer_404_passes_through_byte_for_byte() {
    let app = spawn_app().await;
    let through_gateway = app
        .get(CONTOSO_KEY, &format!("/v1/customers/{UNKNOWN_CUSTOMER}"))
        .await;
    assert_eq!(through_gateway.status(), 404);
    let through_gateway = through_gateway.bytes().await.unwrap();

    // The same call made directly on the sandbox, with a token of its own.
    let sandbox = app.sandbox();
    let token = sandbox_app_token(sandbox).await;
    let direct = app
        .client
        .get(format!(
            "{}/v1/customers/{UNKNOWN_CUSTOMER}",
            sandbox.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 404);
    assert_eq!(through_gateway, direct.bytes().await.unwrap());
}

#[tokio::test]
async fn partner_center_throttling_passes_through_with_retry_after() {
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("rt")).replace(
        "# throttle = { calls = 300, period_secs = 60 }",
        "throttle = { calls = 2, period_secs = 60 }",
    );
    let app = spawn_toml(&toml).await;
    let path = format!("/v1/customers/{SEED_CUSTOMER}");
    assert_eq!(app.get(FABRIKAM_KEY, &path).await.status(), 200);
    assert_eq!(app.get(FABRIKAM_KEY, &path).await.status(), 200);
    let throttled = app.get(FABRIKAM_KEY, &path).await;
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    let body = json(throttled).await;
    assert_eq!(
        body["message"],
        format!("Rate limit is exceeded. Try again in {retry_after} seconds.")
    );
}

#[tokio::test]
async fn correlation_ids_are_echoed_or_made() {
    let app = spawn_app().await;
    let mine = "aaaa0000-bb11-2222-33cc-444444dddddd";
    let response = app
        .client
        .get(app.url(&format!("/v1/customers/{SEED_CUSTOMER}")))
        .header("X-API-Key", CONTOSO_KEY)
        .header("x-ms-client-tracking-id", mine)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-ms-correlation-id"], mine);

    let response = app
        .client
        .get(app.url("/v1/customers"))
        .header("x-ms-correlation-id", "not-a-guid")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let made = response.headers()["x-ms-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::try_parse(&made).is_ok());
    assert_eq!(json(response).await["correlationId"], made.as_str());
}
