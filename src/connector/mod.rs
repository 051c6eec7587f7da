//! The gateway described for people and for Power Platform.
//!
//! - The OpenAPI 3.1 document (see [`crate::openapi`]) is served at `/openapi.json`, with Swagger UI at
//!   `/swagger-ui`.
//! - [`swagger2`]: our converter from OpenAPI 3.1 to Swagger 2.0, the only version Power Platform imports.
//! - [`package`]: the custom-connector package (definition with connector metadata, `apiProperties.json`,
//!   `settings.json`, icon) for either authentication, in either [`locale`]; [`export`] writes it to a folder.
//!
//! Every document is built once: when the router is built if `server.public_base_url` names the gateway's
//! address, else the first time a request reaches it at a given scheme and host (kept, bounded, in a moka
//! cache); serving one is a copy of bytes.

pub mod export;
pub mod locale;
pub mod package;
pub(crate) mod swagger2;

use std::collections::HashMap;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::Value;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::edge::{Gateway, LinkBase, QueryParams};
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
    /// Without a public URL, what was built for each (document, scheme and host) a request reached: a repeat is
    /// a copy of bytes, not a clone and a pretty-print of the whole document. Bounded by [`KEPT_BYTES`], so a
    /// client that sends a new `Host` on every call evicts old entries instead of growing the gateway's memory.
    built: moka::sync::Cache<(Served, String), Bytes>,
}

/// Which per-host document an entry of [`Documents::built`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Served {
    OpenApi,
    Definition(Locale, Auth),
}

/// At most this much of per-host documents is kept: some twenty hosts' worth of all five documents (each about
/// 150 KB), more names than one gateway is reached under.
const KEPT_BYTES: u64 = 16 * 1024 * 1024;

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
            built: moka::sync::Cache::builder()
                .max_capacity(KEPT_BYTES)
                .weigher(|(_, base): &(Served, String), bytes: &Bytes| {
                    u32::try_from(base.len() + bytes.len()).unwrap_or(u32::MAX)
                })
                .build(),
        })
    }
}

impl Documents {
    /// The OpenAPI document for a caller who reached the gateway at `base` (no public URL configured): the
    /// server is the one this request reached, as for nextLinks and the connector's host.
    fn openapi_at(&self, base: &str) -> Bytes {
        self.built.get_with((Served::OpenApi, base.to_owned()), || {
            let mut doc = self.openapi.clone();
            document::set_server(&mut doc, base, None);
            Bytes::from(export::pretty(&doc))
        })
    }

    /// The connector definition `key` for a caller who reached the gateway at `base` (no public URL
    /// configured): its host, base path and scheme are the ones this request reached, as for nextLinks.
    fn definition_at(&self, key: (Locale, Auth), base: &str) -> Result<Bytes, AppError> {
        let target = Target::parse(base).map_err(|_| {
            AppError::bad_request("InvalidHost", "The Host header is not a host name.")
        })?;
        let (locale, auth) = key;
        Ok(self
            .built
            .get_with((Served::Definition(locale, auth), base.to_owned()), || {
                let mut doc = self.definitions[&key].clone();
                let url = url::Url::parse(target.url()).expect("a target is a URL");
                doc["host"] = match url.port() {
                    Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_owned(),
                }
                .into();
                doc["basePath"] = url.path().into();
                doc["schemes"] = serde_json::json!([url.scheme()]);
                Bytes::from(export::pretty(&doc))
            }))
    }
}

/// The query parameters of the documents that take some (the rest of a query is redacted in the call's log).
pub const QUERY_PARAMETERS: [(&str, &[&str]); 2] = [
    (DEFINITION_PATH, &["locale", "auth"]),
    (PROPERTIES_PATH, &["locale", "auth"]),
];
const DEFINITION_PATH: &str = "/openapi/connector/apiDefinition.swagger.json";
const PROPERTIES_PATH: &str = "/openapi/connector/apiProperties.json";

