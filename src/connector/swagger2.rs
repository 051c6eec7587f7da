//! OpenAPI 3.1 → Swagger 2.0, which is all Power Platform imports.
//!
//! General rather than connector-specific: what the connector adds (metadata, one security scheme, locales) is
//! [`super::package`]'s business. Where 3.1 says something 2.0 cannot (a value of several types, `oneOf`
//! with several alternatives, a `$ref` to a parameter), conversion fails instead of guessing: the document is
//! ours, so the fix belongs in the models, not in a lossy rewrite here.
//!
//! One thing 3.1 says that 2.0 would silently lose is rewritten rather than refused, because 3.1 documents say it
//! all the time: keywords beside a `$ref` (a property's label and description next to the object it refers to).
//! 2.0 ignores a `$ref`'s siblings, so there the referenced definition is written out in place, as the original
//! connector wrote its objects, with what stood beside the `$ref` on top. See [`inline_refs_with_siblings`].

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use url::Url;

/// Why a document could not be converted, with where.
#[derive(Debug, thiserror::Error)]
#[error("cannot convert {at} to Swagger 2.0: {problem}")]
pub struct ConvertError {
    pub at: String,
    pub problem: String,
}

fn fail(at: &str, problem: impl Into<String>) -> ConvertError {
    ConvertError {
        at: at.to_owned(),
        problem: problem.into(),
    }
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// The keywords a Swagger 2.0 schema may carry (besides `x-` extensions); anything else from JSON Schema 2020-12
/// is dropped, because Power Platform's validator refuses unknown keywords.
const SCHEMA_KEYWORDS: [&str; 29] = [
    "$ref",
    "format",
    "title",
    "description",
    "default",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "required",
    "enum",
    "additionalProperties",
    "type",
    "items",
    "allOf",
    "properties",
    "discriminator",
    "readOnly",
    "externalDocs",
    "example",
];

/// Keywords of a 2.0 non-body parameter that come from its 3.1 `schema`.
const PARAMETER_SCHEMA_KEYWORDS: [&str; 16] = [
    "type",
    "format",
    "items",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
];

pub fn convert(doc: &Value) -> Result<Value, ConvertError> {
    let mut out = Map::new();
    out.insert("swagger".into(), "2.0".into());
    out.insert("info".into(), info(doc)?);
    if let Some(server) = doc.pointer("/servers/0/url").and_then(Value::as_str) {
        let url = Url::parse(server).map_err(|e| fail("servers[0].url", e.to_string()))?;
        let host = url
            .host_str()
            .ok_or_else(|| fail("servers[0].url", "no host"))?;
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        out.insert("host".into(), host.into());
        out.insert("basePath".into(), url.path().into());
        out.insert("schemes".into(), json!([url.scheme()]));
    }
    out.insert("consumes".into(), json!(["application/json"]));
    out.insert("produces".into(), json!(["application/json"]));

    let mut paths = Map::new();
    for (path, item) in object(doc.get("paths"), "paths")? {
        let at = format!("paths.{path}");
        let shared = item.get("parameters").and_then(Value::as_array);
        let mut converted = Map::new();
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                converted.insert(
                    method.into(),
                    self::operation(operation, shared, &format!("{at}.{method}"))?,
                );
            }
        }
        paths.insert(path.clone(), Value::Object(converted));
    }
    let mut definitions = Map::new();
    if let Some(schemas) = doc.pointer("/components/schemas") {
        for (name, schema) in object(Some(schemas), "components.schemas")? {
            definitions.insert(
                name.clone(),
                self::schema(schema, &format!("schemas.{name}"))?,
            );
        }
    }
    let mut paths = Value::Object(paths);
    inline_refs_with_siblings(&mut paths, &mut definitions)?;
    out.insert("paths".into(), paths);
    out.insert("definitions".into(), Value::Object(definitions));
    out.insert("parameters".into(), json!({}));
    out.insert("responses".into(), json!({}));

    let mut security_definitions = Map::new();
    if let Some(schemes) = doc.pointer("/components/securitySchemes") {
        for (name, scheme) in object(Some(schemes), "securitySchemes")? {
            security_definitions.insert(
                name.clone(),
                security_scheme(scheme, &format!("securitySchemes.{name}"))?,
            );
        }
    }
    out.insert(
        "securityDefinitions".into(),
        Value::Object(security_definitions),
    );
    if let Some(security) = doc.get("security") {
        out.insert("security".into(), security.clone());
    }
    if let Some(tags) = doc.get("tags") {
        out.insert("tags".into(), tags.clone());
    }
    copy_extensions(doc, &mut out);
    Ok(Value::Object(out))
}

