//! The custom-connector package, as Power Platform and a maker see it: compatible with the original connector,
//! only what Swagger 2.0 and Power Platform accept, Microsoft's string guidance, two languages, and committed
//! exports that match this build.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use partner_center_gateway::openapi::connector::{self, Auth, Target};
use partner_center_gateway::openapi::locale::{self, Locale};
use partner_center_gateway::openapi::{document, export};
use serde_json::Value;

/// The host the committed exports name; makers export their own with `--host`.
const EXPORT_HOST: &str = "pcgw.example.com";

fn definition(locale: Locale, auth: Auth) -> Value {
    connector::api_definition(
        &document::openapi(),
        locale,
        auth,
        &Target::parse(EXPORT_HOST).unwrap(),
    )
    .unwrap()
}

fn variants() -> Vec<(Locale, Auth, Value)> {
    let mut all = Vec::new();
    for locale in Locale::ALL {
        for auth in Auth::ALL {
            all.push((locale, auth, definition(locale, auth)));
        }
    }
    all
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), op));
        }
    }
    out
}

fn operation<'a>(doc: &'a Value, id: &str) -> &'a Value {
    operations(doc)
        .into_iter()
        .find(|(_, _, op)| op["operationId"] == id)
        .unwrap_or_else(|| panic!("no operation {id}"))
        .2
}

/// Follows a `#/definitions/...` reference, as Power Platform does.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(target) => {
            let name = target
                .strip_prefix("#/definitions/")
                .expect("a definitions $ref");
            doc["definitions"]
                .get(name)
                .unwrap_or_else(|| panic!("$ref to missing definition {name}"))
        }
        None => schema,
    }
}

/// The schema at a dotted response path such as `items.companyProfile.tenantId`, as written (a label next to a
/// `$ref` included); arrays are stepped through, as the designer's dynamic content does.
fn property<'a>(doc: &'a Value, root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = root;
    for step in path.split('.') {
        let mut container = resolve(doc, at);
        if container["type"] == "array" {
            container = resolve(doc, &container["items"]);
        }
        at = container.get("properties")?.get(step)?;
    }
    Some(at)
}

fn json_type<'a>(doc: &'a Value, schema: &'a Value) -> &'a str {
    let schema = resolve(doc, schema);
    schema["type"]
        .as_str()
        .unwrap_or(if schema.get("properties").is_some() {
            "object"
        } else {
            "none"
        })
}

struct Original {
    operation_id: &'static str,
    method: &'static str,
    path: &'static str,
    parameters: &'static [(&'static str, &'static str, &'static str, bool)],
    response: &'static [(&'static str, &'static str)],
}