/// Which locale and authentication a document is asked for, read as the operations read their queries
/// ([`QueryParams`]: a key given twice is the caller's 400 in the gateway's JSON shape, an empty value means the
/// default).
struct Variant {
    locale: Option<String>,
    auth: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Variant {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        let query = QueryParams::from_request_parts(parts, state).await?;
        Ok(Variant {
            locale: query.single("locale")?.map(str::to_owned),
            auth: query.single("auth")?.map(str::to_owned),
        })
    }
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

/// A document built from this request's `Host` (and what a trusted proxy forwarded): `no-store`, so no shared
/// cache hands it to a caller who reached the gateway another way. `Vary` could not say it: whether the
/// forwarding headers count depends on the TCP peer, which no cache sees.
fn json_for_this_request(bytes: Bytes) -> Response {
    let mut response = json(bytes);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
                match &docs.openapi_fixed {
                    Some(fixed) => json(fixed.clone()),
                    None => json_for_this_request(docs.openapi_at(&base)),
                }
            }
        }
    };
    let definition = {
        let docs = docs.clone();
        move |variant: Variant, LinkBase(base): LinkBase| {
            let docs = docs.clone();
            async move {
                let key = variant.parse()?;
                Ok::<_, AppError>(match &docs.fixed {
                    Some(fixed) => json(fixed[&key].clone()),
                    None => json_for_this_request(docs.definition_at(key, &base)?),
                })
            }
        }
    };
    let properties = {
        let docs = docs.clone();
        move |variant: Variant| {
            let docs = docs.clone();
            async move { Ok::<_, AppError>(json(docs.properties[&variant.parse()?].clone())) }
        }
    };
    // Swagger UI's default sends the document's address to validator.swagger.io and shows its badge: nothing of
    // the page may leave the gateway (the rest of the page is served from here, vendored).
    let swagger_ui =
        SwaggerUi::new("/swagger-ui").config(Config::new([OPENAPI_PATH]).validator_url("none"));
    Router::new()
        .route(OPENAPI_PATH, get(openapi))
        .route(DEFINITION_PATH, get(definition))
        .route(PROPERTIES_PATH, get(properties))
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
        // Swagger UI's router answers a file it does not have with an empty 404: the gateway's own 404 instead,
        // so every error is the JSON shape.
        .merge(
            Router::from(swagger_ui).layer(axum::middleware::map_response(
                |response: Response| async move {
                    if response.status() == axum::http::StatusCode::NOT_FOUND {
                        AppError::NotFound.into_response()
                    } else {
                        response
                    }
                },
            )),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documents() -> Documents {
        Documents::build(crate::routes::operations().into_openapi(), None, None).unwrap()
    }

    /// What a caller at `base` was served before the documents were kept: the document rebuilt for the call.
    fn rebuilt_openapi(docs: &Documents, base: &str) -> Bytes {
        let mut doc = docs.openapi.clone();
        document::set_server(&mut doc, base, None);
        Bytes::from(export::pretty(&doc))
    }

    #[test]
    fn a_host_seen_before_is_served_what_was_built_for_it() {
        let docs = documents();
        let key = (Locale::PtBr, Auth::OAuth);
        for base in ["http://127.0.0.1:8080", "https://pcgw.contoso.example"] {
            let first = docs.openapi_at(base);
            let again = docs.openapi_at(base);
            assert_eq!(first, rebuilt_openapi(&docs, base), "byte for byte");
            assert_eq!(
                first.as_ptr(),
                again.as_ptr(),
                "{base}: built once, then kept"
            );
            let first = docs.definition_at(key, base).unwrap();
            let again = docs.definition_at(key, base).unwrap();
            assert_eq!(
                first.as_ptr(),
                again.as_ptr(),
                "{base}: built once, then kept"
            );
        }
        // Each host, scheme and variant is its own document.
        assert_ne!(
            docs.openapi_at("http://a.example"),
            docs.openapi_at("https://a.example")
        );
        assert_ne!(
            docs.definition_at((Locale::EnUs, Auth::ApiKey), "http://a.example")
                .unwrap(),
            docs.definition_at((Locale::PtBr, Auth::ApiKey), "http://a.example")
                .unwrap()
        );
    }

    #[test]
    fn many_hosts_keep_memory_bounded() {
        let docs = documents();
        for n in 0..400 {
            let base = format!("http://host-{n}.example");
            docs.openapi_at(&base);
            docs.definition_at((Locale::EnUs, Auth::ApiKey), &base)
                .unwrap();
        }
        docs.built.run_pending_tasks();
        assert!(
            docs.built.weighted_size() <= KEPT_BYTES,
            "{} bytes kept",
            docs.built.weighted_size()
        );
        assert!(docs.built.entry_count() > 0);
    }
}
