//! The OpenAPI 3.1 document: utoipa generates it from the operations' `#[utoipa::path]` declarations (collected
//! by `routes!` in the routes, which hand it to [`finish`]) and the [`models`](super::models); [`finish`] adds
//! the display names.

use serde_json::Value;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, AuthorizationCode, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes,
    SecurityScheme,
};
use utoipa::{Modify, OpenApi};

use super::display;
use super::models::{AuditRecordBatch, GatewayError, PartnerCenterError, RateLimitError};

/// Partner Center's resource: the audience of the tokens the OAuth variant passes through.
pub const PARTNER_CENTER_RESOURCE: &str = "https://api.partnercenter.microsoft.com";
/// The delegated permission an Entra application asks for to call Partner Center as a user.
pub const PARTNER_CENTER_SCOPE: &str = "https://api.partnercenter.microsoft.com/user_impersonation";
pub const API_KEY_SCHEME: &str = "api_key";
pub const OAUTH_SCHEME: &str = "oauth2";
pub const BEARER_SCHEME: &str = "bearer";
pub const API_KEY_HEADER: &str = "X-API-Key";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Partner Center Gateway",
        description = "Reads customers, their subscriptions, orders and agreements, and the partner's invoices from Microsoft Partner Center, confirms customers' acceptance of the Microsoft Customer Agreement, and starts flows when customers, orders and subscriptions change.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(GatewayError, RateLimitError, PartnerCenterError, AuditRecordBatch)),
    modifiers(&SecuritySchemes),
    security(("api_key" = []), ("oauth2" = ["https://api.partnercenter.microsoft.com/user_impersonation"]), ("bearer" = [])),
    tags(
        (name = "Customers", description = "Customers, their subscriptions and orders."),
        (name = "Billing", description = "The partner's invoices."),
        (name = "Agreements", description = "Customer agreements and their templates."),
        (name = "Triggers", description = "Polling triggers on Partner Center's activity log: new customers, orders, subscription changes and any other activity."),
    ),
)]
struct ApiDoc;

/// Either kind of credential authenticates a call: an API key the gateway's administrator issued, or
/// an Entra token for Partner Center's resource, as the original connector's connections carried. The token has
/// two schemes: `oauth2` for clients that sign the maker in (Power Platform), and `bearer` for one pasted as it
/// is, which is how Swagger UI's "Try it out" reaches the pass-through path (the sandbox issues such tokens).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut api_key = ApiKeyValue::new(API_KEY_HEADER);
        api_key.description =
            Some("The API key the gateway's administrator issued for your connection.".into());
        components.add_security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(api_key)),
        );
        let flow = AuthorizationCode::new(
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
            "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            Scopes::from_iter([(
                PARTNER_CENTER_SCOPE,
                "Call Partner Center as the signed-in user.",
            )]),
        );
        components.add_security_scheme(
            OAUTH_SCHEME,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::AuthorizationCode(flow)],
                "An Entra ID token for Partner Center, passed through to Partner Center.",
            )),
        );
        components.add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An Entra ID access token for Partner Center (audience https://api.partnercenter.microsoft.com), pasted as it is and passed through to Partner Center. With the sandbox profile, POST /sandbox/users/{name}/token returns one for a made-up maker.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document before the operations are added (the router adds them).
pub fn base() -> utoipa::openapi::OpenApi {
    let mut api = ApiDoc::openapi();
    api.info.version = env!("CARGO_PKG_VERSION").into();
    api
}

/// The document as served at `/openapi.json` and converted for Power Platform: utoipa's, with every schema
/// property labelled from [`display`]. Fails on a property without a label or a label without a property.
pub fn finish(api: &utoipa::openapi::OpenApi) -> Result<Value, String> {
    let mut doc = serde_json::to_value(api).map_err(|e| e.to_string())?;
    allow_empty_optional_queries(&mut doc);
    sort_extensions(&mut doc);
    let schemas = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .ok_or("the document has no schemas")?;
    let mut problems = Vec::new();
    for (name, schema) in schemas.iter_mut() {
        let labels: Vec<&(&str, &str)> = display::NAMES
            .iter()
            .filter(|(schema, _)| schema == name)
            .flat_map(|(_, labels)| labels.iter())
            .collect();
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for (property, value) in properties.iter_mut() {
            let Some((_, label)) = labels.iter().find(|(p, _)| p == property) else {
                problems.push(format!("{name}.{property} has no display name"));
                continue;
            };
            let value = value
                .as_object_mut()
                .ok_or("a property that is not a schema")?;
            value.insert("x-ms-summary".into(), (*label).into());
            let visibility = if display::IMPORTANT.contains(&(name.as_str(), property.as_str())) {
                Some("important")
            } else if display::INTERNAL.contains(&(name.as_str(), property.as_str()))
                || display::INTERNAL_EVERYWHERE.contains(&property.as_str())
            {
                Some("internal")
            } else {
                None
            };
            if let Some(visibility) = visibility {
                value.insert("x-ms-visibility".into(), visibility.into());
            }
        }
    }
    let has = |schema: &str, property: &str| {
        schemas
            .get(schema)
            .and_then(|s| s.pointer(&format!("/properties/{property}")))
            .is_some()
    };
    for (schema, labels) in display::NAMES {
        for (property, _) in *labels {
            if !has(schema, property) {
                problems.push(format!(
                    "display name for {schema}.{property}, which does not exist"
                ));
            }
        }
    }
    for (schema, property) in display::IMPORTANT.iter().chain(display::INTERNAL) {
        if !has(schema, property) {
            problems.push(format!(
                "visibility for {schema}.{property}, which does not exist"
            ));
        }
    }
    if problems.is_empty() {
        Ok(doc)
    } else {
        Err(problems.join("; "))
    }
}

/// An optional query parameter sent empty (`Size=`) is taken as absent (see [`crate::edge::QueryParams`]),
/// for every operation alike, so the documents say it here once rather than on each declaration (utoipa has no
/// attribute for it). Clients and fuzzers then know that `Size=` is a valid request, not a malformed one.
fn allow_empty_optional_queries(doc: &mut Value) {
    let operations = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for operation in operations {
        let parameters = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut);
        for parameter in parameters {
            let optional = parameter.get("required").and_then(Value::as_bool) != Some(true);
            if parameter.get("in").and_then(Value::as_str) == Some("query") && optional {
                parameter.insert("allowEmptyValue".into(), true.into());
            }
        }
    }
}