/// The deprecated connector's contract, from its apiDefinition.swagger.json: flows built on it name these
/// operations, paths, parameter keys and response fields, so none of them may change.
const ORIGINAL: &[Original] = &[
    Original {
        operation_id: "GetInvoices",
        method: "get",
        path: "/v1/invoices",
        parameters: &[
            ("Size", "query", "integer", false),
            ("Offset", "query", "string", false),
        ],
        response: &[
            ("totalCount", "integer"),
            ("items", "array"),
            ("items.id", "string"),
            ("items.invoiceDate", "string"),
            ("items.billingPeriodStartDate", "string"),
            ("items.billingPeriodEndDate", "string"),
            ("items.totalCharges", "number"),
            ("items.paidAmount", "number"),
            ("items.currencyCode", "string"),
            ("items.currencySymbol", "string"),
            ("items.pdfDownloadLink", "string"),
            ("items.invoiceDetails", "array"),
            ("items.invoiceDetails.invoiceLineItemType", "string"),
            ("items.invoiceDetails.billingProvider", "string"),
            ("items.documentType", "string"),
            ("items.invoiceType", "string"),
        ],
    },
    Original {
        operation_id: "GetAllCustomers",
        method: "get",
        path: "/v1/customers",
        parameters: &[("Size", "query", "string", false)],
        response: &[
            ("totalCount", "integer"),
            ("items", "array"),
            ("items.id", "string"),
            ("items.companyProfile", "object"),
            ("items.companyProfile.tenantId", "string"),
            ("items.companyProfile.domain", "string"),
            ("items.companyProfile.companyName", "string"),
            ("items.relationshipToPartner", "string"),
        ],
    },
    Original {
        operation_id: "GetCustomerSubscription",
        method: "get",
        path: "/v1/customers/{CustomerTenantID}/subscriptions",
        parameters: &[("CustomerTenantID", "path", "string", true)],
        response: &[
            ("totalCount", "integer"),
            ("items", "array"),
            ("items.id", "string"),
            ("items.offerId", "string"),
            ("items.offerName", "string"),
            ("items.friendlyName", "string"),
            ("items.productType", "object"),
            ("items.productType.id", "string"),
            ("items.productType.displayName", "string"),
            ("items.quantity", "integer"),
            ("items.unitType", "string"),
            ("items.hasPurchasableAddons", "boolean"),
            ("items.creationDate", "string"),
            ("items.effectiveStartDate", "string"),
            ("items.commitmentEndDate", "string"),
            ("items.cancellationAllowedUntilDate", "string"),
            ("items.billingCycleEndDate", "string"),
            ("items.status", "string"),
            ("items.autoRenewEnabled", "boolean"),
            ("items.isTrial", "boolean"),
            ("items.billingType", "string"),
            ("items.billingCycle", "string"),
            ("items.termDuration", "string"),
            ("items.renewalTermDuration", "string"),
            ("items.isMicrosoftProduct", "boolean"),
            ("items.partnerId", "string"),
            ("items.attentionNeeded", "boolean"),
            ("items.contractType", "string"),
            ("items.publisherName", "string"),
            ("items.promotionId", "string"),
            ("items.orderId", "string"),
        ],
    },
    Original {
        operation_id: "GetCustomerOrders",
        method: "get",
        path: "/v1/customers/{CustomerTenantID}/orders",
        parameters: &[("CustomerTenantID", "path", "string", true)],
        response: &[
            ("totalCount", "integer"),
            ("items", "array"),
            ("items.id", "string"),
            ("items.alternateId", "string"),
            ("items.referenceCustomerId", "string"),
            ("items.billingCycle", "string"),
            ("items.currencyCode", "string"),
            ("items.currencySymbol", "string"),
            ("items.lineItems", "array"),
            ("items.lineItems.lineItemNumber", "integer"),
            ("items.lineItems.offerId", "string"),
            ("items.lineItems.subscriptionId", "string"),
            ("items.lineItems.termDuration", "string"),
            ("items.lineItems.promotionId", "string"),
            ("items.lineItems.customTermEndDate", "string"),
            ("items.lineItems.transactionType", "string"),
            ("items.lineItems.friendlyName", "string"),
            ("items.lineItems.quantity", "integer"),
            ("items.creationDate", "string"),
            ("items.status", "string"),
            ("items.transactionType", "string"),
        ],
    },
    Original {
        operation_id: "GetCustomerDetails",
        method: "get",
        path: "/v1/customers/{CustomerTenantID}",
        parameters: &[("CustomerTenantID", "path", "string", true)],
        response: &[
            ("id", "string"),
            ("commerceId", "string"),
            ("companyProfile", "object"),
            ("companyProfile.tenantId", "string"),
            ("companyProfile.companyName", "string"),
            ("companyProfile.domain", "string"),
            ("companyProfile.address", "object"),
            ("companyProfile.address.country", "string"),
            ("companyProfile.address.region", "string"),
            ("companyProfile.address.city", "string"),
            ("companyProfile.address.state", "string"),
            ("companyProfile.address.addressLine1", "string"),
            ("companyProfile.address.postalCode", "string"),
            ("companyProfile.address.phoneNumber", "string"),
            ("companyProfile.email", "string"),
            ("billingProfile", "object"),
            ("billingProfile.id", "string"),
            ("billingProfile.firstName", "string"),
            ("billingProfile.lastName", "string"),
            ("billingProfile.email", "string"),
            ("billingProfile.culture", "string"),
            ("billingProfile.language", "string"),
            ("billingProfile.companyName", "string"),
            ("billingProfile.defaultAddress", "object"),
            ("billingProfile.defaultAddress.country", "string"),
            ("billingProfile.defaultAddress.region", "string"),
            ("billingProfile.defaultAddress.city", "string"),
            ("billingProfile.defaultAddress.state", "string"),
            ("billingProfile.defaultAddress.addressLine1", "string"),
            ("billingProfile.defaultAddress.postalCode", "string"),
            ("billingProfile.defaultAddress.firstName", "string"),
            ("billingProfile.defaultAddress.lastName", "string"),
            ("billingProfile.defaultAddress.phoneNumber", "string"),
            ("relationshipToPartner", "string"),
            ("allowDelegatedAccess", "boolean"),
            ("customDomains", "array"),
        ],
    },
];

