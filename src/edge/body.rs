//! A request body as the gateway reads it: JSON only, unencoded, and every member of every object seen, as
//! sent, so that what is checked is what a reader downstream would see.
//!
//! serde's derived readers ignore or reject members one way and `serde_json::Value` keeps the last of two
//! members with one name; Partner Center's .NET binder matches names without regard to case and may keep either.
//! A body read by one rule and forwarded to a reader of another is a parser differential, so the operations
//! read a body here into [`Sent`], which keeps every member, refuse what is not exactly their fields
//! ([`Fields`]), and forward only what they checked, serialised again.

use axum::http::{HeaderMap, header};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::AppError;

/// Refuses a body the gateway would misread: a `Content-Type` that is not JSON (`application/json` or any
/// `application/...+json`, in any case; a `charset` other than UTF-8, which RFC 8259 requires, is refused too),
/// or a `Content-Encoding` other than `identity`, which the gateway does not decode. A body without a
/// `Content-Type` is read as JSON: what the caller sent is then judged as JSON.
pub fn json_request(headers: &HeaderMap) -> Result<(), AppError> {
    for encoding in headers.get_all(header::CONTENT_ENCODING) {
        let identity = encoding.to_str().is_ok_and(|e| {
            e.split(',')
                .all(|coding| coding.trim().eq_ignore_ascii_case("identity"))
        });
        if !identity {
            return Err(AppError::UnsupportedMediaType {
                message: "The gateway does not decode a compressed or encoded request body: send it without \
                          Content-Encoding."
                    .into(),
                encoding: true,
            });
        }
    }
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let not_json = || AppError::UnsupportedMediaType {
        message: "The request body must be JSON, sent with Content-Type: application/json.".into(),
        encoding: false,
    };
    let content_type = content_type.to_str().map_err(|_| not_json())?;
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let is_json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .and_then(|subtype| subtype.strip_suffix("+json"))
            .is_some_and(|name| !name.is_empty() && !name.contains('/'));
    if !is_json {
        return Err(not_json());
    }
    for parameter in parts {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        if name.trim().eq_ignore_ascii_case("charset") {
            let value = value.trim().trim_matches('"');
            if !value.eq_ignore_ascii_case("utf-8") {
                return Err(AppError::UnsupportedMediaType {
                    message: "The request body must be UTF-8 JSON (charset=utf-8).".into(),
                    encoding: false,
                });
            }
        }
    }
    Ok(())
}

/// A JSON value as sent: an object keeps all its members, in order, including two with one name.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Sent>),
    Object(Vec<(String, Sent)>),
}

impl Sent {
    /// What a maker calls this kind of value.
    fn kind(&self) -> &'static str {
        match self {
            Sent::Null => "null",
            Sent::Bool(_) => "true or false",
            Sent::Number(_) => "a number",
            Sent::String(_) => "text",
            Sent::Array(_) => "a list",
            Sent::Object(_) => "an object",
        }
    }
}