fn object<'a>(value: Option<&'a Value>, at: &str) -> Result<&'a Map<String, Value>, ConvertError> {
    value
        .and_then(Value::as_object)
        .ok_or_else(|| fail(at, "expected an object"))
}

fn copy_extensions(from: &Value, to: &mut Map<String, Value>) {
    if let Some(from) = from.as_object() {
        for (key, value) in from.iter().filter(|(k, _)| k.starts_with("x-")) {
            to.insert(key.clone(), value.clone());
        }
    }
}

fn copy_keys(from: &Value, to: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(value) = from.get(*key) {
            to.insert((*key).into(), value.clone());
        }
    }
}

fn info(doc: &Value) -> Result<Value, ConvertError> {
    let info = doc.get("info").ok_or_else(|| fail("info", "missing"))?;
    let mut out = Map::new();
    // 2.0 has no `summary`.
    copy_keys(
        info,
        &mut out,
        &[
            "title",
            "description",
            "version",
            "termsOfService",
            "contact",
        ],
    );
    // 2.0 names a license by URL only; 3.1's SPDX identifier has a canonical page.
    if let Some(license) = info.get("license") {
        let url = license
            .get("url")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                license
                    .get("identifier")
                    .and_then(Value::as_str)
                    .map(|id| format!("https://spdx.org/licenses/{id}.html"))
            });
        if let (Some(name), Some(url)) = (license.get("name"), url) {
            out.insert("license".into(), json!({"name": name, "url": url}));
        }
    }
    copy_extensions(info, &mut out);
    Ok(Value::Object(out))
}

fn operation(op: &Value, shared: Option<&Vec<Value>>, at: &str) -> Result<Value, ConvertError> {
    let mut out = Map::new();
    copy_keys(
        op,
        &mut out,
        &[
            "tags",
            "summary",
            "description",
            "operationId",
            "deprecated",
        ],
    );
    let mut parameters = Vec::new();
    let own = op.get("parameters").and_then(Value::as_array);
    for (i, parameter) in shared.into_iter().chain(own).flatten().enumerate() {
        parameters.push(self::parameter(
            parameter,
            &format!("{at}.parameters[{i}]"),
        )?);
    }
    if let Some(body) = op.get("requestBody") {
        parameters.push(request_body(body, &format!("{at}.requestBody"))?);
    }
    if !parameters.is_empty() {
        out.insert("parameters".into(), Value::Array(parameters));
    }
    let mut responses = Map::new();
    for (status, response) in object(op.get("responses"), &format!("{at}.responses"))? {
        responses.insert(
            status.clone(),
            self::response(response, &format!("{at}.responses.{status}"))?,
        );
    }
    out.insert("responses".into(), Value::Object(responses));
    if let Some(security) = op.get("security") {
        out.insert("security".into(), security.clone());
    }
    copy_extensions(op, &mut out);
    Ok(Value::Object(out))
}

