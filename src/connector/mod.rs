//! The gateway described for people and for Power Platform.
//!
//! - The OpenAPI 3.1 document (see [`crate::openapi`]) is served at `/openapi.json`, with Swagger UI at
//!   `/swagger-ui`.
//! - [`swagger2`]: our converter from OpenAPI 3.1 to Swagger 2.0, the only version Power Platform imports.
//! - [`package`]: the custom-connector package (definition with connector metadata, `apiProperties.json`,
//!   `settings.json`, icon) for either authentication, in either [`locale`]; [`export`] writes it to a folder.
//!
//! Every document is built once, when the router is built; serving one is a copy of bytes.

pub mod export;
pub mod locale;
pub mod package;
pub(crate) mod swagger2;

use std::collections::HashMap;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::edge::{Gateway, LinkBase};
use crate::error::AppError;
use crate::openapi::document;
use locale::Locale;
use package::{self as connector, Auth, Target};

pub const OPENAPI_PATH: &str = "/openapi.json";

/// The served documents, built once.
#[derive(Clone)]
pub struct Documents {
    /// The served OpenAPI document, server aside.
    openapi: Value,
    /// The same, serialized, when the configuration names the public URL and so the server is known.
    openapi_fixed: Option<Bytes>,
    /// The connector definition for each language and authentication, host aside.
    definitions: HashMap<(Locale, Auth), Value>,
    /// The same, serialized, when the configuration names the public URL and so the host is known.
    fixed: Option<HashMap<(Locale, Auth), Bytes>>,
    properties: HashMap<(Locale, Auth), Bytes>,
}

impl Documents {
    /// `api` is the router's document; `public_base_url` is `server.public_base_url`, the connector's host.
    pub fn build(
        api: utoipa::openapi::OpenApi,
        public_base_url: Option<&str>,
        demo: Option<&utoipa::openapi::OpenApi>,
    ) -> Result<Self, String> {
        let openapi = document::finish(&api)?;
        let target = public_base_url.map(Target::parse).transpose()?;
        // Until a request names a host, a placeholder stands in; it is replaced before anything is served.
        let placeholder = Target::parse("localhost").expect("a valid host");
        let mut definitions = HashMap::new();
        let mut properties = HashMap::new();
        for locale in Locale::ALL {
            for auth in Auth::ALL {
                let definition = connector::api_definition(
                    &openapi,
                    locale,
                    auth,
                    target.as_ref().unwrap_or(&placeholder),
                )?;
                definitions.insert((locale, auth), definition);
                let props = connector::api_properties(locale, auth)?;
                properties.insert((locale, auth), Bytes::from(export::pretty(&props)));
            }
        }
        let fixed = target.is_some().then(|| {
            definitions
                .iter()
                .map(|(key, doc)| (*key, Bytes::from(export::pretty(doc))))
                .collect()
        });
        // The sandbox's try-it-out route joins the served document only: makers import the operations, and
        // the committed export describes every profile.
        let mut served = openapi;
        if let Some(demo) = demo {
            document::add_demo(&mut served, demo)?;
        }
        let openapi_fixed = target.as_ref().map(|target| {
            let mut doc = served.clone();
            document::set_server(&mut doc, target.url(), None);
            Bytes::from(export::pretty(&doc))
        });
        Ok(Self {
            openapi: served,
            openapi_fixed,
            definitions,
            fixed,
            properties,
        })
    }
}

#[derive(Deserialize)]
struct Variant {
    locale: Option<String>,
    auth: Option<String>,
}

impl Variant {
    fn parse(self) -> Result<(Locale, Auth), AppError> {
        let locale = match self.locale {
            None => Locale::EnUs,
            Some(raw) => raw.parse().map_err(|_| {
                AppError::bad_request("InvalidLocale", "locale must be en-US or pt-BR.")
            })?,
        };
        let auth = match self.auth {
            None => Auth::ApiKey,
            Some(raw) => raw.parse().map_err(|_| {
                AppError::bad_request("InvalidAuth", "auth must be api-key or oauth.")
            })?,
        };
        Ok((locale, auth))
    }
}

fn json(bytes: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// `/openapi.json`, Swagger UI, and the connector package's files under `/openapi/connector/`. None of these
/// need an API key: they describe the gateway, they do not call Partner Center.
pub fn router(documents: Documents) -> Router<Gateway> {
    let docs = std::sync::Arc::new(documents);
    let openapi = {
        let docs = docs.clone();
        move |LinkBase(base): LinkBase| {
            let docs = docs.clone();
            async move {
                if let Some(fixed) = &docs.openapi_fixed {
                    return json(fixed.clone());
                }
                // No public URL configured: the server is the one this request reached, as for nextLinks and
                // the connector's host.
                let mut doc = docs.openapi.clone();
                document::set_server(&mut doc, &base, None);
                json(Bytes::from(export::pretty(&doc)))
            }
        }
    };
    let definition = {
        let docs = docs.clone();
        move |variant: Query<Variant>, LinkBase(base): LinkBase| {
            let docs = docs.clone();
            async move {
                let key = variant.0.parse()?;
                if let Some(fixed) = &docs.fixed {
                    return Ok::<_, AppError>(json(fixed[&key].clone()));
                }
                // No public URL configured: the host is the one this request reached, as for nextLinks.
                let target = Target::parse(&base).map_err(|_| {
                    AppError::bad_request("InvalidHost", "The Host header is not a host name.")
                })?;
                let mut doc = docs.definitions[&key].clone();
                let url = url::Url::parse(target.url()).expect("a target is a URL");
                doc["host"] = match url.port() {
                    Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_owned(),
                }
                .into();
                doc["basePath"] = url.path().into();
                doc["schemes"] = serde_json::json!([url.scheme()]);
                Ok(json(Bytes::from(export::pretty(&doc))))
            }
        }
    };
    let properties = {
        let docs = docs.clone();
        move |variant: Query<Variant>| {
            let docs = docs.clone();
            async move { Ok::<_, AppError>(json(docs.properties[&variant.0.parse()?].clone())) }
        }
    };
    // Swagger UI's default sends the document's address to validator.swagger.io and shows its badge: nothing of
    // the page may leave the gateway (the rest of the page is served from here, vendored).
    let swagger_ui =
        SwaggerUi::new("/swagger-ui").config(Config::new([OPENAPI_PATH]).validator_url("none"));
    Router::new()
        .route(OPENAPI_PATH, get(openapi))
        .route(
            "/openapi/connector/apiDefinition.swagger.json",
            get(definition),
        )
        .route("/openapi/connector/apiProperties.json", get(properties))
        .route(
            "/openapi/connector/settings.json",
            get(|| async { json(Bytes::from(export::pretty(&connector::settings()))) }),
        )
        .route(
            "/openapi/connector/icon.png",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))],
                    connector::ICON,
                )
            }),
        )
        .merge(Router::from(swagger_ui))
}