#[test]
fn the_original_connectors_operations_parameters_and_response_fields_are_unchanged() {
    for (locale, auth, doc) in variants() {
        for original in ORIGINAL {
            let at = format!("{locale}/{auth} {}", original.operation_id);
            let op = doc["paths"][original.path]
                .get(original.method)
                .unwrap_or_else(|| panic!("{at}: {} {} is gone", original.method, original.path));
            assert_eq!(op["operationId"], original.operation_id, "{at}");
            let parameters = op["parameters"].as_array().unwrap();
            for (name, location, kind, required) in original.parameters {
                let p = parameters
                    .iter()
                    .find(|p| p["name"] == *name)
                    .unwrap_or_else(|| panic!("{at}: parameter {name} is gone"));
                assert_eq!(p["in"], *location, "{at}: {name}");
                assert_eq!(p["type"], *kind, "{at}: {name}");
                assert_eq!(p["required"], *required, "{at}: {name}");
            }
            // A parameter the original lacks must not be required, or existing flows would stop validating.
            for p in parameters {
                let known = original.parameters.iter().any(|(n, ..)| p["name"] == *n);
                assert!(
                    known || p["required"] == false,
                    "{at}: new required {}",
                    p["name"]
                );
            }
            let root = &op["responses"]["200"]["schema"];
            for (path, kind) in original.response {
                let schema = property(&doc, root, path)
                    .unwrap_or_else(|| panic!("{at}: response field {path} is gone"));
                assert_eq!(json_type(&doc, schema), *kind, "{at}: type of {path}");
            }
        }
    }
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Sentence case: a capital first letter and lower-case words after it, proper nouns and acronyms aside.
fn is_sentence_case(text: &str) -> bool {
    const PROPER: [&str; 4] = [
        "Microsoft Customer Agreement",
        "Contrato de Cliente Microsoft",
        "ID",
        "Partner Center",
    ];
    let mut rest = text.to_owned();
    for noun in PROPER {
        rest = rest.replace(noun, "x");
    }
    text.chars().next().is_some_and(char::is_uppercase)
        && words(&rest)
            .skip(1)
            .all(|w| !w.chars().next().unwrap().is_uppercase())
}

#[test]
fn strings_follow_microsofts_connector_guidance() {
    let mut ids = HashSet::new();
    for (locale, auth, doc) in variants() {
        let at = format!("{locale}/{auth}");
        let title = doc["info"]["title"].as_str().unwrap();
        assert!(title.chars().count() <= 30, "{at}: title {title}");
        for text in [title, doc["info"]["description"].as_str().unwrap()] {
            assert!(!words(text).any(|w| w == "API"), "{at}: {text}");
        }
        ids.clear();
        for (path, method, op) in operations(&doc) {
            let at = format!("{at} {method} {path}");
            let id = op["operationId"].as_str().unwrap();
            assert!(
                ids.insert(id.to_owned()),
                "{at}: duplicate operationId {id}"
            );
            assert!(
                id.chars().next().unwrap().is_ascii_uppercase()
                    && id.chars().all(|c| c.is_ascii_alphanumeric()),
                "{at}: {id} is not PascalCase"
            );
            let summary = op["summary"].as_str().unwrap();
            assert!(summary.chars().count() <= 80, "{at}: {summary}");
            assert!(!summary.contains('/'), "{at}: {summary}");
            assert!(
                summary.chars().last().unwrap().is_alphanumeric(),
                "{at}: {summary}"
            );
            assert!(
                is_sentence_case(summary),
                "{at}: {summary:?} is not sentence case"
            );
            assert!(op["description"].as_str().unwrap().ends_with('.'), "{at}");
            for p in op["parameters"].as_array().unwrap() {
                let label = p["x-ms-summary"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{at}: {p} has no x-ms-summary"));
                assert!(
                    label.chars().count() <= 80 && !label.ends_with('.'),
                    "{at}: {label}"
                );
                assert!(
                    p["description"].as_str().unwrap().ends_with('.'),
                    "{at}: {p}"
                );
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                let d = response["description"].as_str().unwrap();
                assert!(d.ends_with('.'), "{at} {status}: {d}");
            }
        }
        for (name, definition) in doc["definitions"].as_object().unwrap() {
            assert!(
                definition["description"].as_str().unwrap().ends_with('.'),
                "{at} {name}"
            );
            for (key, p) in definition["properties"].as_object().unwrap() {
                let at = format!("{at} {name}.{key}");
                let label = p["x-ms-summary"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{at}: no x-ms-summary"));
                assert!(
                    label.chars().count() <= 80 && !label.ends_with('.'),
                    "{at}: {label}"
                );
                assert_eq!(p["title"], p["x-ms-summary"], "{at}");
                assert!(p["description"].as_str().unwrap().ends_with('.'), "{at}");
            }
        }
    }
}

fn visit<'a>(value: &'a Value, at: String, seen: &mut impl FnMut(&str, &'a str, &'a Value)) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                seen(&at, key, v);
                visit(v, format!("{at}/{key}"), seen);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                visit(v, format!("{at}/{i}"), seen);
            }
        }
        _ => {}
    }
}

