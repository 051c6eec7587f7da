//! The Power Platform custom-connector package: the Swagger 2.0 definition with its connector metadata, in one
//! of two languages and for one of two ways to authenticate, and the files that go with it (`apiProperties.json`,
//! `settings.json`, the icon).

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value, json};
use url::Url;

use super::locale::{Locale, localize};
use super::swagger2;
use crate::openapi::display::BOOLEAN_CHOICES;
use crate::openapi::document::{self, API_KEY_SCHEME, OAUTH_SCHEME, PARTNER_CENTER_RESOURCE};

pub const ICON: &[u8] = include_bytes!("icon.png");
/// The original connector's colour; the icon's background is the same.
pub const ICON_BRAND_COLOR: &str = "#da3b01";
/// Operations whose pages the platform's Pagination setting follows (`x-ms-pageable`): the twins that answer
/// `value`. GetAllCustomers and GetInvoices answer `items`, which the platform cannot page, so they do not
/// claim it; their `nextLink` is for clients that page by hand.
pub const PAGED_OPERATIONS: [&str; 2] = ["ListCustomers", "ListInvoices"];

/// How the connector's connections authenticate to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Auth {
    /// A key the gateway's administrator issued, sent as `X-API-Key`.
    ApiKey,
    /// The maker signs in with Entra ID; Power Platform sends a token for Partner Center, as the original did.
    OAuth,
}

impl Auth {
    pub const ALL: [Auth; 2] = [Auth::ApiKey, Auth::OAuth];

    pub fn name(self) -> &'static str {
        match self {
            Auth::ApiKey => "api-key",
            Auth::OAuth => "oauth",
        }
    }
}

impl fmt::Display for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Auth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Auth::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown authentication {s:?}: use api-key or oauth"))
    }
}

/// Where makers reach the gateway: the definition's `host`, `basePath` and `schemes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target(Url);

impl Target {
    /// `host`, `host:port` (HTTPS, which Power Platform requires) or a whole URL such as
    /// `https://gw.example.com/partner-center`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let with_scheme = if raw.contains("://") {
            raw.to_owned()
        } else {
            format!("https://{raw}")
        };
        let url = Url::parse(&with_scheme).map_err(|e| format!("{raw:?} is not a host: {e}"))?;
        let plain = url.host_str().is_some()
            && url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none()
            && matches!(url.scheme(), "http" | "https");
        if plain {
            Ok(Self(url))
        } else {
            Err(format!(
                "{raw:?} is not a host such as gw.example.com or https://gw.example.com/base"
            ))
        }
    }

    pub fn url(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }
}

/// The Swagger 2.0 definition Power Platform imports, built from the finished OpenAPI 3.1 document.
pub fn api_definition(
    openapi: &Value,
    locale: Locale,
    auth: Auth,
    target: &Target,
) -> Result<Value, String> {
    let mut source = openapi.clone();
    document::set_server(&mut source, target.url(), None);
    for_power_platform(&mut source)?;
    let converted = swagger2::convert(&source).map_err(|e| e.to_string())?;
    let Value::Object(mut converted) = converted else {
        unreachable!("the converter answers an object")
    };

    // Power Platform reads the connector's page details from here; the categories are its fixed names.
    let metadata = json!([
        {"propertyName": "Website", "propertyValue": "https://learn.microsoft.com/partner-center/developer/"},
        {"propertyName": "Privacy policy", "propertyValue": "https://privacy.microsoft.com/privacystatement"},
        {"propertyName": "Categories", "propertyValue": "IT Operations;Business Management"}
    ]);
    let mut doc = Map::new();
    for (key, value) in std::mem::take(&mut converted) {
        let after_info = key == "info";
        // Tags group operations in Swagger UI; the designer has no use for them.
        if key != "tags" {
            doc.insert(key, value);
        }
        if after_info {
            doc.insert("x-ms-connector-metadata".into(), metadata.clone());
        }
    }

    let scheme = match auth {
        Auth::ApiKey => API_KEY_SCHEME,
        Auth::OAuth => OAUTH_SCHEME,
    };
    let definitions = doc
        .get_mut("securityDefinitions")
        .and_then(Value::as_object_mut)
        .ok_or("no security definitions")?;
    let definition = definitions
        .remove(scheme)
        .ok_or_else(|| format!("no {scheme} security scheme"))?;
    let scopes: Vec<&String> = definition
        .get("scopes")
        .and_then(Value::as_object)
        .map(|s| s.keys().collect())
        .unwrap_or_default();
    doc["security"] = json!([{ scheme: scopes }]);
    doc["securityDefinitions"] = json!({ scheme: definition });

    let paths = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .ok_or("no paths")?;
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        let Some(operation) = operation.as_object_mut() else {
            continue;
        };
        operation.remove("tags");
        operation.remove("security");
        for parameter in operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            // Power Platform encodes path values once, as the gateway decodes them; a GUID is unaffected, but a
            // value with a slash must not become two path segments.
            if parameter["in"] == "path" {
                parameter["x-ms-url-encoding"] = "single".into();
            }
        }
    }

    let mut doc = Value::Object(doc);
    localize(&mut doc, locale)?;
    Ok(doc)
}

