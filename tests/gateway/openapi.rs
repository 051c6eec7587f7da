//! The documents as a client meets them: `/openapi.json` and Swagger UI on the running gateway, "Try it out"
//! against the sandbox with the demo key, the connector definition endpoint, and `export-connector`.

use std::collections::BTreeSet;

use crate::common::*;
use serde_json::{Value, json};

const PARTNER_ID: &str = "4847383";

async fn openapi(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json(response).await
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), op.clone()));
        }
    }
    out
}

/// The path with its parameters filled in the way a maker would, and the one required query parameter (the
/// activity "When an activity is recorded" watches).
fn concrete(path: &str) -> String {
    let path = path
        .replace("{CustomerTenantID}", SEED_CUSTOMER)
        .replace("{PartnerId}", PARTNER_ID)
        .replace("{name}", "ana")
        .replace("{subscriptionId}", "a4c1340d-6911-4758-bba3-0c4c6007d161");
    match path.as_str() {
        "/v1/triggers/activity-recorded" => format!("{path}?OperationType=add_customer_user"),
        _ => path,
    }
}

/// What a maker would post to `path`: an agreement, or what the sandbox's helpers take.
fn post_body(path: &str) -> Value {
    match path {
        "/sandbox/customers" => json!({"companyName": "Contoso Trigger Test"}),
        "/sandbox/orders" => json!({"customerId": SEED_CUSTOMER}),
        "/sandbox/subscriptions/{subscriptionId}/seats" => {
            json!({"customerId": SEED_CUSTOMER, "quantity": 5})
        }
        "/sandbox/activity" => {
            json!({"operationType": "add_customer_user", "resourceType": "customer_user"})
        }
        _ => json!({
            "primaryContact": {"firstName": "Tania", "lastName": "Carr", "email": "someone@example.com", "phoneNumber": "1234567890"},
            "templateId": "117a77b0-9360-443b-8795-c6dedc750cf9",
            "dateAgreed": "2018-06-14T00:00:00.000Z",
            "type": "MicrosoftCustomerAgreement"
        }),
    }
}