fn parameter(parameter: &Value, at: &str) -> Result<Value, ConvertError> {
    if parameter.get("$ref").is_some() {
        return Err(fail(
            at,
            "a $ref to a parameter; declare it on the operation",
        ));
    }
    let location = parameter
        .get("in")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !["path", "query", "header"].contains(&location) {
        return Err(fail(
            at,
            format!("parameters in {location:?} have no 2.0 form"),
        ));
    }
    let mut out = Map::new();
    copy_keys(parameter, &mut out, &["name", "in", "description"]);
    // 2.0 insists that a path parameter says it is required.
    let required = location == "path"
        || parameter
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    out.insert("required".into(), required.into());
    copy_keys(parameter, &mut out, &["allowEmptyValue"]);
    let schema = schema(
        parameter
            .get("schema")
            .unwrap_or(&json!({"type": "string"})),
        at,
    )?;
    if schema.get("$ref").is_some() || schema.get("type") == Some(&json!("object")) {
        return Err(fail(at, "a parameter that is not a plain value"));
    }
    copy_keys(&schema, &mut out, &PARAMETER_SCHEMA_KEYWORDS);
    if !out.contains_key("type") {
        out.insert("type".into(), "string".into());
    }
    copy_extensions(parameter, &mut out);
    Ok(Value::Object(out))
}

fn json_content<'a>(holder: &'a Value, at: &str) -> Result<Option<&'a Value>, ConvertError> {
    let Some(content) = holder.get("content").and_then(Value::as_object) else {
        return Ok(None);
    };
    let media = content
        .get("application/json")
        .or_else(|| content.values().next())
        .ok_or_else(|| fail(at, "empty content"))?;
    Ok(media.get("schema"))
}

fn request_body(body: &Value, at: &str) -> Result<Value, ConvertError> {
    let schema = json_content(body, at)?.ok_or_else(|| fail(at, "a body without a schema"))?;
    let mut out = Map::new();
    out.insert("name".into(), "body".into());
    out.insert("in".into(), "body".into());
    out.insert(
        "required".into(),
        body.get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .into(),
    );
    copy_keys(body, &mut out, &["description"]);
    out.insert("schema".into(), self::schema(schema, at)?);
    copy_extensions(body, &mut out);
    Ok(Value::Object(out))
}

fn response(response: &Value, at: &str) -> Result<Value, ConvertError> {
    if response.get("$ref").is_some() {
        return Err(fail(
            at,
            "a $ref to a response; declare it on the operation",
        ));
    }
    let mut out = Map::new();
    let description = response
        .get("description")
        .cloned()
        .unwrap_or_else(|| "".into());
    out.insert("description".into(), description);
    if let Some(schema) = json_content(response, at)? {
        out.insert("schema".into(), self::schema(schema, at)?);
    }
    if let Some(headers) = response.get("headers").and_then(Value::as_object) {
        let mut converted = Map::new();
        for (name, header) in headers {
            let schema = schema(
                header.get("schema").unwrap_or(&json!({"type": "string"})),
                &format!("{at}.headers.{name}"),
            )?;
            let mut h = Map::new();
            copy_keys(&schema, &mut h, &["type", "format"]);
            copy_keys(header, &mut h, &["description"]);
            if !h.contains_key("type") {
                h.insert("type".into(), "string".into());
            }
            converted.insert(name.clone(), Value::Object(h));
        }
        out.insert("headers".into(), Value::Object(converted));
    }
    copy_extensions(response, &mut out);
    Ok(Value::Object(out))
}

fn security_scheme(scheme: &Value, at: &str) -> Result<Value, ConvertError> {
    let kind = scheme
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut out = Map::new();
    match kind {
        "apiKey" => {
            out.insert("type".into(), "apiKey".into());
            copy_keys(scheme, &mut out, &["name", "in"]);
        }
        // 2.0 has no bearer scheme; Power Platform sends such a token as an Authorization header.
        "http" if scheme.get("scheme").and_then(Value::as_str) == Some("bearer") => {
            out.insert("type".into(), "apiKey".into());
            out.insert("name".into(), "Authorization".into());
            out.insert("in".into(), "header".into());
        }
        "oauth2" => {
            let flows = object(scheme.get("flows"), at)?;
            let (flow, settings) = flows
                .iter()
                .next()
                .ok_or_else(|| fail(at, "an OAuth2 scheme without flows"))?;
            let flow = match flow.as_str() {
                "authorizationCode" => "accessCode",
                "clientCredentials" => "application",
                "implicit" => "implicit",
                "password" => "password",
                other => return Err(fail(at, format!("the {other} flow has no 2.0 form"))),
            };
            out.insert("type".into(), "oauth2".into());
            out.insert("flow".into(), flow.into());
            copy_keys(settings, &mut out, &["authorizationUrl", "tokenUrl"]);
            out.insert(
                "scopes".into(),
                settings.get("scopes").cloned().unwrap_or_else(|| json!({})),
            );
        }
        other => {
            return Err(fail(
                at,
                format!("the {other:?} security scheme has no 2.0 form"),
            ));
        }
    }
    copy_keys(scheme, &mut out, &["description"]);
    copy_extensions(scheme, &mut out);
    Ok(Value::Object(out))
}