#[test]
fn the_definition_has_only_what_swagger_2_and_power_platform_accept() {
    for (locale, auth, doc) in variants() {
        let at = format!("{locale}/{auth}");
        assert_eq!(doc["swagger"], "2.0");
        assert_eq!(doc["host"], EXPORT_HOST);
        assert_eq!(doc["basePath"], "/");
        assert_eq!(doc["schemes"], serde_json::json!(["https"]));
        let size = export::pretty(&doc).len();
        assert!(
            size < 1024 * 1024,
            "{at}: {size} bytes; Power Platform takes under 1 MB"
        );
        visit(&doc, String::new(), &mut |path, key, value| {
            assert!(
                !["oneOf", "anyOf", "nullable", "const", "$defs"].contains(&key),
                "{at}: {key} at {path}"
            );
            if key == "type" && path.contains("properties") {
                assert!(
                    value.is_string() || path.ends_with("/properties"),
                    "{at}: type {value} at {path}"
                );
            }
            if key == "$ref" {
                let name = value
                    .as_str()
                    .unwrap()
                    .strip_prefix("#/definitions/")
                    .unwrap();
                assert!(
                    doc["definitions"].get(name).is_some(),
                    "{at}: dangling $ref {name} at {path}"
                );
            }
        });
        for (path, method, op) in operations(&doc) {
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.contains_key("default"), "{at} {method} {path}");
            let success: Vec<_> = responses.keys().filter(|s| s.starts_with('2')).collect();
            assert_eq!(success.len(), 1, "{at} {method} {path}");
            assert!(
                responses[success[0]].get("schema").is_some(),
                "{at} {method} {path}"
            );
            for p in op["parameters"].as_array().unwrap() {
                if p["in"] == "path" {
                    assert_eq!(p["x-ms-url-encoding"], "single", "{at} {path}");
                    assert_eq!(p["required"], true, "{at} {path}");
                }
            }
        }
        let paged: BTreeSet<&str> = operations(&doc)
            .into_iter()
            .filter(|(_, _, op)| op.get("x-ms-pageable").is_some())
            .map(|(_, _, op)| op["operationId"].as_str().unwrap())
            .collect();
        assert_eq!(paged, BTreeSet::from(connector::PAGED_OPERATIONS), "{at}");
        for id in connector::PAGED_OPERATIONS {
            let op = operation(&doc, id);
            assert_eq!(op["x-ms-pageable"]["nextLinkName"], "nextLink");
            assert!(
                property(&doc, &op["responses"]["200"]["schema"], "nextLink").is_some(),
                "{at} {id}"
            );
        }
        let (scheme, definition) = doc["securityDefinitions"]
            .as_object()
            .unwrap()
            .iter()
            .next()
            .unwrap();
        assert_eq!(doc["securityDefinitions"].as_object().unwrap().len(), 1);
        assert!(doc["security"][0].get(scheme).is_some());
        match auth {
            Auth::ApiKey => {
                assert_eq!(definition["type"], "apiKey");
                assert_eq!(
                    (&definition["in"], &definition["name"]),
                    (&"header".into(), &"X-API-Key".into())
                );
            }
            Auth::OAuth => assert_eq!(definition["type"], "oauth2"),
        }
    }
}

