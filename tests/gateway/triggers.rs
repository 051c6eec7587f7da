//! The polling triggers, as the platform polls them: the first poll, then each `Location` the gateway answers,
//! against the sandbox's activity log, where the tests add customers, orders and other activity.

use std::collections::BTreeSet;

use crate::common::*;
use serde_json::{Value, json};

/// What one poll answered.
struct Polled {
    status: u16,
    location: String,
    retry_after: String,
    records: Vec<Value>,
    body: Value,
}

async fn poll(app: &TestApp, key: &str, url: &str) -> Polled {
    let response = app.get_url(key, url).await;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (location, retry_after) = (header("location"), header("retry-after"));
    let text = response.text().await.unwrap();
    let body: Value = match text.as_str() {
        "" => Value::Null,
        text => serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    };
    let records = body["value"].as_array().cloned().unwrap_or_default();
    Polled {
        status,
        location,
        retry_after,
        records,
        body,
    }
}

/// The first poll of the trigger at `path`: nothing is new yet, and the next poll's URL is in `Location`.
async fn start(app: &TestApp, key: &str, path: &str) -> String {
    let before = app.sandbox.as_ref().map(|s| s.api_calls());
    let first = poll(app, key, &app.url(path)).await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    assert_eq!(first.retry_after, "60");
    // The trigger's own path; its filter is in the state.
    let own = path.split('?').next().unwrap();
    assert!(
        first
            .location
            .starts_with(&format!("{}?TriggerState=", app.url(own))),
        "{}",
        first.location
    );
    assert!(first.location.contains("TriggerState="));
    // The first poll starts from now: nothing to ask Partner Center yet.
    assert_eq!(app.sandbox.as_ref().map(|s| s.api_calls()), before);
    first.location
}

/// A sandbox helper (served on the gateway's address in the sandbox profile, and on the sandbox's own).
async fn sandbox_post(base: &str, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{path}");
    json(response).await
}

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn with_state(location: &str, state: &str) -> String {
    let (base, _) = location.split_once("TriggerState=").unwrap();
    format!("{base}TriggerState={state}")
}

fn state_of(location: &str) -> &str {
    location.split_once("TriggerState=").unwrap().1
}