/// One JSON Schema (2020-12, as OpenAPI 3.1 uses it) as a Swagger 2.0 schema.
pub fn schema(schema: &Value, at: &str) -> Result<Value, ConvertError> {
    let Some(source) = schema.as_object() else {
        return match schema {
            // `true` accepts anything: the empty schema says the same in 2.0.
            Value::Bool(true) => Ok(json!({})),
            _ => Err(fail(at, "a schema that is not an object")),
        };
    };

    // A union with null is 3.1's way of saying "nullable"; 2.0 has no null, and Power Platform treats an
    // absent value the same way, so the union collapses to its one real alternative.
    for union in ["oneOf", "anyOf"] {
        if let Some(alternatives) = source.get(union) {
            let alternatives = alternatives
                .as_array()
                .ok_or_else(|| fail(at, format!("{union} is not a list")))?;
            let real: Vec<&Value> = alternatives.iter().filter(|a| !is_null(a)).collect();
            let [only] = real[..] else {
                return Err(fail(
                    at,
                    format!(
                        "{union} with {} alternatives; Power Platform takes one type",
                        real.len()
                    ),
                ));
            };
            let mut merged = self::schema(only, at)?;
            let rest: Map<String, Value> = source
                .iter()
                .filter(|(k, _)| k.as_str() != union)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let rest = self::schema(&Value::Object(rest), at)?;
            // What the union's holder says about itself (a property's label) wins over the alternative's.
            if let (Some(merged), Some(rest)) = (merged.as_object_mut(), rest.as_object()) {
                for (key, value) in rest {
                    merged.insert(key.clone(), value.clone());
                }
            }
            return Ok(merged);
        }
    }

    let mut out = Map::new();
    for (key, value) in source {
        let at = &format!("{at}.{key}");
        match key.as_str() {
            "$ref" => {
                let target = value.as_str().ok_or_else(|| fail(at, "not a string"))?;
                let name = target
                    .strip_prefix("#/components/schemas/")
                    .ok_or_else(|| fail(at, format!("{target} is not a schema component")))?;
                out.insert(key.clone(), format!("#/definitions/{name}").into());
            }
            "type" => {
                if let Some(kind) = single_type(value, at)? {
                    out.insert(key.clone(), kind.into());
                }
            }
            "properties" => {
                let mut properties = Map::new();
                for (name, property) in object(Some(value), at)? {
                    properties.insert(
                        name.clone(),
                        self::schema(property, &format!("{at}.{name}"))?,
                    );
                }
                out.insert(key.clone(), Value::Object(properties));
            }
            "items" | "additionalProperties" => {
                let converted = match value {
                    Value::Bool(b) => Value::Bool(*b),
                    other => self::schema(other, at)?,
                };
                out.insert(key.clone(), converted);
            }
            "allOf" => {
                let parts = value
                    .as_array()
                    .ok_or_else(|| fail(at, "not a list"))?
                    .iter()
                    .map(|part| self::schema(part, at))
                    .collect::<Result<Vec<_>, _>>()?;
                out.insert(key.clone(), Value::Array(parts));
            }
            // Draft 4 wants at least one name in `required`.
            "required" if value.as_array().is_some_and(|r| r.is_empty()) => {}
            "enum" => {
                let values: Vec<Value> = value
                    .as_array()
                    .ok_or_else(|| fail(at, "not a list"))?
                    .iter()
                    .filter(|v| !v.is_null())
                    .cloned()
                    .collect();
                out.insert(key.clone(), Value::Array(values));
            }
            "const" => {
                out.insert("enum".into(), json!([value]));
            }
            // 3.1 gives the bound itself; 2.0 gives a plain bound and a flag.
            "exclusiveMinimum" | "exclusiveMaximum" if value.is_number() => {
                let bound = if key == "exclusiveMinimum" {
                    "minimum"
                } else {
                    "maximum"
                };
                out.insert(bound.into(), value.clone());
                out.insert(key.clone(), true.into());
            }
            "examples" => {
                if let Some(first) = value.as_array().and_then(|e| e.first()) {
                    out.entry("example").or_insert_with(|| first.clone());
                }
            }
            key if key.starts_with("x-") => {
                out.insert(key.into(), value.clone());
            }
            key if SCHEMA_KEYWORDS.contains(&key) => {
                out.insert(key.into(), value.clone());
            }
            // writeOnly, deprecated, $schema, prefixItems, contentMediaType, ...: nothing to say in 2.0.
            _ => {}
        }
    }
    Ok(Value::Object(out))
}

