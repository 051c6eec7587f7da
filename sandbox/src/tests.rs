use std::collections::HashSet;
use std::num::{NonZeroU32, NonZeroU64};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::data::{CUSTOMER_COUNT, INVOICE_COUNT};
use super::*;

const BASE_URL: &str = "http://sandbox.test";

fn sandbox(options: SandboxOptions) -> Arc<Sandbox> {
    Arc::new(Sandbox::new(BASE_URL.to_owned(), &options))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn send(sandbox: &Arc<Sandbox>, request: Request<Body>) -> Reply {
    let response = router(sandbox.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

async fn token_request(sandbox: &Arc<Sandbox>, tenant: &str, form: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = Request::post(format!("/{tenant}/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    send(sandbox, request).await
}

async fn refresh(sandbox: &Arc<Sandbox>, refresh_token: &str) -> Reply {
    token_request(
        sandbox,
        demo::PARTNER_TENANT_ID,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", demo::CLIENT_ID),
            ("refresh_token", refresh_token),
            (
                "scope",
                "https://api.partnercenter.microsoft.com/user_impersonation offline_access",
            ),
        ],
    )
    .await
}

async fn app_token(sandbox: &Arc<Sandbox>) -> String {
    let reply = token_request(
        sandbox,
        demo::PARTNER_TENANT_ID,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", demo::CLIENT_SECRET),
            ("scope", "https://api.partnercenter.microsoft.com/.default"),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

async fn user_token(sandbox: &Arc<Sandbox>) -> String {
    let reply = refresh(sandbox, demo::CONTOSO_REFRESH_TOKEN_SEED).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

fn get(uri: &str, token: &str) -> axum::http::request::Builder {
    Request::get(uri).header("authorization", format!("Bearer {token}"))
}

async fn api_get(sandbox: &Arc<Sandbox>, uri: &str, token: &str) -> Reply {
    send(sandbox, get(uri, token).body(Body::empty()).unwrap()).await
}

async fn post_agreement(sandbox: &Arc<Sandbox>, token: &str, body: &Value) -> Reply {
    let request = Request::post(format!(
        "/v1/customers/{}/agreements",
        demo::SEED_CUSTOMER_ID
    ))
    .header("authorization", format!("Bearer {token}"))
    .header("content-type", "application/json")
    .body(Body::from(body.to_string()))
    .unwrap();
    send(sandbox, request).await
}

fn mca_confirmation() -> Value {
    json!({
        "primaryContact": {
            "firstName": "Tania",
            "lastName": "Carr",
            "email": "someone@example.com",
            "phoneNumber": "1234567890"
        },
        "templateId": demo::MCA_TEMPLATE_ID,
        "dateAgreed": "2018-06-14T00:00:00.000Z",
        "type": "MicrosoftCustomerAgreement"
    })
}

#[tokio::test]
async fn paging_with_continuation_tokens_reaches_every_customer_once() {
    let sandbox = sandbox(SandboxOptions::default());
    let token = app_token(&sandbox).await;
    for size in [500, 97] {
        let mut seen = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let request = match &continuation {
                None => get(&format!("/v1/customers?size={size}"), &token),
                Some(value) => get(
                    &format!("/v1/customers?size={size}&seekOperation=Next"),
                    &token,
                )
                .header("MS-ContinuationToken", value),
            };
            let reply = send(&sandbox, request.body(Body::empty()).unwrap()).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            let items = reply.body["items"].as_array().unwrap();
            assert_eq!(reply.body["totalCount"], items.len());
            assert_eq!(reply.body["attributes"]["objectType"], "Collection");
            seen.extend(
                items
                    .iter()
                    .map(|item| item["id"].as_str().unwrap().to_owned()),
            );
            let Some(next) = reply.body["links"].get("next") else {
                break;
            };
            assert_eq!(
                next["uri"],
                format!("/customers?size={size}&seekOperation=Next")
            );
            assert_eq!(next["headers"][0]["key"], "MS-ContinuationToken");
            let value = next["headers"][0]["value"].as_str().unwrap();
            assert!(value.starts_with("+/+/") && value.ends_with('='), "{value}");
            continuation = Some(value.to_owned());
        }
        assert_eq!(seen.len(), CUSTOMER_COUNT);
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), CUSTOMER_COUNT);
        assert_eq!(seen[0], demo::SEED_CUSTOMER_ID);
    }

    // A percent-encoded (or otherwise mangled) token is refused, not ignored.
    let mangled = api::continuation::encode(500)
        .replace('+', "%2B")
        .replace('/', "%2F");
    for headers in [vec![("MS-ContinuationToken", mangled.as_str())], vec![]] {
        let mut request = get("/v1/customers?size=500&seekOperation=Next", &token);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let reply = send(&sandbox, request.body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.body["source"], "PartnerFD");
    }
    for size in ["0", "501", "ten"] {
        let reply = api_get(&sandbox, &format!("/v1/customers?size={size}"), &token).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "size={size}");
    }
}

#[tokio::test]
async fn repeated_agreement_is_a_conflict() {
    let sandbox = sandbox(SandboxOptions::default());
    let token = user_token(&sandbox).await;

    let created = post_agreement(&sandbox, &token, &mca_confirmation()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        created.body["userId"],
        tokens::user_object_id(demo::PARTNER_TENANT_ID, tokens::SEED_USER)
    );
    assert_eq!(
        created.body["primaryContact"],
        mca_confirmation()["primaryContact"]
    );
    assert_eq!(created.body["templateId"], demo::MCA_TEMPLATE_ID);
    assert_eq!(created.body["type"], "MicrosoftCustomerAgreement");

    let again = post_agreement(&sandbox, &token, &mca_confirmation()).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.body,
        json!({
            "code": 600061,
            "message": "A partner confirmed agreement already exists for the customer.",
            "description": "A partner confirmed agreement already exists for the customer.",
            "errorName": "PartnerConfirmedAgreementAlreadyExists",
            "isRetryable": false,
            "parameters": {},
            "errorMessageExtended": "InternalErrorCode=600061"
        })
    );
    assert_eq!(sandbox.agreements_stored(demo::SEED_CUSTOMER_ID), 1);

    let mut changed = mca_confirmation();
    changed["primaryContact"]["phoneNumber"] = json!("0987654321");
    let second = post_agreement(&sandbox, &token, &changed).await;
    assert_eq!(second.status, StatusCode::CREATED);

    let listed = api_get(
        &sandbox,
        &format!(
            "/v1/customers/{}/agreements?agreementType=MicrosoftCustomerAgreement",
            demo::SEED_CUSTOMER_ID
        ),
        &token,
    )
    .await;
    assert_eq!(listed.body["totalCount"], 2);
    assert_eq!(sandbox.agreements_stored(demo::SEED_CUSTOMER_ID), 2);
}

#[tokio::test]
async fn retried_agreement_with_same_request_id_is_idempotent() {
    let sandbox = sandbox(SandboxOptions::default());
    let token = user_token(&sandbox).await;
    let post = || {
        Request::post(format!(
            "/v1/customers/{}/agreements",
            demo::SEED_CUSTOMER_ID
        ))
        .header("authorization", format!("Bearer {token}"))
        .header("MS-RequestId", "94e4e214-6b06-4fb7-96d1-94d559f9b47f")
        .body(Body::from(mca_confirmation().to_string()))
        .unwrap()
    };
    let first = send(&sandbox, post()).await;
    let retry = send(&sandbox, post()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(first.body, retry.body);
    assert_eq!(sandbox.agreements_stored(demo::SEED_CUSTOMER_ID), 1);
}

#[tokio::test]
async fn invalid_agreements_are_rejected() {
    let sandbox = sandbox(SandboxOptions::default());
    let token = user_token(&sandbox).await;
    let mut cases = Vec::new();
    for field in ["templateId", "dateAgreed", "type", "primaryContact"] {
        let mut body = mca_confirmation();
        body.as_object_mut().unwrap().remove(field);
        cases.push(body);
    }
    for field in ["firstName", "lastName", "email"] {
        let mut body = mca_confirmation();
        body["primaryContact"]
            .as_object_mut()
            .unwrap()
            .remove(field);
        cases.push(body);
    }
    let mut wrong_template = mca_confirmation();
    wrong_template["templateId"] = json!("00000000-0000-0000-0000-000000000000");
    cases.push(wrong_template);
    let mut bad_date = mca_confirmation();
    bad_date["dateAgreed"] = json!("yesterday");
    cases.push(bad_date);
    for body in cases {
        let reply = post_agreement(&sandbox, &token, &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(sandbox.agreements_stored(demo::SEED_CUSTOMER_ID), 0);

    let unknown = Request::post("/v1/customers/00000000-0000-4000-8000-000000000000/agreements")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(mca_confirmation().to_string()))
        .unwrap();
    assert_eq!(send(&sandbox, unknown).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn app_only_token_is_forbidden_on_agreements() {
    let sandbox = sandbox(SandboxOptions::default());
    let token = app_token(&sandbox).await;
    let customer_agreements = format!("/v1/customers/{}/agreements", demo::SEED_CUSTOMER_ID);
    let replies = [
        api_get(
            &sandbox,
            "/v1/agreements?agreementType=MicrosoftCustomerAgreement",
            &token,
        )
        .await,
        api_get(&sandbox, &customer_agreements, &token).await,
        post_agreement(&sandbox, &token, &mca_confirmation()).await,
    ];
    for reply in replies {
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.body["source"], "PartnerFD");
        assert!(
            reply.body["description"]
                .as_str()
                .unwrap()
                .contains("App+User")
        );
    }
    assert_eq!(sandbox.agreements_stored(demo::SEED_CUSTOMER_ID), 0);

    // The same app token is fine for app-capable operations.
    let reply = api_get(&sandbox, "/v1/customers?size=1", &token).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn agreement_metadata_filters_by_type() {
    let sandbox = sandbox(SandboxOptions::default());
    let token = user_token(&sandbox).await;
    let mca = api_get(
        &sandbox,
        "/v1/agreements?agreementType=MicrosoftCustomerAgreement",
        &token,
    )
    .await;
    assert_eq!(
        mca.body["items"],
        json!([{
            "templateId": demo::MCA_TEMPLATE_ID,
            "agreementType": "MicrosoftCustomerAgreement",
            "agreementLink": "https://aka.ms/customeragreement",
            "versionRank": 0
        }])
    );
    let default = api_get(&sandbox, "/v1/agreements", &token).await;
    assert_eq!(
        default.body["items"][0]["agreementType"],
        "MicrosoftCloudAgreement"
    );
    let all = api_get(&sandbox, "/v1/agreements?agreementType=*", &token).await;
    assert_eq!(all.body["totalCount"], 2);
    let unknown = api_get(&sandbox, "/v1/agreements?agreementType=Nope", &token).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rolling_refresh_token_rejects_reuse() {
    let sandbox = sandbox(SandboxOptions::default());
    let first = refresh(&sandbox, demo::CONTOSO_REFRESH_TOKEN_SEED).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["token_type"], "Bearer");
    assert_eq!(first.body["expires_in"], 3599);
    assert_eq!(first.body["ext_expires_in"], 3599);
    let rolled = first.body["refresh_token"].as_str().unwrap().to_owned();

    let seed_again = refresh(&sandbox, demo::CONTOSO_REFRESH_TOKEN_SEED).await;
    assert_eq!(seed_again.status, StatusCode::BAD_REQUEST);
    assert_eq!(seed_again.body["error"], "invalid_grant");
    assert!(
        seed_again.body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS70000:")
    );

    let second = refresh(&sandbox, &rolled).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let rolled_again = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rolled, rolled_again);

    let reuse = refresh(&sandbox, &rolled).await;
    assert_eq!(reuse.status, StatusCode::BAD_REQUEST);
    assert_eq!(reuse.body["error"], "invalid_grant");

    // A restarted sandbox still honours the latest token (and the seed).
    let restarted = self::sandbox(SandboxOptions::default());
    let after_restart = refresh(&restarted, &rolled_again).await;
    assert_eq!(
        after_restart.status,
        StatusCode::OK,
        "{}",
        after_restart.body
    );
    assert_eq!(
        refresh(&restarted, demo::CONTOSO_REFRESH_TOKEN_SEED)
            .await
            .status,
        StatusCode::OK
    );

    // Neither kind of token passes for the other.
    let access = second.body["access_token"].as_str().unwrap();
    assert_eq!(
        refresh(&sandbox, access).await.status,
        StatusCode::BAD_REQUEST
    );
    let with_refresh = api_get(&sandbox, "/v1/customers?size=1", &rolled_again).await;
    assert_eq!(with_refresh.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn token_endpoint_errors() {
    let sandbox = sandbox(SandboxOptions::default());
    let tenant = demo::PARTNER_TENANT_ID;
    let scope = "https://api.partnercenter.microsoft.com/.default";
    let wrong_secret = token_request(
        &sandbox,
        tenant,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", "nope"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(wrong_secret.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_secret.body["error"], "invalid_client");
    assert_eq!(
        wrong_secret.body["error_description"],
        "AADSTS7000215: Invalid client secret provided."
    );

    let unsupported = token_request(&sandbox, tenant, &[("grant_type", "password")]).await;
    assert_eq!(unsupported.status, StatusCode::BAD_REQUEST);
    assert_eq!(unsupported.body["error"], "unsupported_grant_type");

    let missing = token_request(
        &sandbox,
        tenant,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", demo::CLIENT_ID),
        ],
    )
    .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["error"], "invalid_request");
    assert_eq!(sandbox.token_calls.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn access_tokens_verify_against_the_jwks() {
    let sandbox = sandbox(SandboxOptions::default());
    let keys = send(
        &sandbox,
        Request::get(format!("/{}/discovery/v2.0/keys", demo::PARTNER_TENANT_ID))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let jwk = &keys.body["keys"][0];
    assert_eq!(jwk["kid"], "sandbox-key-1");
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[demo::PARTNER_CENTER_RESOURCE]);
    validation.set_issuer(&[format!("{BASE_URL}/{}/v2.0", demo::PARTNER_TENANT_ID)]);

    let user = user_token(&sandbox).await;
    assert_eq!(
        jsonwebtoken::decode_header(&user).unwrap().kid.as_deref(),
        Some("sandbox-key-1")
    );
    let claims = jsonwebtoken::decode::<Value>(&user, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["tid"], demo::PARTNER_TENANT_ID);
    assert_eq!(claims["idtyp"], "user");
    assert_eq!(claims["name"], "contoso-admin");
    assert_eq!(claims["scp"], "user_impersonation");
    assert_eq!(
        claims["oid"],
        tokens::user_object_id(demo::PARTNER_TENANT_ID, "contoso-admin")
    );
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3599
    );

    let app = app_token(&sandbox).await;
    let claims = jsonwebtoken::decode::<Value>(&app, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["appid"], demo::CLIENT_ID);
    assert_eq!(claims["azp"], demo::CLIENT_ID);
    let object = claims["oid"].as_str().unwrap();
    assert!(uuid::Uuid::try_parse(object).is_ok(), "{object}");
    assert_ne!(
        object,
        demo::CLIENT_ID,
        "the service principal's ID, not the client's"
    );

    let discovery = send(
        &sandbox,
        Request::get(format!(
            "/{}/v2.0/.well-known/openid-configuration",
            demo::PARTNER_TENANT_ID
        ))
        .body(Body::empty())
        .unwrap(),
    )
    .await;
    assert_eq!(
        discovery.body["issuer"],
        format!("{BASE_URL}/{}/v2.0", demo::PARTNER_TENANT_ID)
    );
    assert_eq!(
        discovery.body["jwks_uri"],
        format!("{BASE_URL}/{}/discovery/v2.0/keys", demo::PARTNER_TENANT_ID)
    );
}

#[tokio::test]
async fn partner_center_requires_a_valid_bearer_token() {
    let sandbox = sandbox(SandboxOptions::default());
    let missing = send(
        &sandbox,
        Request::get("/v1/invoices").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.body["source"], "PartnerFD");
    let forged = api_get(&sandbox, "/v1/invoices", "eyJhbGciOiJub25lIn0.e30.").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn customers_subscriptions_orders_and_invoices() {
    let sandbox = sandbox(SandboxOptions::default());
    let token = app_token(&sandbox).await;
    let seed = demo::SEED_CUSTOMER_ID;

    let customer = api_get(&sandbox, &format!("/v1/customers/{seed}"), &token).await;
    assert_eq!(customer.status, StatusCode::OK);
    assert_eq!(customer.body["companyProfile"]["companyName"], "Contoso");
    assert_eq!(
        customer.body["companyProfile"]["domain"],
        "contoso.onmicrosoft.com"
    );

    let missing = api_get(
        &sandbox,
        "/v1/customers/00000000-0000-4000-8000-000000000000",
        &token,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.body,
        json!({"code": 60003, "description": "Customer tenant not found.", "data": [], "source": "PartnerFD"})
    );
    let malformed = api_get(&sandbox, "/v1/customers/not-a-guid", &token).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);

    let by_partner = api_get(
        &sandbox,
        &format!(
            "/v1/customers/{seed}/subscriptions?mpn_id={}",
            demo::SEED_PARTNER_ID
        ),
        &token,
    )
    .await;
    assert_eq!(by_partner.body["totalCount"], 2);
    assert_eq!(
        by_partner.body["items"][1]["refundableQuantity"]["details"][0]["allowedUntilDateTime"],
        "2024-06-14T17:41:13.4675407Z"
    );
    let other_partner = api_get(
        &sandbox,
        &format!("/v1/customers/{seed}/subscriptions?mpn_id=1"),
        &token,
    )
    .await;
    assert_eq!(other_partner.body["totalCount"], 0);

    let orders = api_get(&sandbox, &format!("/v1/customers/{seed}/orders"), &token).await;
    let order_ids: Vec<_> = orders.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|order| order["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order_ids,
        ["3EDDCAC6-63B2-4C40-B0B6-F47E18301492", "79d9f5e2f43a"]
    );

    let mut seen = 0;
    let mut uri = "/v1/invoices?size=20".to_owned();
    loop {
        let page = api_get(&sandbox, &uri, &token).await;
        assert_eq!(page.status, StatusCode::OK);
        seen += page.body["items"].as_array().unwrap().len();
        let Some(next) = page.body["links"].get("next") else {
            break;
        };
        assert!(next["headers"].as_array().unwrap().is_empty());
        uri = format!("/v1{}", next["uri"].as_str().unwrap());
    }
    assert_eq!(seen, INVOICE_COUNT);
    assert_eq!(uri, "/v1/invoices?size=20&offset=40");
    let bad = api_get(&sandbox, "/v1/invoices?size=1001", &token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// Every field the original connector exposes (seed 000), by dotted path;
/// `items.` paths apply to each element of a collection.
#[tokio::test]
async fn objects_carry_every_documented_field() {
    const CUSTOMER_ITEM: &[&str] = &[
        "id",
        "companyProfile.tenantId",
        "companyProfile.domain",
        "companyProfile.companyName",
        "relationshipToPartner",
        "allowDelegatedAccess",
        "links.self.uri",
        "attributes.objectType",
    ];
    const CUSTOMER: &[&str] = &[
        "id",
        "commerceId",
        "companyProfile.tenantId",
        "companyProfile.companyName",
        "companyProfile.domain",
        "companyProfile.address.country",
        "companyProfile.address.region",
        "companyProfile.address.city",
        "companyProfile.address.state",
        "companyProfile.address.addressLine1",
        "companyProfile.address.postalCode",
        "companyProfile.address.phoneNumber",
        "companyProfile.email",
        "billingProfile.id",
        "billingProfile.firstName",
        "billingProfile.lastName",
        "billingProfile.email",
        "billingProfile.culture",
        "billingProfile.language",
        "billingProfile.companyName",
        "billingProfile.defaultAddress.country",
        "billingProfile.defaultAddress.region",
        "billingProfile.defaultAddress.city",
        "billingProfile.defaultAddress.state",
        "billingProfile.defaultAddress.addressLine1",
        "billingProfile.defaultAddress.postalCode",
        "billingProfile.defaultAddress.firstName",
        "billingProfile.defaultAddress.lastName",
        "billingProfile.defaultAddress.phoneNumber",
        "relationshipToPartner",
        "allowDelegatedAccess",
        "customDomains",
    ];
    const SUBSCRIPTION: &[&str] = &[
        "id",
        "offerId",
        "offerName",
        "friendlyName",
        "productType.id",
        "productType.displayName",
        "quantity",
        "unitType",
        "hasPurchasableAddons",
        "creationDate",
        "effectiveStartDate",
        "commitmentEndDate",
        "cancellationAllowedUntilDate",
        "billingCycleEndDate",
        "status",
        "autoRenewEnabled",
        "isTrial",
        "billingType",
        "billingCycle",
        "termDuration",
        "renewalTermDuration",
        "isMicrosoftProduct",
        "partnerId",
        "attentionNeeded",
        "contractType",
        "publisherName",
        "promotionId",
        "orderId",
    ];
    const ORDER: &[&str] = &[
        "id",
        "alternateId",
        "referenceCustomerId",
        "billingCycle",
        "currencyCode",
        "currencySymbol",
        "lineItems",
        "creationDate",
        "status",
        "transactionType",
    ];
    const LINE_ITEM: &[&str] = &[
        "lineItemNumber",
        "offerId",
        "subscriptionId",
        "termDuration",
        "promotionId",
        "customTermEndDate",
        "transactionType",
        "friendlyName",
        "quantity",
    ];
    const INVOICE: &[&str] = &[
        "id",
        "invoiceDate",
        "billingPeriodStartDate",
        "billingPeriodEndDate",
        "totalCharges",
        "paidAmount",
        "currencyCode",
        "currencySymbol",
        "pdfDownloadLink",
        "invoiceDetails",
        "documentType",
        "invoiceType",
    ];
    const INVOICE_DETAIL: &[&str] = &["invoiceLineItemType", "billingProvider"];

    fn assert_fields(object: &Value, paths: &[&str]) {
        for path in paths {
            let value = path
                .split('.')
                .try_fold(object, |value, key| value.get(key));
            assert!(
                value.is_some_and(|value| !value.is_null()),
                "missing {path} in {object}"
            );
        }
    }

    let sandbox = sandbox(SandboxOptions::default());
    let token = app_token(&sandbox).await;
    let page = api_get(&sandbox, "/v1/customers?size=60", &token).await;
    let mut subscriptions = 0;
    for item in page.body["items"].as_array().unwrap() {
        assert_fields(item, CUSTOMER_ITEM);
        let id = item["id"].as_str().unwrap();
        let detail = api_get(&sandbox, &format!("/v1/customers/{id}"), &token).await;
        assert_fields(&detail.body, CUSTOMER);
        if id != demo::SEED_CUSTOMER_ID {
            let list = api_get(
                &sandbox,
                &format!("/v1/customers/{id}/subscriptions"),
                &token,
            )
            .await;
            for subscription in list.body["items"].as_array().unwrap() {
                assert_fields(subscription, SUBSCRIPTION);
                subscriptions += 1;
            }
        }
        let orders = api_get(&sandbox, &format!("/v1/customers/{id}/orders"), &token).await;
        let orders = orders.body["items"].as_array().unwrap();
        assert!((1..=3).contains(&orders.len()));
        for order in orders {
            assert_fields(order, ORDER);
            for line in order["lineItems"].as_array().unwrap() {
                assert_fields(line, LINE_ITEM);
            }
        }
    }
    assert!(subscriptions > 60, "only {subscriptions} subscriptions");

    let invoices = api_get(&sandbox, "/v1/invoices", &token).await;
    assert_eq!(invoices.body["totalCount"], INVOICE_COUNT);
    for invoice in invoices.body["items"].as_array().unwrap() {
        assert_fields(invoice, INVOICE);
        for detail in invoice["invoiceDetails"].as_array().unwrap() {
            assert_fields(detail, INVOICE_DETAIL);
        }
    }
}

#[tokio::test]
async fn throttle_answers_429_with_retry_after() {
    let sandbox = sandbox(SandboxOptions {
        throttle: Some(Throttle {
            calls: NonZeroU32::new(3).unwrap(),
            period_secs: NonZeroU64::new(60).unwrap(),
        }),
        ..SandboxOptions::default()
    });
    let token = app_token(&sandbox).await;
    for _ in 0..3 {
        let reply = api_get(&sandbox, "/v1/invoices?size=1", &token).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let throttled = api_get(&sandbox, "/v1/invoices?size=1", &token).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(
        throttled.body,
        json!({
            "statusCode": 429,
            "message": format!("Rate limit is exceeded. Try again in {retry_after} seconds.")
        })
    );
    assert_eq!(
        throttled.headers["content-type"],
        "application/json; charset=utf-8"
    );
    // Token requests are not Partner Center calls and are never throttled.
    app_token(&sandbox).await;
    assert_eq!(sandbox.api_calls.load(Ordering::Relaxed), 4);
}

#[tokio::test]
async fn front_door_headers_and_unknown_paths() {
    let sandbox = sandbox(SandboxOptions::default());
    let token = app_token(&sandbox).await;
    let request = get("/v1/customers?size=1", &token)
        .header("MS-RequestId", "f98d0f61-01da-4d27-a923-8ec1e46e7358")
        .header("MS-CorrelationId", "aaaa0000-bb11-2222-33cc-444444dddddd")
        .body(Body::empty())
        .unwrap();
    let reply = send(&sandbox, request).await;
    assert_eq!(
        reply.headers["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(
        reply.headers["ms-requestid"],
        "f98d0f61-01da-4d27-a923-8ec1e46e7358"
    );
    assert_eq!(
        reply.headers["ms-correlationid"],
        "aaaa0000-bb11-2222-33cc-444444dddddd"
    );

    let unknown = api_get(&sandbox, "/v1/nowhere", &token).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["source"], "PartnerFD");
    let wrong_method = send(
        &sandbox,
        Request::builder()
            .method(Method::DELETE)
            .uri("/v1/invoices")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.body["source"], "PartnerFD");
    assert_eq!(sandbox.api_calls.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn spawn_serves_over_tcp() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = spawn(listener, SandboxOptions::default()).await.unwrap();
    assert_eq!(handle.base_url(), format!("http://{}", handle.addr()));

    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            handle.base_url(),
            demo::PARTNER_TENANT_ID
        ))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", demo::CLIENT_ID),
            ("refresh_token", demo::CONTOSO_REFRESH_TOKEN_SEED),
            ("scope", "https://api.partnercenter.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = token["access_token"].as_str().unwrap();
    let response = client
        .get(format!(
            "{}/v1/customers/{}/subscriptions",
            handle.base_url(),
            demo::SEED_CUSTOMER_ID
        ))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["totalCount"], 2);
    assert_eq!(handle.token_calls(), 1);
    assert_eq!(handle.api_calls(), 1);
    assert_eq!(handle.agreements_stored(demo::SEED_CUSTOMER_ID), 0);

    let addr = handle.addr();
    drop(handle);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let after_drop = reqwest::Client::new()
        .get(format!("http://{addr}/v1/invoices"))
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    assert!(after_drop.is_err());
}

/// A JWT's claims, read without checking its signature (the sandbox just minted it).
fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn form_post(sandbox: &Arc<Sandbox>, uri: &str, form: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    send(sandbox, request).await
}

const SIGN_IN_SCOPE: &str = "https://api.partnercenter.microsoft.com/.default offline_access";

async fn device_code(sandbox: &Arc<Sandbox>, scope: &str) -> Reply {
    form_post(
        sandbox,
        &format!("/{}/oauth2/v2.0/devicecode", demo::PARTNER_TENANT_ID),
        &[("client_id", demo::CLIENT_ID), ("scope", scope)],
    )
    .await
}

async fn poll(sandbox: &Arc<Sandbox>, device_code: &str) -> Reply {
    token_request(
        sandbox,
        demo::PARTNER_TENANT_ID,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", demo::CLIENT_SECRET),
            ("device_code", device_code),
        ],
    )
    .await
}

async fn approve(sandbox: &Arc<Sandbox>, user_code: &str, form: &[(&str, &str)]) -> Reply {
    let mut fields = vec![("user_code", user_code)];
    fields.extend_from_slice(form);
    form_post(sandbox, "/devicelogin", &fields).await
}

fn codes(reply: &Reply) -> (String, String) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    (
        reply.body["device_code"].as_str().unwrap().to_owned(),
        reply.body["user_code"].as_str().unwrap().to_owned(),
    )
}

fn assert_oauth_error(reply: &Reply, error: &str, code: u32) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.body["error"], error, "{}", reply.body);
    assert_eq!(reply.body["error_codes"], json!([code]), "{}", reply.body);
    let description = reply.body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}:")),
        "{description}"
    );
}

#[tokio::test]
async fn a_device_code_sign_in_with_mfa_gets_tokens_partner_center_accepts() {
    let sandbox = sandbox(SandboxOptions::default().device_code_interval(0));
    let started = device_code(&sandbox, SIGN_IN_SCOPE).await;
    let (device, user_code) = codes(&started);
    assert_eq!(
        started.body["verification_uri"],
        format!("{BASE_URL}/devicelogin")
    );
    assert_eq!(started.body["interval"], 0);
    assert_eq!(started.body["expires_in"], 900);
    assert_eq!(user_code.len(), 9);
    assert!(
        started.body["message"]
            .as_str()
            .unwrap()
            .contains(&user_code)
    );

    assert_oauth_error(
        &poll(&sandbox, &device).await,
        "authorization_pending",
        70016,
    );
    let approved = approve(&sandbox, &user_code.to_lowercase(), &[("mfa", "true")]).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.body["status"], "approved");

    let signed_in = poll(&sandbox, &device).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let access = signed_in.body["access_token"].as_str().unwrap();
    let claims = claims_of(access);
    assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
    assert_eq!(claims["name"], "contoso-admin");
    assert_eq!(claims["idtyp"], "user");
    let agreements = api_get(&sandbox, "/v1/agreements", access).await;
    assert_eq!(agreements.status, StatusCode::OK, "{}", agreements.body);

    // The refresh token remembers the MFA: what it is exchanged for carries it too.
    let refreshed = refresh(&sandbox, signed_in.body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let access = refreshed.body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(access)["amr"], json!(["pwd", "mfa"]));
    let again = refresh(&sandbox, refreshed.body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        claims_of(again.body["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "mfa"])
    );

    // A code signs in once.
    let replay = poll(&sandbox, &device).await;
    assert_eq!(replay.body["error"], "invalid_grant", "{}", replay.body);
}

#[tokio::test]
async fn partner_center_refuses_an_app_user_token_without_mfa_and_refreshing_does_not_add_it() {
    let sandbox = sandbox(SandboxOptions::default().device_code_interval(0));
    let (device, user_code) = codes(&device_code(&sandbox, SIGN_IN_SCOPE).await);
    let approved = approve(&sandbox, &user_code, &[("mfa", "false"), ("user", "ops")]).await;
    assert_eq!(approved.body["amr"], json!(["pwd"]), "{}", approved.body);
    let signed_in = poll(&sandbox, &device).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let access = signed_in.body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(access)["amr"], json!(["pwd"]));
    assert_eq!(claims_of(access)["name"], "ops");

    let refusal = json!({
        "code": 900421,
        "description": "Multifactor authentication is required: App+User calls need an access token whose 'amr' claim includes 'mfa'. Sign in again with MFA.",
        "data": [],
        "source": "PartnerFD",
    });
    for path in ["/v1/customers?size=1", "/v1/agreements"] {
        let refused = api_get(&sandbox, path, access).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(refused.headers["www-authenticate"], "Bearer");
        assert_eq!(refused.body, refusal, "{path}");
    }
    let refreshed = refresh(&sandbox, signed_in.body["refresh_token"].as_str().unwrap()).await;
    let access = refreshed.body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(access)["amr"], json!(["pwd"]));
    let still = api_get(&sandbox, "/v1/customers?size=1", access).await;
    assert_eq!(still.status, StatusCode::UNAUTHORIZED);

    // App-only tokens have no user to challenge: MFA does not apply to them.
    let app = app_token(&sandbox).await;
    assert!(claims_of(&app).get("amr").is_none());
    assert_eq!(
        api_get(&sandbox, "/v1/customers?size=1", &app).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_seed_and_the_try_it_out_route_count_as_signed_in_with_mfa() {
    let sandbox = sandbox(SandboxOptions::default());
    let seeded = refresh(&sandbox, demo::CONTOSO_REFRESH_TOKEN_SEED).await;
    assert_eq!(
        claims_of(seeded.body["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "mfa"])
    );
    let rolled = refresh(&sandbox, seeded.body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        claims_of(rolled.body["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "mfa"])
    );
    let maker = send(
        &sandbox,
        Request::post("/sandbox/users/alice/token")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let token = maker.body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(token)["amr"], json!(["pwd", "mfa"]));
    assert_eq!(
        api_get(&sandbox, "/v1/customers?size=1", token)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn device_codes_expire_are_declined_and_are_polled_no_faster_than_their_interval() {
    // Expired: the code of a sandbox whose codes last 0 seconds.
    let mut options = SandboxOptions::default().device_code_interval(0);
    options.device_code.expires_in_secs = 0;
    let short_lived = sandbox(options);
    let (device, user_code) = codes(&device_code(&short_lived, SIGN_IN_SCOPE).await);
    assert_oauth_error(&poll(&short_lived, &device).await, "expired_token", 70019);
    assert_oauth_error(
        &approve(&short_lived, &user_code, &[("mfa", "true")]).await,
        "expired_token",
        70019,
    );

    // Entra's interval (5 s): a second poll straight after the first is told to slow down, by 5 s more.
    let patient = sandbox(SandboxOptions::default());
    let started = device_code(&patient, SIGN_IN_SCOPE).await;
    assert_eq!(started.body["interval"], 5);
    let (device, _) = codes(&started);
    assert_oauth_error(
        &poll(&patient, &device).await,
        "authorization_pending",
        70016,
    );
    let hurried = poll(&patient, &device).await;
    assert_oauth_error(&hurried, "slow_down", 70016);
    assert!(
        hurried.body["error_description"]
            .as_str()
            .unwrap()
            .contains("wait 10 seconds"),
        "{}",
        hurried.body
    );

    let sandbox = sandbox(SandboxOptions::default().device_code_interval(0));
    let (device, user_code) = codes(&device_code(&sandbox, SIGN_IN_SCOPE).await);
    let declined = approve(&sandbox, &user_code, &[("decline", "true")]).await;
    assert_eq!(declined.body["status"], "declined", "{}", declined.body);
    assert_oauth_error(
        &poll(&sandbox, &device).await,
        "authorization_declined",
        65004,
    );
    let reused = approve(&sandbox, &user_code, &[("mfa", "true")]).await;
    assert_eq!(reused.body["error"], "invalid_grant", "{}", reused.body);

    assert_oauth_error(
        &poll(&sandbox, "no-such-code").await,
        "bad_verification_code",
        70018,
    );
    assert_oauth_error(
        &approve(&sandbox, "NOSUCHCOD", &[("mfa", "true")]).await,
        "bad_verification_code",
        70018,
    );
    let bad_flag = approve(&sandbox, &user_code, &[("mfa", "maybe")]).await;
    assert_eq!(
        bad_flag.body["error"], "invalid_request",
        "{}",
        bad_flag.body
    );

    // Without offline_access Entra signs in but issues no refresh token.
    let (device, user_code) =
        codes(&device_code(&sandbox, "https://api.partnercenter.microsoft.com/.default").await);
    approve(&sandbox, &user_code, &[("mfa", "true")]).await;
    let signed_in = poll(&sandbox, &device).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert!(signed_in.body.get("refresh_token").is_none());

    let wrong_scope = device_code(&sandbox, "User.Read offline_access").await;
    assert_eq!(wrong_scope.body["error"], "invalid_scope");
    let stranger = form_post(
        &sandbox,
        &format!("/{}/oauth2/v2.0/devicecode", demo::PARTNER_TENANT_ID),
        &[
            ("client_id", "00000000-0000-0000-0000-000000000000"),
            ("scope", SIGN_IN_SCOPE),
        ],
    )
    .await;
    assert_eq!(stranger.body["error"], "unauthorized_client");
}

#[tokio::test]
async fn the_sign_in_page_is_html_with_a_form_for_the_code() {
    let sandbox = sandbox(SandboxOptions::default());
    let response = router(sandbox.clone())
        .oneshot(Request::get("/devicelogin").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let page = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let page = String::from_utf8(page.to_vec()).unwrap();
    assert!(
        page.contains(r#"<form method="post" action="/devicelogin">"#),
        "{page}"
    );
    assert!(page.contains(r#"name="user_code""#), "{page}");
}

async fn post_helper(sandbox: &Arc<Sandbox>, path: &str, body: Value) -> Reply {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(sandbox, request).await
}

#[tokio::test]
async fn the_activity_log_records_writes_and_pages_them_by_date_with_a_continuation_token() {
    let sandbox = sandbox(SandboxOptions::default());
    let token = user_token(&sandbox).await;
    let before = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let added = post_helper(
        &sandbox,
        "/sandbox/customers",
        json!({"companyName": "Log Test"}),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(added.body["operationType"], "add_customer");
    let confirmed = post_agreement(&sandbox, &token, &mca_confirmation()).await;
    assert_eq!(confirmed.status, StatusCode::CREATED);
    let seats = post_helper(
        &sandbox,
        "/sandbox/subscriptions/a4c1340d-6911-4758-bba3-0c4c6007d161/seats",
        json!({"customerId": demo::SEED_CUSTOMER_ID, "quantity": 7.0}),
    )
    .await;
    assert_eq!(seats.status, StatusCode::CREATED, "{}", seats.body);

    let start = before
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let first = api_get(
        &sandbox,
        &format!("/v1/auditrecords?size=2&startDate={start}"),
        &token,
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let kinds: Vec<&Value> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["operationType"])
        .collect();
    assert_eq!(kinds, ["add_customer", "create_customer_agreement"]);
    assert_eq!(first.body["attributes"]["objectType"], "Collection");
    let next = &first.body["links"]["next"];
    assert_eq!(next["uri"], "/auditrecords?size=2&seekOperation=Next");
    let continuation = next["headers"][0]["value"].as_str().unwrap();
    assert_eq!(first.body["continuationToken"], continuation);
    let second = send(
        &sandbox,
        get("/v1/auditrecords?size=2&seekOperation=Next", &token)
            .header("MS-ContinuationToken", continuation)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let items = second.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["operationType"], "update_subscription");
    let new_value: Value =
        serde_json::from_str(items[0]["resourceNewValue"].as_str().unwrap()).unwrap();
    assert_eq!(new_value["quantity"], 7);
    assert!(second.body["links"].get("next").is_none());

    // Nothing before the window; and Partner Center's limits: 90 days back, 30 days wide.
    let later = (time::OffsetDateTime::now_utc() + time::Duration::seconds(5))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let none = api_get(
        &sandbox,
        &format!("/v1/auditrecords?startDate={later}&endDate={later}"),
        &token,
    )
    .await;
    assert_eq!(none.body["totalCount"], 0);
    for query in [
        "startDate=2020-01-01T00:00:00Z",
        "startDate=yesterday",
        "size=501",
    ] {
        let refused = api_get(&sandbox, &format!("/v1/auditrecords?{query}"), &token).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{query}");
    }
    use base64::Engine as _;
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(continuation)
        .unwrap();
    bytes[8] ^= 1;
    let altered = base64::engine::general_purpose::STANDARD.encode(bytes);
    let tampered = send(
        &sandbox,
        get("/v1/auditrecords?seekOperation=Next", &token)
            .header("MS-ContinuationToken", altered)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(tampered.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_company_name_is_checked_as_its_declared_schema_says() {
    let sandbox = sandbox(SandboxOptions::default());
    let status = |name: String| {
        let sandbox = Arc::clone(&sandbox);
        async move {
            post_helper(&sandbox, "/sandbox/customers", json!({"companyName": name}))
                .await
                .status
        }
    };
    // JSON Schema's `\S` is ECMAScript's: U+0085 is not white space there, U+00A0 and U+FEFF are.
    assert_eq!(status("\u{85}".into()).await, StatusCode::CREATED);
    assert_eq!(
        status(" \u{a0}\u{feff}\t".into()).await,
        StatusCode::BAD_REQUEST
    );
    // maxLength counts characters, not bytes.
    assert_eq!(status("é".repeat(256)).await, StatusCode::CREATED);
    assert_eq!(status("é".repeat(257)).await, StatusCode::BAD_REQUEST);
    assert_eq!(
        status(format!("{} ", "a".repeat(256))).await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_helper_body_that_is_an_array_of_the_fields_is_refused() {
    let sandbox = sandbox(SandboxOptions::default());
    // serde's derived structs would also take their fields in order, as an array.
    let added = post_helper(
        &sandbox,
        "/sandbox/customers",
        json!(["Array Test", "array.example"]),
    )
    .await;
    assert_eq!(added.status, StatusCode::BAD_REQUEST, "{}", added.body);
}