/// utoipa keeps extensions in a hash map, so their order changes from run to run; sorted, the document is the
/// same bytes every time, which the committed exports and snapshots rely on.
fn sort_extensions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut extensions: Vec<(String, Value)> = Vec::new();
            for key in map
                .keys()
                .filter(|k| k.starts_with("x-"))
                .cloned()
                .collect::<Vec<_>>()
            {
                let value = map.shift_remove(&key).expect("the key was just listed");
                extensions.push((key, value));
            }
            extensions.sort_by(|a, b| a.0.cmp(&b.0));
            map.extend(extensions);
            map.values_mut().for_each(sort_extensions);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_extensions),
        _ => {}
    }
}

/// Where a client reaches the gateway: the document's one `servers` entry, right after `info` where people look.
pub fn set_server(doc: &mut Value, url: &str, description: Option<&str>) {
    let mut server = serde_json::Map::new();
    server.insert("url".into(), url.into());
    if let Some(description) = description {
        server.insert("description".into(), description.into());
    }
    let Value::Object(map) = doc else { return };
    map.shift_remove("servers");
    let at = map.keys().position(|k| k == "info").map_or(0, |i| i + 1);
    map.shift_insert(
        at,
        "servers".into(),
        Value::Array(vec![Value::Object(server)]),
    );
}

/// Where a gateway started with `cargo run` answers (the default `server.listen`; a configuration test holds
/// the two equal). A committed document has no address of its own, so it names this one: a client generated
/// from the file calls the sandbox as it is. A running gateway's `/openapi.json` names its own address instead.
pub const LOCAL_SERVER: &str = "http://127.0.0.1:8080";

/// What the committed document says of [`LOCAL_SERVER`].
pub const LOCAL_SERVER_DESCRIPTION: &str = "A gateway started with `cargo run` on this machine (the sandbox profile). A running gateway's /openapi.json names its own address.";

/// Adds the sandbox's try-it-out operation (and its tag) to a finished document.
pub fn add_demo(doc: &mut Value, demo: &utoipa::openapi::OpenApi) -> Result<(), String> {
    let demo = serde_json::to_value(demo).map_err(|e| e.to_string())?;
    let paths = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .ok_or("the document has no paths")?;
    for (path, item) in demo["paths"].as_object().into_iter().flatten() {
        if paths.insert(path.clone(), item.clone()).is_some() {
            return Err(format!("{path} is both an operation and a sandbox route"));
        }
    }
    if let Some(tags) = doc.get_mut("tags").and_then(Value::as_array_mut) {
        tags.push(serde_json::json!({
            "name": "Sandbox",
            "description": "The embedded Partner Center sandbox's helpers (sandbox profile only).",
        }));
    }
    Ok(())
}