#[tokio::test]
async fn a_customer_added_in_the_sandbox_is_delivered_exactly_once_by_the_next_poll() {
    let app = spawn_app().await;
    let location = start(&app, CONTOSO_KEY, "/v1/triggers/customer-added").await;
    let added = sandbox_post(
        &app.address,
        "/sandbox/customers",
        json!({"companyName": "Wingtip Trigger Test"}),
    )
    .await;
    // Other activity in the log is not this trigger's.
    sandbox_post(
        &app.address,
        "/sandbox/orders",
        json!({"customerId": SEED_CUSTOMER}),
    )
    .await;

    let calls = app.sandbox().api_calls();
    let fired = poll(&app, CONTOSO_KEY, &location).await;
    assert_eq!(fired.status, 200, "{:?}", fired.body);
    assert_eq!(
        app.sandbox().api_calls(),
        calls + 1,
        "one Partner Center call per poll"
    );
    assert_eq!(ids(&fired.records), [added["id"].as_str().unwrap()]);
    let record = &fired.records[0];
    assert_eq!(record["operationType"], "add_customer");
    assert_eq!(record["customerName"], "Wingtip Trigger Test");
    assert_eq!(fired.retry_after, "60", "nothing more is waiting");
    // Every field of the record is one the document declares, so the designer offers it.
    let doc = json(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let declared = &doc["components"]["schemas"]["AuditRecord"]["properties"];
    for field in record.as_object().unwrap().keys() {
        assert!(declared.get(field).is_some(), "{field} is not declared");
    }

    let after = poll(&app, CONTOSO_KEY, &fired.location).await;
    assert_eq!(after.status, 202, "delivered once: {:?}", after.body);
    assert!(after.records.is_empty());
}

#[tokio::test]
async fn two_records_in_the_same_second_across_a_page_boundary_are_each_delivered_once() {
    // One record per page: the two records of one instant fall on two pages.
    let app = spawn_sandbox_profile("\n[triggers]\npage_size = 1\n").await;
    let mut location = start(&app, CONTOSO_KEY, "/v1/triggers/customer-added").await;
    let made = sandbox_post(
        &app.address,
        "/sandbox/activity",
        json!({"operationType": "add_customer", "resourceType": "customer", "count": 2}),
    )
    .await;
    let made = made["value"].as_array().unwrap();
    assert_eq!(made[0]["operationDate"], made[1]["operationDate"]);

    let mut delivered = Vec::new();
    let mut retry_afters = Vec::new();
    for _ in 0..4 {
        let calls = app.sandbox().api_calls();
        let polled = poll(&app, CONTOSO_KEY, &location).await;
        assert_eq!(app.sandbox().api_calls(), calls + 1);
        assert!([200, 202].contains(&polled.status), "{:?}", polled.body);
        delivered.extend(ids(&polled.records));
        retry_afters.push(polled.retry_after);
        location = polled.location;
    }
    let expected: BTreeSet<String> = ids(made).into_iter().collect();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    assert_eq!(delivered.iter().cloned().collect::<BTreeSet<_>>(), expected);
    // The first page says more are waiting; once both are read, the trigger waits again.
    assert_eq!(retry_afters, ["0", "60", "60", "60"]);
}

#[tokio::test]
async fn a_poll_with_nothing_new_answers_202_with_location_and_retry_after() {
    let app = spawn_app().await;
    let location = start(&app, CONTOSO_KEY, "/v1/triggers/subscription-changed").await;
    let calls = app.sandbox().api_calls();
    let polled = poll(&app, CONTOSO_KEY, &location).await;
    assert_eq!(polled.status, 202);
    assert_eq!(polled.body, Value::Null, "no body");
    assert_eq!(polled.retry_after, "60");
    assert!(polled.location.contains("TriggerState="));
    assert_eq!(app.sandbox().api_calls(), calls + 1);
}

#[tokio::test]
async fn a_tampered_state_is_refused_with_a_400_that_never_reaches_partner_center() {
    let app = spawn_app().await;
    let location = start(&app, CONTOSO_KEY, "/v1/triggers/customer-added").await;
    let state = state_of(&location);
    let mut tampered: Vec<char> = state.chars().collect();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let calls = app.sandbox().api_calls();
    for url in [
        with_state(&location, &tampered),
        with_state(&location, "not-a-state"),
        // A state is its trigger's: this one is not the order trigger's.
        app.url(&format!("/v1/triggers/order-created?TriggerState={state}")),
    ] {
        let response = app.get_url(CONTOSO_KEY, &url).await;
        assert_eq!(response.status(), 400, "{url}");
        let body = json(response).await;
        assert_eq!(body["statusCode"], 400);
        assert_eq!(body["code"], "InvalidTriggerState", "{body}");
        assert!(body["correlationId"].is_string());
    }
    assert_eq!(app.sandbox().api_calls(), calls);
}

#[tokio::test]
async fn a_state_replayed_on_another_connection_is_refused_with_a_400() {
    let app = spawn_app().await;
    let location = start(&app, CONTOSO_KEY, "/v1/triggers/order-created").await;
    let response = app.get_url(FABRIKAM_KEY, &location).await;
    assert_eq!(response.status(), 400);
    assert_eq!(json(response).await["code"], "InvalidTriggerState");
    // On its own connection it is fine.
    assert_eq!(poll(&app, CONTOSO_KEY, &location).await.status, 202);
}

#[tokio::test]
async fn a_poll_survives_a_gateway_restart_with_the_same_signing_key() {
    let sandbox = standalone_sandbox(Default::default()).await;
    let state = tempfile::tempdir().unwrap();
    let profile = |key: &str| {
        real_profile(
            &sandbox.base_url(),
            &sandbox.base_url(),
            &temp_file(&state, "rt"),
            "",
        )
        .replace(
            TRIGGERS,
            &format!("[triggers]\nsigning_key = \"{key}\"\nlag_secs = 0"),
        )
    };
    let key = "a-signing-key-shared-by-every-replica-0123";
    let first = spawn_toml(&profile(key)).await;
    let location = start(&first, "app-key", "/v1/triggers/customer-added").await;
    let old_address = first.address.clone();
    first.stop().await;

    let added = sandbox_post(
        &sandbox.base_url(),
        "/sandbox/customers",
        json!({"companyName": "Restart Survivors"}),
    )
    .await;
    // A new gateway (or another replica) with the same key answers the old Location.
    let second = spawn_toml(&profile(key)).await;
    let location = location.replacen(&old_address, &second.address, 1);
    let fired = poll(&second, "app-key", &location).await;
    assert_eq!(fired.status, 200, "{:?}", fired.body);
    assert_eq!(ids(&fired.records), [added["id"].as_str().unwrap()]);

    // One with another key does not: the key is what lets a poll outlive the gateway that answered it.
    let other = spawn_toml(&profile("another-key-another-gateway-0123456789")).await;
    let location = location.replacen(&second.address, &other.address, 1);
    let response = other.get_url("app-key", &location).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn polls_count_against_the_connection_s_quota() {
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("rt")).replace("calls = 100", "calls = 2");
    let app = spawn_toml(&toml).await;
    let location = start(&app, CONTOSO_KEY, "/v1/triggers/customer-added").await;
    assert_eq!(poll(&app, CONTOSO_KEY, &location).await.status, 202);
    let calls = app.sandbox().api_calls();
    let response = app.get_url(CONTOSO_KEY, &location).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(
        app.sandbox().api_calls(),
        calls,
        "a refused poll never reaches Partner Center"
    );
    // The other connection's quota is its own.
    let other = start(&app, FABRIKAM_KEY, "/v1/triggers/customer-added").await;
    assert!(!other.is_empty());
}

#[tokio::test]
async fn orders_and_activities_are_filtered_by_customer_and_by_the_activity_picked_from_the_list() {
    let app = spawn_app().await;
    let listed = json(app.get(CONTOSO_KEY, "/v1/customers?Size=2").await).await;
    let other = listed["items"][1]["id"].as_str().unwrap().to_owned();
    let orders = start(
        &app,
        CONTOSO_KEY,
        &format!("/v1/triggers/order-created?CustomerTenantID={SEED_CUSTOMER}"),
    )
    .await;
    // The designer's list of activities, in the maker's language.
    let types = json(
        app.client
            .get(app.url("/v1/triggers/activity-types"))
            .header("X-API-Key", CONTOSO_KEY)
            .header("Accept-Language", "pt-BR")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let picked = types["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["operationType"] == "add_customer_user")
        .unwrap();
    assert_eq!(picked["displayName"], "Usuário do cliente adicionado");
    let users = start(
        &app,
        CONTOSO_KEY,
        "/v1/triggers/activity-recorded?OperationType=add_customer_user",
    )
    .await;
    let mine = sandbox_post(
        &app.address,
        "/sandbox/orders",
        json!({"customerId": SEED_CUSTOMER}),
    )
    .await;
    sandbox_post(
        &app.address,
        "/sandbox/orders",
        json!({"customerId": other}),
    )
    .await;
    let user = sandbox_post(
        &app.address,
        "/sandbox/activity",
        json!({"operationType": "add_customer_user", "resourceType": "customer_user", "customerId": other}),
    )
    .await;

    let fired = poll(&app, CONTOSO_KEY, &orders).await;
    assert_eq!(ids(&fired.records), [mine["id"].as_str().unwrap()]);
    let fired = poll(&app, CONTOSO_KEY, &users).await;
    assert_eq!(
        ids(&fired.records),
        [user["value"][0]["id"].as_str().unwrap()]
    );

    // A filter is the first poll's: a later poll that names another is refused, and so is an unknown activity.
    let response = app
        .get_url(CONTOSO_KEY, &format!("{orders}&CustomerTenantID={other}"))
        .await;
    assert_eq!(json(response).await["code"], "TriggerFilterChanged");
    let response = app
        .get(
            CONTOSO_KEY,
            "/v1/triggers/activity-recorded?OperationType=make_coffee",
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(json(response).await["code"], "InvalidOperationType");
}

#[tokio::test]
async fn a_filter_that_is_not_valid_is_a_400_that_never_reaches_partner_center() {
    let app = spawn_app().await;
    let calls = app.sandbox().api_calls();
    for (path, code) in [
        (
            "/v1/triggers/order-created?CustomerTenantID=not-a-guid",
            "InvalidCustomerTenantId",
        ),
        (
            "/v1/triggers/subscription-changed?CustomerTenantID={c501c3c4-d776-40ef-9ecf-9cefb59442c1}",
            "InvalidCustomerTenantId",
        ),
        ("/v1/triggers/activity-recorded", "MissingOperationType"),
        (
            "/v1/triggers/activity-recorded?OperationType=add_customer&OperationType=create_order",
            "DuplicateParameter",
        ),
    ] {
        let response = app.get(CONTOSO_KEY, path).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(json(response).await["code"], code, "{path}");
    }
    assert_eq!(
        app.sandbox().api_calls(),
        calls,
        "none reached Partner Center"
    );
}

/// Partner Center's continuation tokens do not last: when it refuses the one a state carries, the poll answers
/// 202 with `Retry-After: 0` and a state without it, and the next poll asks again from the cursor, which still
/// knows what was delivered.
#[tokio::test]
async fn a_continuation_partner_center_no_longer_knows_is_asked_again_from_the_cursor() {
    use wiremock::matchers::{header_exists, method, path};
    use wiremock::{Mock, ResponseTemplate};
    let server = mock_with_tokens("access-token-from-wiremock").await;
    let (app, _state) = gateway_on(&server.uri(), &server.uri(), "").await;
    let location = start(&app, "app-key", "/v1/triggers/customer-added").await;
    // Recorded after the trigger started, before its next poll.
    let at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let record = |id: &str| json!({"id": id, "operationType": "add_customer", "operationDate": at});
    let page = |items: Vec<Value>, next: bool| {
        let mut page = json!({"totalCount": items.len(), "items": items, "links": {}});
        if next {
            page["links"]["next"] = json!({"uri": "/auditrecords?size=500&seekOperation=Next", "method": "GET",
                "headers": [{"key": "MS-ContinuationToken", "value": "soon-forgotten"}]});
        }
        page
    };
    Mock::given(method("GET"))
        .and(path("/v1/auditrecords"))
        .and(header_exists("MS-ContinuationToken"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"code": 400, "description": "The continuation token is invalid.", "data": [], "source": "PartnerFD"}),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/auditrecords"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![record("r1")], true)))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/auditrecords"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(page(vec![record("r1"), record("r2")], false)),
        )
        .with_priority(3)
        .mount(&server)
        .await;
    let first = poll(&app, "app-key", &location).await;
    assert_eq!(
        (first.status, ids(&first.records)),
        (200, vec!["r1".to_owned()])
    );
    assert_eq!(first.retry_after, "0", "more pages follow");
    let refused = poll(&app, "app-key", &first.location).await;
    assert_eq!(refused.status, 202, "{:?}", refused.body);
    assert_eq!(refused.retry_after, "0", "the rest is to be read at once");
    let again = poll(&app, "app-key", &refused.location).await;
    assert_eq!(
        (again.status, ids(&again.records)),
        (200, vec!["r2".to_owned()])
    );
}

/// An audit page as Partner Center answers it: `items`, and a next link carrying `token` when more follow.
fn audit_page(items: Vec<Value>, token: Option<&str>) -> Value {
    let mut page = json!({"totalCount": items.len(), "items": items, "links": {}});
    if let Some(token) = token {
        page["links"]["next"] = json!({"uri": "/auditrecords?size=500&seekOperation=Next", "method": "GET",
            "headers": [{"key": "MS-ContinuationToken", "value": token}]});
    }
    page
}

fn added(id: &str, at: time::OffsetDateTime) -> Value {
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    json!({"id": id, "operationType": "add_customer", "operationDate": at})
}

/// Partner Center's continuation token can be longer than a state carries: the poll then keeps its cursor at the
/// last record read and answers `Retry-After: 0`, and the next poll asks again from the cursor, so the records of
/// the pages not read are delivered, each once.
#[tokio::test]
async fn a_continuation_token_too_long_to_carry_loses_no_record() {
    use wiremock::matchers::{header_exists, method, path};
    use wiremock::{Mock, ResponseTemplate};
    let server = mock_with_tokens("access-token-from-wiremock").await;
    let (app, _state) = gateway_on(&server.uri(), &server.uri(), "").await;
    let location = start(&app, "app-key", "/v1/triggers/customer-added").await;
    // Three records at one instant, after the trigger started: two on the first page, the third on the next.
    let at = time::OffsetDateTime::now_utc();
    let long = "t".repeat(2_000);
    Mock::given(method("GET"))
        .and(path("/v1/auditrecords"))
        .and(header_exists("MS-ContinuationToken"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(audit_page(vec![added("r3", at)], None)),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/auditrecords"))
        .respond_with(ResponseTemplate::new(200).set_body_json(audit_page(
            vec![added("r1", at), added("r2", at)],
            Some(&long),
        )))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    // The same query asked again from the cursor: from the instant of r1 and r2.
    Mock::given(method("GET"))
        .and(path("/v1/auditrecords"))
        .respond_with(ResponseTemplate::new(200).set_body_json(audit_page(
            vec![added("r1", at), added("r2", at), added("r3", at)],
            None,
        )))
        .with_priority(3)
        .mount(&server)
        .await;

    let first = poll(&app, "app-key", &location).await;
    assert_eq!(ids(&first.records), ["r1", "r2"], "{:?}", first.body);
    assert_eq!(first.retry_after, "0", "more records are waiting");
    assert!(!first.location.contains(&long[..100]));
    let mut delivered = ids(&first.records);
    let mut location = first.location;
    for _ in 0..2 {
        let polled = poll(&app, "app-key", &location).await;
        assert!([200, 202].contains(&polled.status), "{:?}", polled.body);
        delivered.extend(ids(&polled.records));
        location = polled.location;
    }
    assert_eq!(delivered, ["r1", "r2", "r3"]);
}

/// A page that lists its records newest first loses none of them: each page is read in date order.
#[tokio::test]
async fn a_page_listed_newest_first_delivers_every_record_oldest_first() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let server = mock_with_tokens("access-token-from-wiremock").await;
    let (app, _state) = gateway_on(&server.uri(), &server.uri(), "").await;
    let location = start(&app, "app-key", "/v1/triggers/customer-added").await;
    let at = time::OffsetDateTime::now_utc();
    let newest_first = vec![
        added("newer", at + time::Duration::milliseconds(2)),
        added("new", at + time::Duration::milliseconds(1)),
        added("old", at),
    ];
    Mock::given(method("GET"))
        .and(path("/v1/auditrecords"))
        .respond_with(ResponseTemplate::new(200).set_body_json(audit_page(newest_first, None)))
        .mount(&server)
        .await;
    let fired = poll(&app, "app-key", &location).await;
    assert_eq!(
        ids(&fired.records),
        ["old", "new", "newer"],
        "{:?}",
        fired.body
    );
    let again = poll(&app, "app-key", &fired.location).await;
    assert!(again.records.is_empty(), "{:?}", again.body);
}