#[test]
fn the_agreement_template_is_picked_from_get_agreement_metadata() {
    let doc = definition(Locale::EnUs, Auth::ApiKey);
    let confirm = operation(&doc, "ConfirmCustomerAgreement");
    let body = confirm["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["in"] == "body")
        .expect("a body parameter");
    assert_eq!(body["required"], true);
    let template = property(&doc, &body["schema"], "templateId").unwrap();
    let dynamic = &template["x-ms-dynamic-values"];
    let source = operation(&doc, dynamic["operationId"].as_str().unwrap());
    assert_eq!(source["operationId"], "GetAgreementMetadata");
    let root = &source["responses"]["200"]["schema"];
    let collection = dynamic["value-collection"].as_str().unwrap();
    for field in ["value-path", "value-title"] {
        let path = format!("{collection}.{}", dynamic[field].as_str().unwrap());
        assert!(property(&doc, root, &path).is_some(), "{path}");
    }
    for (name, _) in dynamic["parameters"].as_object().unwrap() {
        assert!(
            source["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == *name)
        );
    }
    let required: Vec<_> = resolve(&doc, &body["schema"])["required"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    for field in ["primaryContact", "templateId", "dateAgreed", "type"] {
        assert!(required.contains(&&Value::from(field)), "{field}");
    }
}

#[test]
fn portuguese_uses_the_seed_pages_wording_and_leaves_nothing_in_english() {
    let pt = definition(Locale::PtBr, Auth::ApiKey);
    for (id, summary) in [
        ("GetCustomerSubscription", "Obter assinaturas do cliente"),
        ("GetCustomerDetails", "Obter detalhes do cliente"),
        ("GetInvoices", "Obter faturas"),
        ("GetCustomerOrders", "Obter pedidos de clientes"),
        ("GetAllCustomers", "Obter todos os clientes"),
        (
            "GetCustomerSubscriptionsByPartner",
            "Obter as assinaturas de um cliente pela ID do parceiro",
        ),
    ] {
        assert_eq!(operation(&pt, id)["summary"], summary);
    }
    let details = operation(&pt, "GetCustomerDetails");
    assert_eq!(
        details["parameters"][0]["x-ms-summary"],
        "ID do locatário do cliente"
    );
    let root = &details["responses"]["200"]["schema"];
    for (path, label) in [
        ("companyProfile.tenantId", "ID do locatário"),
        (
            "billingProfile.defaultAddress.country",
            "País (Perfil de Cobrança)",
        ),
        ("allowDelegatedAccess", "Permitir acesso delegado"),
    ] {
        assert_eq!(
            property(&pt, root, path).unwrap()["x-ms-summary"],
            label,
            "{path}"
        );
    }
    let subscriptions = &operation(&pt, "GetCustomerSubscription")["responses"]["200"]["schema"];
    assert_eq!(
        property(&pt, subscriptions, "totalCount").unwrap()["x-ms-summary"],
        "Contagem total"
    );

    // The catalog translates exactly the texts this build shows: none missing (localize would have failed),
    // none left over from texts that no longer exist.
    let mut english = BTreeSet::new();
    for auth in Auth::ALL {
        english.extend(locale::texts(&definition(Locale::EnUs, auth)));
        english.extend(locale::texts(
            &connector::api_properties(Locale::EnUs, auth).unwrap(),
        ));
    }
    let catalog: BTreeSet<String> = locale::catalog(Locale::PtBr)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let stale: Vec<_> = catalog.difference(&english).collect();
    assert!(
        stale.is_empty(),
        "pt-BR.json translates texts the connector no longer has: {stale:?}"
    );
}

#[test]
fn connection_parameters_match_the_definitions_security() {
    for locale in Locale::ALL {
        let key = connector::api_properties(locale, Auth::ApiKey).unwrap();
        let p = &key["properties"];
        assert_eq!(p["connectionParameters"]["api_key"]["type"], "securestring");
        assert_eq!(p["connectionParameters"].as_object().unwrap().len(), 1);

        let oauth = connector::api_properties(locale, Auth::OAuth).unwrap();
        let settings = &oauth["properties"]["connectionParameters"]["token"]["oAuthSettings"];
        assert_eq!(settings["identityProvider"], "aad");
        assert_eq!(
            settings["customParameters"]["resourceUri"]["value"],
            "https://api.partnercenter.microsoft.com"
        );
        assert_eq!(
            settings["properties"]["AzureActiveDirectoryResourceId"],
            "https://api.partnercenter.microsoft.com"
        );

        for props in [&key, &oauth] {
            let color = props["properties"]["iconBrandColor"].as_str().unwrap();
            assert!(
                color.len() == 7
                    && color.starts_with('#')
                    && color[1..].chars().all(|c| c.is_ascii_hexdigit())
            );
            let policy = &props["properties"]["policyTemplateInstances"][0];
            assert_eq!(policy["templateId"], "updatenextlink");
            assert_eq!(
                policy["parameters"]["x-ms-apimTemplateParameter.nextLinkPropertyName"],
                "nextLink"
            );
            assert_eq!(
                policy["parameters"]["x-ms-apimTemplate-operationName"],
                serde_json::json!(connector::PAGED_OPERATIONS)
            );
        }
    }
    assert_eq!(
        connector::api_properties(Locale::PtBr, Auth::ApiKey).unwrap()["properties"]["connectionParameters"]
            ["api_key"]["uiDefinition"]["displayName"],
        "Chave de API"
    );
}

#[test]
fn the_icon_is_a_square_png_and_settings_name_the_packages_files() {
    let icon = connector::ICON;
    assert_eq!(&icon[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(icon[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(icon[20..24].try_into().unwrap());
    assert_eq!(width, height);
    assert!((100..=230).contains(&width), "{width}");
    let files = export::package(
        &document::openapi(),
        Locale::EnUs,
        Auth::ApiKey,
        &Target::parse(EXPORT_HOST).unwrap(),
    )
    .unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    let settings = connector::settings();
    for key in ["apiDefinition", "apiProperties", "icon"] {
        assert!(names.contains(&settings[key].as_str().unwrap()), "{key}");
    }
}

#[test]
fn snapshots_of_both_documents() {
    insta::assert_json_snapshot!("openapi-3.1", document::openapi());
    insta::assert_json_snapshot!(
        "swagger-2.0-en-US-api-key",
        definition(Locale::EnUs, Auth::ApiKey)
    );
    insta::assert_json_snapshot!(
        "swagger-2.0-pt-BR-oauth",
        definition(Locale::PtBr, Auth::OAuth)
    );
}

/// The committed `openapi/` folder is what this build exports; `UPDATE_EXPORTS=1 cargo test --test gateway connector`
/// rewrites it.
#[test]
fn the_committed_exports_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
    let update = std::env::var_os("UPDATE_EXPORTS").is_some();
    let openapi = document::openapi();
    let mut expected = vec![(root.join("openapi.json"), export::pretty(&openapi))];
    for locale in Locale::ALL {
        for auth in Auth::ALL {
            let dir = root.join(locale.tag()).join(auth.name());
            for (name, bytes) in
                export::package(&openapi, locale, auth, &Target::parse(EXPORT_HOST).unwrap())
                    .unwrap()
            {
                expected.push((dir.join(name), bytes));
            }
        }
    }
    let mut stale = Vec::new();
    for (path, bytes) in expected {
        if std::fs::read(&path).ok().as_deref() == Some(&bytes[..]) {
            continue;
        }
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
        } else {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale exports (run `UPDATE_EXPORTS=1 cargo test --test gateway connector` and commit openapi/): {stale:#?}"
    );
}