#[tokio::test]
async fn every_documented_operation_is_a_route_behind_authentication_and_nothing_else_is() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let (demo, operations): (Vec<_>, Vec<_>) = operations(&doc)
        .into_iter()
        .partition(|(path, _, _)| path.starts_with("/sandbox/"));
    let mut ids: Vec<String> = operations
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "ConfirmCustomerAgreement",
            "GetActivityTypes",
            "GetAgreementMetadata",
            "GetAllCustomers",
            "GetCustomerAgreements",
            "GetCustomerDetails",
            "GetCustomerOrders",
            "GetCustomerSubscription",
            "GetCustomerSubscriptionsByPartner",
            "GetInvoices",
            "ListCustomers",
            "ListInvoices",
            "OnActivityRecorded",
            "OnCustomerAdded",
            "OnOrderCreated",
            "OnSubscriptionChanged",
        ]
    );
    for (path, method, _) in operations {
        let url = app.url(&concrete(&path));
        let response = app
            .client
            .request(method.to_uppercase().parse().unwrap(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path} without a key");
        // A method the document does not list on a documented path is not served either.
        let response = app.client.delete(&url).send().await.unwrap();
        assert_eq!(response.status(), 405, "DELETE {path}");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["api_key"]["name"], "X-API-Key");
    assert_eq!(schemes["oauth2"]["type"], "oauth2");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    // The sandbox profile's helpers are documented as needing no credentials, and need none.
    let mut helpers: Vec<(&str, &str)> = demo
        .iter()
        .map(|(path, method, _)| (path.as_str(), method.as_str()))
        .collect();
    helpers.sort();
    assert_eq!(
        helpers,
        [
            ("/sandbox/activity", "post"),
            ("/sandbox/customers", "post"),
            ("/sandbox/orders", "post"),
            ("/sandbox/subscriptions/{subscriptionId}/seats", "post"),
            ("/sandbox/users/{name}/token", "post"),
        ]
    );
    for (path, _, op) in &demo {
        assert_eq!(op["security"], json!([{}]), "{path}");
        let response = app
            .client
            .post(app.url(&concrete(path)))
            .json(&post_body(path))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
}

/// "Try it out" on the maker's own token, as Swagger UI does it: the sandbox's documented helper mints a
/// token, the `bearer` scheme carries it, and the operation answers on that maker's connection.
#[tokio::test]
async fn the_bearer_scheme_and_the_sandbox_token_let_swagger_ui_try_the_oauth_path() {
    let app = spawn_app().await;
    let token = app
        .client
        .post(app.url("/sandbox/users/ana/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let token = json(token).await;
    assert_eq!(token["token_type"], "Bearer");

    let response = app
        .client
        .get(app.url(&format!("/v1/customers/{SEED_CUSTOMER}")))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["id"], SEED_CUSTOMER);
    for bad in [".", "..", "-x", &"a".repeat(65), "ana%20b"] {
        let response = app
            .client
            .post(app.url(&format!("/sandbox/users/{bad}/token")))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error(),
            "{bad}: {}",
            response.status()
        );
    }
}

#[tokio::test]
async fn swagger_ui_is_served_and_reads_the_document() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(app.url("/swagger-ui/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let init = app
        .client
        .get(app.url("/swagger-ui/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/openapi.json"));
}

/// Where a resource reference in HTML (`src=`, `href=`) or CSS (`url(`, `@import`) points, for every such
/// reference in `text`.
fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for opener in ["src=", "href=", "url(", "@import"] {
        for (at, _) in text.match_indices(opener) {
            let rest = text[at + opener.len()..].trim_start_matches([' ', '"', '\'', '(']);
            let end = rest
                .find(['"', '\'', ')', ' ', '>', ';'])
                .unwrap_or(rest.len());
            found.push(rest[..end].to_owned());
        }
    }
    found
}

/// Served under a real host name, the page must not call anyone but the gateway: Swagger UI's default sends the
/// document's address to validator.swagger.io for a badge, and the page's HTML and CSS load only what the
/// gateway serves (or inline data).
#[tokio::test]
async fn swagger_ui_loads_nothing_from_other_hosts_and_asks_no_validator() {
    let app = spawn_app().await;
    let get = |path: &str| {
        let path = path.to_owned();
        let request = app
            .client
            .get(app.url(&format!("/swagger-ui/{path}")))
            .header("Host", "pcgw.contoso.example");
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.text().await.unwrap()
        }
    };
    let init = get("swagger-initializer.js").await;
    assert!(
        init.contains(r#""validatorUrl": "none""#),
        "the online validator is not turned off: {init}"
    );
    let index = get("").await;
    let mut checked = 0;
    for reference in references(&index) {
        assert!(
            !reference.contains("//"),
            "index.html loads {reference} from elsewhere"
        );
        if reference.ends_with(".css") {
            let css = get(reference.trim_start_matches("./")).await;
            for inner in references(&css) {
                assert!(
                    inner.starts_with("data:") || !inner.contains("//"),
                    "{reference} loads {inner} from elsewhere"
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "the page's stylesheets were not found in {index}"
    );
}

/// Whether `value` has the documented JSON type, recursively, for every documented property it carries.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(union) = schema.get("oneOf") {
        let real: Vec<&Value> = union
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["type"] != "null")
            .collect();
        return match value {
            Value::Null => Ok(()),
            _ => conforms(doc, real[0], value, at),
        };
    }
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    let actual = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let fits = kinds.contains(&actual) || (actual == "integer" && kinds.contains(&"number"));
    if !fits {
        return Err(format!("{at} is {actual}, documented as {kinds:?}"));
    }
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                conforms(doc, &schema["items"], item, &format!("{at}[{i}]"))?;
            }
        }
        Value::Object(fields) => {
            for (name, field) in fields {
                if let Some(property) = schema["properties"].get(name) {
                    conforms(doc, property, field, &format!("{at}.{name}"))?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(target) => {
            let name = target.strip_prefix("#/components/schemas/").unwrap();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

#[tokio::test]
async fn try_it_out_against_the_sandbox_with_the_demo_key_answers_what_the_document_says() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    // The document names the address it was fetched from, which is where Swagger UI sends "Try it out".
    assert_eq!(doc["servers"], json!([{"url": app.address}]));
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap();
        let response = if method == "post" {
            app.post_json(CONTOSO_KEY, &concrete(&path), post_body(&path).to_string())
                .await
        } else {
            app.get(CONTOSO_KEY, &concrete(&path)).await
        };
        let status = response.status().as_u16().to_string();
        let documented = &op["responses"][&status];
        assert!(
            documented.is_object(),
            "{id} answered {status}, which it does not document"
        );
        assert!(status.starts_with('2'), "{id} answered {status}");
        if documented.get("content").is_none() {
            // A trigger's first poll: nothing new yet, and no body.
            assert_eq!(response.text().await.unwrap(), "", "{id}");
            continue;
        }
        let body = json(response).await;
        let schema = &documented["content"]["application/json"]["schema"];
        conforms(&doc, schema, &body, id).unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}

/// Every field of `value` that `schema` does not declare, recursively, as `at.path` strings.
fn undeclared(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut BTreeSet<String>) {
    let mut schema = resolve(doc, schema);
    if let Some(union) = schema.get("oneOf").and_then(Value::as_array) {
        match union.iter().find(|s| s["type"] != "null") {
            Some(real) => schema = resolve(doc, real),
            None => return,
        }
    }
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let path = format!("{at}.{name}");
                match schema["properties"].get(name) {
                    Some(property) => undeclared(doc, property, field, &path, out),
                    None => {
                        out.insert(path);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                undeclared(doc, &schema["items"], item, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

/// What a generated client or the designer's dynamic content can show is what the document declares: every
/// operation, for a spread of the sandbox's customers (different offers, cancelled orders, agreements), a
/// followed nextLink, and every field of every answer, however deep, must be in the schema of that answer.
#[tokio::test]
async fn every_field_of_every_answer_is_in_the_document() {
    let state = tempfile::tempdir().unwrap();
    // Some seventy calls on one connection: more than the shipped quota has room for in a minute.
    let toml = sandbox_profile(&state.path().join("rt")).replace("calls = 100", "calls = 1000");
    let app = spawn_toml(&toml).await;
    let doc = openapi(&app).await;
    let listed = json(app.get(CONTOSO_KEY, "/v1/customers?Size=12").await).await;
    let mut customers = vec![SEED_CUSTOMER.to_owned()];
    for customer in listed["items"].as_array().unwrap() {
        let id = customer["id"].as_str().unwrap();
        if id != SEED_CUSTOMER {
            customers.push(id.to_owned());
        }
    }
    let mut operations = operations(&doc);
    // Agreements confirmed first, so that the agreement lists have something in them.
    operations.sort_by_key(|(_, method, _)| method != "post");
    let mut missing = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut answers = 0;
    for (path, method, op) in &operations {
        // The sandbox's helpers answer what they made, free-form: they are not Partner Center's operations.
        if path.starts_with("/sandbox/") && path != "/sandbox/users/{name}/token" {
            continue;
        }
        let id = op["operationId"].as_str().unwrap();
        let per_customer = path.contains("{CustomerTenantID}");
        let targets: Vec<String> = if per_customer {
            customers
                .iter()
                .map(|c| concrete(path).replace(SEED_CUSTOMER, c))
                .collect()
        } else {
            vec![concrete(path)]
        };
        for target in targets {
            let mut next = Some(app.url(&target));
            // The first page and, where there is one, the page its nextLink names.
            for _ in 0..2 {
                let Some(url) = next.take() else { break };
                let request = if method == "post" {
                    app.client
                        .post(&url)
                        .header("X-API-Key", CONTOSO_KEY)
                        .json(&post_body(path))
                } else {
                    app.client.get(&url).header("X-API-Key", CONTOSO_KEY)
                };
                let response = request.send().await.unwrap();
                let status = response.status().as_u16().to_string();
                assert!(status.starts_with('2'), "{id} {url} answered {status}");
                // A trigger's first poll has no body; tests/gateway/triggers.rs checks the records it delivers.
                if status == "202" {
                    continue;
                }
                let body = json(response).await;
                let schema = &op["responses"][&status]["content"]["application/json"]["schema"];
                assert!(
                    schema.is_object(),
                    "{id} answered {status}, which it does not document"
                );
                undeclared(&doc, schema, &body, id, &mut missing);
                fields(&body, &mut seen);
                answers += 1;
                next = body["nextLink"].as_str().map(str::to_owned);
            }
        }
    }
    assert!(answers > 50, "only {answers} answers checked");
    assert!(
        missing.is_empty(),
        "fields the answers carry and the document does not declare: {missing:#?}"
    );
    // Fields of Partner Center's resources that the original connector never listed: the sandbox answers with
    // them (an add-on's parent, its order line's, a credit note's amended invoice and the amended invoice's
    // amendments, a second address line), so the check above covers them.
    for field in [
        "parentSubscriptionId",
        "amendsOf",
        "amendments",
        "addressLine2",
    ] {
        assert!(seen.contains(field), "no answer carried {field}");
    }
}

/// The name of every field in `value`, however deep.
fn fields(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (name, field) in map {
                out.insert(name.clone());
                fields(field, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| fields(item, out)),
        _ => {}
    }
}

/// The five booleans the original connector offers as a choice are plain optional booleans here: code generators
/// refuse an `enum` that lists `null` (openapi-python-client dropped the Customer and Subscription models).
#[tokio::test]
async fn no_schema_lists_null_among_its_values() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    let mut found = Vec::new();
    fn walk(value: &Value, at: String, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if map
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|values| values.contains(&Value::Null))
                {
                    found.push(at.clone());
                }
                for (key, v) in map {
                    walk(v, format!("{at}/{key}"), found);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }
    walk(&doc, String::new(), &mut found);
    assert!(found.is_empty(), "enums with null: {found:#?}");
    let allow = &doc["components"]["schemas"]["Customer"]["properties"]["allowDelegatedAccess"];
    assert_eq!(allow["type"], json!(["boolean", "null"]));
}

#[tokio::test]
async fn documented_errors_are_the_errors_callers_get() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    let details = &doc["paths"]["/v1/customers/{CustomerTenantID}"]["get"]["responses"];
    for (key, path, status) in [
        (CONTOSO_KEY, "/v1/customers/not-a-guid".to_owned(), "400"),
        ("wrong-key", format!("/v1/customers/{SEED_CUSTOMER}"), "401"),
        (
            CONTOSO_KEY,
            format!("/v1/customers/{UNKNOWN_CUSTOMER}"),
            "404",
        ),
    ] {
        let response = app.get(key, &path).await;
        assert_eq!(response.status().as_str(), status, "{path}");
        let body = json(response).await;
        let schema = &details[status]["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{status} is not documented");
        conforms(&doc, schema, &body, status).unwrap();
        let name = schema["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
        for field in body.as_object().unwrap().keys() {
            assert!(
                doc["components"]["schemas"][name]["properties"]
                    .get(field)
                    .is_some(),
                "{status}: {field} is not in {name}"
            );
        }
    }
}

#[tokio::test]
async fn the_connector_definition_is_served_per_language_and_authentication() {
    let app = spawn_app().await;
    let get = |query: &'static str| {
        let url = app.url(&format!(
            "/openapi/connector/apiDefinition.swagger.json{query}"
        ));
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap() }
    };
    let response = get("").await;
    assert_eq!(response.status(), 200);
    let en = json(response).await;
    assert_eq!(en["swagger"], "2.0");
    // No public URL configured: the host is the one the request reached, as for nextLinks.
    assert_eq!(en["host"], app.address.trim_start_matches("http://"));
    assert_eq!(en["schemes"], json!(["http"]));
    assert!(en["securityDefinitions"].get("api_key").is_some());
    assert_eq!(
        en["paths"]["/v1/customers"]["get"]["summary"],
        "Get all customers"
    );

    let pt = json(get("?locale=pt-BR&auth=oauth").await).await;
    assert_eq!(
        pt["paths"]["/v1/customers/{CustomerTenantID}/subscriptions"]["get"]["summary"],
        "Obter assinaturas do cliente"
    );
    assert!(pt["securityDefinitions"].get("oauth2").is_some());

    let bad = get("?locale=fr-FR").await;
    assert_eq!(bad.status(), 400);
    assert_eq!(json(bad).await["code"], "InvalidLocale");

    let properties = json(
        app.client
            .get(app.url("/openapi/connector/apiProperties.json?auth=oauth"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        properties["properties"]["connectionParameters"]["token"]["oAuthSettings"]["identityProvider"],
        "aad"
    );
    let icon = app
        .client
        .get(app.url("/openapi/connector/icon.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.headers()["content-type"], "image/png");
    assert!(icon.bytes().await.unwrap().starts_with(b"\x89PNG"));
}

#[tokio::test]
async fn with_a_public_url_the_connector_names_it() {
    let state = tempfile::tempdir().unwrap();
    let toml = sandbox_profile(&state.path().join("rt")).replace(
        "# public_base_url =",
        "public_base_url = \"https://pcgw.contoso.example/partner-center\" #",
    );
    let app = spawn_toml(&toml).await;
    let doc = json(
        app.client
            .get(app.url("/openapi/connector/apiDefinition.swagger.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(doc["host"], "pcgw.contoso.example");
    assert_eq!(doc["basePath"], "/partner-center");
    assert_eq!(doc["schemes"], json!(["https"]));
    let openapi = openapi(&app).await;
    assert_eq!(
        openapi["servers"],
        json!([{"url": "https://pcgw.contoso.example/partner-center"}])
    );
}

#[test]
fn export_connector_writes_a_package_that_names_the_host() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("pkg");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_partner-center-gateway"))
        .args(["export-connector", "--out"])
        .arg(&dir)
        .args([
            "--locale",
            "pt-BR",
            "--auth",
            "oauth",
            "--host",
            "gw.example.com:8443",
        ])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    for file in [
        "apiDefinition.swagger.json",
        "apiProperties.json",
        "settings.json",
        "icon.png",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dir.join("apiDefinition.swagger.json")).unwrap())
            .unwrap();
    assert_eq!(doc["host"], "gw.example.com:8443");
    assert_eq!(
        doc["paths"]["/v1/invoices"]["get"]["summary"],
        "Obter faturas"
    );

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_partner-center-gateway"))
        .args(["export-connector", "--out"])
        .arg(out.path().join("other"))
        .args(["--locale", "fr-FR", "--host", "gw.example.com"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pt-BR"));

    // The sandbox profile names no public URL, so an export without --host has no host to write.
    let no_host = std::process::Command::new(env!("CARGO_BIN_EXE_partner-center-gateway"))
        .args(["export-connector", "--out"])
        .arg(out.path().join("third"))
        .output()
        .unwrap();
    assert!(!no_host.status.success());
    assert!(String::from_utf8_lossy(&no_host.stderr).contains("--host"));
}