/// 2.0 ignores every keyword beside a `$ref` (Spectral's `no-$ref-siblings`), so a label, description or
/// visibility written next to one would never reach the designer. Each such schema, in `paths` and in the
/// definitions, becomes a copy of the definition it refers to, with its own keywords on top (they win: they are
/// what the property says about itself). Definitions that nothing refers to any more are dropped. A definition
/// that would have to be written out inside itself cannot be, and fails.
fn inline_refs_with_siblings(
    paths: &mut Value,
    definitions: &mut Map<String, Value>,
) -> Result<(), ConvertError> {
    let source = definitions.clone();
    let mut inlined = BTreeSet::new();
    let mut inliner = Inliner {
        definitions: &source,
        within: Vec::new(),
        inlined: &mut inlined,
    };
    for (path, item) in paths.as_object_mut().into_iter().flatten() {
        for (method, operation) in item.as_object_mut().into_iter().flatten() {
            let at = format!("paths.{path}.{method}");
            let parameters = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut);
            for (i, parameter) in parameters.into_iter().flatten().enumerate() {
                if let Some(schema) = parameter.get_mut("schema") {
                    inliner.schema(schema, &format!("{at}.parameters[{i}]"))?;
                }
            }
            let responses = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut);
            for (status, response) in responses.into_iter().flatten() {
                if let Some(schema) = response.get_mut("schema") {
                    inliner.schema(schema, &format!("{at}.responses.{status}"))?;
                }
            }
        }
    }
    for (name, definition) in definitions.iter_mut() {
        inliner.within = vec![name.clone()];
        inliner.children(definition, &format!("definitions.{name}"))?;
    }
    // What is still referred to: from the paths and, through them, from other definitions.
    let mut reachable = BTreeSet::new();
    let mut pending = Vec::new();
    refs(paths, &mut pending);
    while let Some(name) = pending.pop() {
        if reachable.insert(name.clone())
            && let Some(definition) = definitions.get(&name)
        {
            refs(definition, &mut pending);
        }
    }
    definitions.retain(|name, _| !inlined.contains(name) || reachable.contains(name));
    Ok(())
}

struct Inliner<'a> {
    definitions: &'a Map<String, Value>,
    /// The definitions being written out around the schema at hand, innermost last.
    within: Vec<String>,
    inlined: &'a mut BTreeSet<String>,
}