/// What the designer reads that the OpenAPI 3.1 document does without, added to the 3.1 schemas before they are
/// converted (so that the converter carries them wherever a schema ends up): the original connector's `title` on
/// every property (the designer reads it or `x-ms-summary`), and its `enum: [true, false]` on the booleans it
/// offers as a choice.
fn for_power_platform(source: &mut Value) -> Result<(), String> {
    let schemas = source
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .ok_or("the document has no schemas")?;
    for schema in schemas.values_mut() {
        titles(schema);
    }
    for (schema, property) in BOOLEAN_CHOICES {
        let value = schemas
            .get_mut(*schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{property}")))
            .filter(|p| match &p["type"] {
                Value::String(kind) => kind == "boolean",
                Value::Array(kinds) => kinds.contains(&Value::from("boolean")),
                _ => false,
            })
            .ok_or_else(|| {
                format!("boolean choices for {schema}.{property}, which is not a boolean")
            })?;
        value["enum"] = json!([true, false]);
    }
    Ok(())
}

fn titles(schema: &mut Value) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for property in properties.values_mut() {
        if let Some(label) = property.get("x-ms-summary").cloned() {
            property["title"] = label;
        }
        titles(property);
    }
}

/// `apiProperties.json`: the connection's parameters, the icon colour, and the policy that routes `nextLink`s
/// through the connector.
pub fn api_properties(locale: Locale, auth: Auth) -> Result<Value, String> {
    let connection_parameters = match auth {
        Auth::ApiKey => json!({
            "api_key": {
                "type": "securestring",
                "uiDefinition": {
                    "displayName": "API Key",
                    "description": "The API key the gateway's administrator issued for this connection.",
                    "tooltip": "Ask the gateway's administrator for a key.",
                    "constraints": {"tabIndex": 2, "clearText": false, "required": "true"}
                }
            }
        }),
        // As the original connector: Entra ID sign-in for Partner Center's resource, one connection per user.
        Auth::OAuth => json!({
            "token": {
                "type": "oauthSetting",
                "oAuthSettings": {
                    "identityProvider": "aad",
                    "clientId": "<your Entra application (client) ID>",
                    "scopes": [],
                    "redirectMode": "Global",
                    "redirectUrl": "https://global.consent.azure-apim.net/redirect",
                    "properties": {
                        "IsFirstParty": "False",
                        "AzureActiveDirectoryResourceId": PARTNER_CENTER_RESOURCE,
                        "IsOnbehalfofLoginSupported": true
                    },
                    "customParameters": {
                        "loginUri": {"value": "https://login.microsoftonline.com"},
                        "tenantId": {"value": "common"},
                        "resourceUri": {"value": PARTNER_CENTER_RESOURCE}
                    }
                }
            },
            "token:TenantId": {
                "type": "string",
                "metadata": {"sourceType": "AzureActiveDirectoryTenant"},
                "uiDefinition": {"constraints": {"required": "false", "hidden": "true"}}
            }
        }),
    };
    let mut properties = json!({
        "properties": {
            "connectionParameters": connection_parameters,
            "iconBrandColor": ICON_BRAND_COLOR,
            "capabilities": [],
            "policyTemplateInstances": [{
                "templateId": "updatenextlink",
                "title": "Route nextLink through the connector",
                "parameters": {
                    "x-ms-apimTemplate-operationName": PAGED_OPERATIONS,
                    "x-ms-apimTemplateParameter.nextLinkPropertyName": "nextLink"
                }
            }]
        }
    });
    localize(&mut properties, locale)?;
    Ok(properties)
}

/// `settings.json` for `paconn create --settings`; the environment is the maker's to add (or `--env`).
pub fn settings() -> Value {
    json!({
        "apiDefinition": "apiDefinition.swagger.json",
        "apiProperties": "apiProperties.json",
        "icon": "icon.png",
        "powerAppsUrl": "https://api.powerapps.com",
        "powerAppsApiVersion": "2016-11-01",
        "flowUrl": "https://api.flow.microsoft.com",
        "flowApiVersion": "2016-11-01"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_hosts_or_base_urls_and_default_to_https() {
        assert_eq!(
            Target::parse("gw.example.com").unwrap().url(),
            "https://gw.example.com"
        );
        assert_eq!(
            Target::parse("http://127.0.0.1:8080").unwrap().url(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            Target::parse("https://gw.example.com/pc/").unwrap().url(),
            "https://gw.example.com/pc"
        );
        for bad in [
            "",
            "https://",
            "ftp://gw.example.com",
            "https://u:p@gw.example.com",
            "gw.example.com/?x=1",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
