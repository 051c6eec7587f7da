//! Names crate::config::Settings in a doc comment, which is no import.

pub mod forwarded;

use crate::{
    domain::{self, CustomerTenantId},
    edge::forwarded::Forwarded,
};
use std::{collections::HashMap, fmt::{self, Display}};

/* a block comment /* nested */ that names crate::config::Settings */
pub const TEXT: &str = "crate::config::Settings /* not a comment";
pub const ESCAPED: &str = "a \" quote, then crate::config::Settings";
pub const RAW: &str = r#"crate::config::Settings, "quoted", and a \"#;
pub const QUOTE: char = '"';
pub const BYTE: u8 = b'"';
pub const ESCAPED_QUOTE: char = '\'';
pub const BYTES: &[u8] = b"crate::config::Settings";
pub const OPEN: &str = "{ mod";
pub const USE: &str = "use";

pub fn longest<'a>(a: &'a str, _: &'a str) -> &'a str {
    'outer: loop {
        break 'outer a;
    }
}

pub struct Keyword {
    pub r#type: String,
}

#[derive(serde::Deserialize)]
pub struct Field {
    #[serde(rename = "crate::config::Settings", deserialize_with = "crate::domain::parse")]
    pub value: String,
}

#[doc = "crate::config::Settings"]
pub struct Documented;

#[error("crate::config::Settings is not read here")]
pub struct Message;

pub(in crate::edge) fn only_here() -> Option<HashMap<String, CustomerTenantId>> {
    let _: fn(&dyn Display) -> fmt::Result;
    let _ = domain::parse::<serde_json::Value>;
    None
}

#[cfg(test)]
mod tests {
    // `super` of an inline module is the file's module, `crate::edge`.
    use super::*;
    use super::forwarded::Forwarded as Header;
}