impl<'de> serde::Deserialize<'de> for Sent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SentVisitor;

        impl<'de> Visitor<'de> for SentVisitor {
            type Value = Sent;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Sent, E> {
                Ok(Sent::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Sent, E> {
                Ok(Sent::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Sent, E> {
                Ok(Sent::Number(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Sent, E> {
                Ok(Sent::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Sent, E> {
                serde_json::Number::from_f64(v)
                    .map(Sent::Number)
                    .ok_or_else(|| E::custom("a number JSON cannot hold"))
            }
            fn visit_str<E>(self, v: &str) -> Result<Sent, E> {
                Ok(Sent::String(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Sent, E> {
                Ok(Sent::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sent, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Sent::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sent, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Sent>()? {
                    members.push(member);
                }
                Ok(Sent::Object(members))
            }
        }

        deserializer.deserialize_any(SentVisitor)
    }
}

fn invalid(message: String) -> AppError {
    AppError::bad_request("InvalidBody", message)
}

/// The body as JSON; a 400 in plain words when it is not. serde_json refuses nesting deeper than 128 levels,
/// so a hostile body cannot make the reader recurse without bound.
pub fn parse(body: &[u8]) -> Result<Sent, AppError> {
    serde_json::from_slice(body).map_err(|e| {
        let place = format!("line {}, column {}", e.line(), e.column());
        invalid(match e.classify() {
            serde_json::error::Category::Eof => {
                format!("The body is not valid JSON: it ends too soon ({place}).")
            }
            _ => format!("The body is not valid JSON, or nests deeper than 128 levels ({place})."),
        })
    })
}

/// An object's members, checked to be exactly some of `known`, each once, then taken one by one.
pub struct Fields {
    /// Where the object is in the body (`primaryContact.`), or empty for the body itself.
    prefix: String,
    members: Vec<(String, Sent)>,
}

impl Fields {
    /// `value` as the object at `at` (`""` for the body, else the dotted path to it), whose members must be some
    /// of `known`, spelled as they are there (names are case-sensitive, and a variant such as `TemplateId` next to
    /// `templateId` would be read by a case-insensitive reader as either), each given once.
    pub fn new(value: Sent, at: &str, known: &[&str]) -> Result<Self, AppError> {
        let what = if at.is_empty() {
            "The body".to_owned()
        } else {
            at.to_owned()
        };
        let Sent::Object(members) = value else {
            return Err(invalid(format!(
                "{what} must be a JSON object, not {}.",
                value.kind()
            )));
        };
        let prefix = if at.is_empty() {
            String::new()
        } else {
            format!("{at}.")
        };
        for (i, (name, _)) in members.iter().enumerate() {
            if members[..i].iter().any(|(seen, _)| seen == name) {
                return Err(invalid(format!("{prefix}{name} is given more than once.")));
            }
            if known.contains(&name.as_str()) {
                continue;
            }
            let listed = known.join(", ");
            return Err(invalid(
                match known.iter().find(|k| k.eq_ignore_ascii_case(name)) {
                    Some(meant) => format!(
                        "{prefix}{name} is not a field the gateway accepts; field names are case-sensitive: \
                         {prefix}{meant}."
                    ),
                    None => format!(
                        "{prefix}{name} is not a field the gateway accepts here; the fields are {listed}."
                    ),
                },
            ));
        }
        Ok(Self { prefix, members })
    }

    /// The member `name`, if it was given (a JSON null counts as not given).
    pub fn take(&mut self, name: &str) -> Option<Sent> {
        let at = self.members.iter().position(|(n, _)| n == name)?;
        Some(self.members.swap_remove(at).1).filter(|v| *v != Sent::Null)
    }

    /// The member `name`, which must be given.
    pub fn required(&mut self, name: &str) -> Result<Sent, AppError> {
        self.take(name)
            .ok_or_else(|| invalid(format!("{}{name} is missing.", self.prefix)))
    }

    /// The text member `name`, which must be given.
    pub fn text(&mut self, name: &str) -> Result<String, AppError> {
        let value = self.required(name)?;
        self.as_text(name, value)
    }

    /// The text member `name`, if given.
    pub fn optional_text(&mut self, name: &str) -> Result<Option<String>, AppError> {
        self.take(name).map(|v| self.as_text(name, v)).transpose()
    }

    /// The dotted path of member `name`, for a message.
    pub fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn as_text(&self, name: &str, value: Sent) -> Result<String, AppError> {
        match value {
            Sent::String(text) => Ok(text),
            other => Err(invalid(format!(
                "{}{name} must be text (a JSON string), not {}.",
                self.prefix,
                other.kind()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: &str, known: &[&str]) -> Result<Fields, String> {
        let sent = parse(body.as_bytes()).map_err(|e| e.to_string())?;
        Fields::new(sent, "", known).map_err(|e| e.to_string())
    }

    #[test]
    fn every_member_is_seen_and_only_known_ones_pass() {
        assert!(fields(r#"{"a":1,"b":null}"#, &["a", "b"]).is_ok());
        let error = |body: &str| fields(body, &["templateId"]).err().unwrap();
        assert!(error(r#"{"templateId":"x","templateId":"y"}"#).contains("more than once"));
        assert!(error(r#"{"TemplateId":"x"}"#).contains("case-sensitive: templateId"));
        assert!(error(r#"{"other":1}"#).contains("other is not a field"));
        assert!(error("[]").contains("must be a JSON object, not a list"));
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(error(&deep).contains("nests deeper"));
        assert!(error("{").contains("ends too soon"));
    }

    #[test]
    fn json_in_its_spellings_and_nothing_encoded() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.append(*name, value.parse().unwrap());
            }
            json_request(&headers)
        };
        for ok in [
            &[][..],
            &[("content-type", "application/json")],
            &[("content-type", "Application/JSON; charset=\"UTF-8\"")],
            &[("content-type", "application/problem+json")],
            &[("content-encoding", "identity")],
        ] {
            assert!(with(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            &[("content-type", "text/plain")][..],
            &[("content-type", "application/+json")],
            &[("content-type", "application/json; charset=latin1")],
            &[("content-type", "multipart/form-data")],
            &[("content-encoding", "gzip")],
            &[("content-encoding", "identity"), ("content-encoding", "br")],
        ] {
            assert!(
                matches!(with(bad), Err(AppError::UnsupportedMediaType { .. })),
                "{bad:?}"
            );
        }
    }
}