impl Inliner<'_> {
    fn schema(&mut self, schema: &mut Value, at: &str) -> Result<(), ConvertError> {
        let Some(map) = schema.as_object() else {
            return Ok(());
        };
        let name = map
            .get("$ref")
            .and_then(Value::as_str)
            .filter(|_| map.len() > 1)
            .and_then(|target| target.strip_prefix("#/definitions/"))
            .map(str::to_owned);
        let Some(name) = name else {
            return self.children(schema, at);
        };
        if self.within.contains(&name) {
            return Err(fail(
                at,
                format!("{name} holds itself with keywords beside the $ref; 2.0 cannot say that"),
            ));
        }
        let mut copy = self
            .definitions
            .get(&name)
            .cloned()
            .ok_or_else(|| fail(at, format!("$ref to missing definition {name}")))?;
        let copy_map = copy
            .as_object_mut()
            .expect("a converted schema is an object");
        for (key, sibling) in map.iter().filter(|(key, _)| key.as_str() != "$ref") {
            copy_map.insert(key.clone(), sibling.clone());
        }
        self.within.push(name.clone());
        self.children(&mut copy, at)?;
        self.within.pop();
        self.inlined.insert(name);
        *schema = copy;
        Ok(())
    }

    /// The schemas inside a 2.0 schema: its properties, items, additional properties and `allOf` parts.
    fn children(&mut self, schema: &mut Value, at: &str) -> Result<(), ConvertError> {
        let Some(map) = schema.as_object_mut() else {
            return Ok(());
        };
        for (key, child) in map.iter_mut() {
            match (key.as_str(), child) {
                ("properties", Value::Object(properties)) => {
                    for (name, property) in properties.iter_mut() {
                        self.schema(property, &format!("{at}.{name}"))?;
                    }
                }
                ("items" | "additionalProperties", child) => {
                    self.schema(child, &format!("{at}.{key}"))?
                }
                ("allOf", Value::Array(parts)) => {
                    for (i, part) in parts.iter_mut().enumerate() {
                        self.schema(part, &format!("{at}.allOf[{i}]"))?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The definitions `value` refers to.
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|t| t.strip_prefix("#/definitions/"))
            {
                found.push(name.to_owned());
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

fn is_null(schema: &Value) -> bool {
    schema.get("type") == Some(&json!("null"))
}

fn single_type(value: &Value, at: &str) -> Result<Option<String>, ConvertError> {
    match value {
        Value::String(kind) if kind == "null" => Err(fail(at, "a value that is always null")),
        Value::String(kind) => Ok(Some(kind.clone())),
        Value::Array(kinds) => {
            let real: Vec<&str> = kinds
                .iter()
                .filter_map(Value::as_str)
                .filter(|k| *k != "null")
                .collect();
            match real[..] {
                [only] => Ok(Some(only.to_owned())),
                [] => Err(fail(at, "a value that is always null")),
                _ => Err(fail(
                    at,
                    format!("a value of types {real:?}; 2.0 takes one"),
                )),
            }
        }
        _ => Err(fail(at, "a type that is neither a name nor a list")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_types_and_unions_with_null_collapse_to_one_type() {
        let s = schema(
            &json!({"type": ["integer", "null"], "format": "int32"}),
            "t",
        )
        .unwrap();
        assert_eq!(s, json!({"type": "integer", "format": "int32"}));
        let s = schema(
            &json!({"oneOf": [{"$ref": "#/components/schemas/A", "description": "inner"}, {"type": "null"}],
                    "x-ms-summary": "A", "description": "outer"}),
            "t",
        )
        .unwrap();
        assert_eq!(
            s,
            json!({"$ref": "#/definitions/A", "description": "outer", "x-ms-summary": "A"})
        );
    }

    #[test]
    fn what_two_point_oh_cannot_say_is_refused_not_guessed() {
        let err = schema(
            &json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
            "t.x",
        )
        .unwrap_err();
        assert!(err.to_string().contains("t.x"), "{err}");
        assert!(schema(&json!({"type": ["string", "integer"]}), "t").is_err());
        assert!(schema(&json!({"$ref": "https://elsewhere/schema.json"}), "t").is_err());
    }

    #[test]
    fn keywords_only_json_schema_2020_has_are_translated_or_dropped() {
        let s = schema(
            &json!({"type": "number", "exclusiveMinimum": 0, "examples": [1.5], "const": 2,
                    "writeOnly": true, "required": [], "contentMediaType": "text/plain"}),
            "t",
        )
        .unwrap();
        assert_eq!(
            s,
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "example": 1.5, "enum": [2]})
        );
    }

    fn document(schemas: Value) -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "T", "version": "1"},
            "paths": {"/things": {"get": {
                "operationId": "GetThing",
                "responses": {"200": {"description": "a thing", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}
            }}},
            "components": {"schemas": schemas}
        })
    }

    #[test]
    fn a_label_beside_a_ref_is_kept_by_writing_the_definition_out_in_its_place() {
        let out = convert(&document(json!({
            "Thing": {"type": "object", "properties": {
                "part": {"oneOf": [{"$ref": "#/components/schemas/Part", "description": "The thing's part."}, {"type": "null"}],
                         "x-ms-summary": "Part"},
                "parts": {"type": "array", "items": {"$ref": "#/components/schemas/Part"}}
            }},
            "Part": {"type": "object", "description": "A part.", "properties": {
                "kind": {"$ref": "#/components/schemas/Kind", "description": "The part's kind."}
            }},
            "Kind": {"type": "object", "properties": {"name": {"type": "string"}}}
        })))
        .unwrap();
        let part = &out["definitions"]["Thing"]["properties"]["part"];
        assert_eq!(part["description"], "The thing's part.");
        assert_eq!(part["x-ms-summary"], "Part");
        assert_eq!(part["type"], "object");
        assert_eq!(
            part["properties"]["kind"],
            json!({"type": "object", "properties": {"name": {"type": "string"}}, "description": "The part's kind."})
        );
        // A plain reference stays one; a definition that is still referred to stays, one that is not goes.
        assert_eq!(
            out["definitions"]["Thing"]["properties"]["parts"]["items"],
            json!({"$ref": "#/definitions/Part"})
        );
        assert!(out["definitions"].get("Part").is_some());
        assert!(out["definitions"].get("Kind").is_none());
        let mut siblings = Vec::new();
        visit_refs(&out, &mut siblings);
        assert!(siblings.is_empty(), "{siblings:?}");
    }

    fn visit_refs(value: &Value, siblings: &mut Vec<Value>) {
        match value {
            Value::Object(map) => {
                if map.contains_key("$ref") && map.len() > 1 {
                    siblings.push(value.clone());
                }
                map.values().for_each(|v| visit_refs(v, siblings));
            }
            Value::Array(items) => items.iter().for_each(|v| visit_refs(v, siblings)),
            _ => {}
        }
    }

    #[test]
    fn a_definition_that_would_hold_itself_inline_is_refused() {
        let err = convert(&document(json!({
            "Thing": {"type": "object", "properties": {
                "parent": {"$ref": "#/components/schemas/Thing", "description": "The parent."}
            }}
        })))
        .unwrap_err();
        assert!(err.to_string().contains("Thing"), "{err}");
    }

    #[test]
    fn a_request_body_becomes_a_body_parameter_and_path_parameters_are_required() {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "T", "version": "1"},
            "servers": [{"url": "https://gw.example.com:8443/base"}],
            "paths": {"/things/{Id}": {"post": {
                "operationId": "MakeThing",
                "parameters": [{"name": "Id", "in": "path", "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                "responses": {"201": {"description": "made", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                                      "headers": {"Retry-After": {"schema": {"type": "integer"}}}}}
            }}},
            "components": {"schemas": {"Thing": {"type": "object", "properties": {"n": {"type": ["string", "null"]}}}}}
        });
        let out = convert(&doc).unwrap();
        assert_eq!(out["host"], "gw.example.com:8443");
        assert_eq!(out["basePath"], "/base");
        assert_eq!(out["schemes"], json!(["https"]));
        let op = &out["paths"]["/things/{Id}"]["post"];
        assert_eq!(
            op["parameters"][0],
            json!({"name": "Id", "in": "path", "required": true, "type": "string"})
        );
        assert_eq!(
            op["parameters"][1],
            json!({"name": "body", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Thing"}})
        );
        assert_eq!(
            op["responses"]["201"]["schema"]["$ref"],
            "#/definitions/Thing"
        );
        assert_eq!(
            op["responses"]["201"]["headers"]["Retry-After"]["type"],
            "integer"
        );
        assert_eq!(
            out["definitions"]["Thing"]["properties"]["n"],
            json!({"type": "string"})
        );
    }
}
