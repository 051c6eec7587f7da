//! The connector's two languages. en-US is the document as written in the code; pt-BR is a catalog from each
//! en-US string to its Portuguese (`locales/pt-BR.json`), with the seed page's wording for the original
//! connector's operations: its display names and parameter descriptions exactly (tests/gateway/connector.rs
//! lists the few deliberate differences), and its field descriptions too, but for three where the page
//! translated the values Partner Center returns ("êxito" for "success", "Fatura" for "Invoice"): a maker
//! comparing a field with a translated value would never match, so those keep the literal values with a gloss.
//!
//! Keyed on the English text rather than on where it appears: a changed English string has no translation
//! until someone writes one, which is what should happen, and [`localize`] refuses to produce a half-translated
//! document.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Locale {
    EnUs,
    PtBr,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::EnUs, Locale::PtBr];

    pub fn tag(self) -> &'static str {
        match self {
            Locale::EnUs => "en-US",
            Locale::PtBr => "pt-BR",
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Locale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Locale::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown locale {s:?}: use en-US or pt-BR"))
    }
}

/// The fields whose text a maker reads: names, labels, descriptions, tooltips.
const TEXT_FIELDS: [&str; 7] = [
    "summary",
    "description",
    "title",
    "x-ms-summary",
    "displayName",
    "tooltip",
    // What a trigger's card tells the maker to do to see it fire.
    "x-ms-trigger-hint",
];

static PT_BR: LazyLock<BTreeMap<String, String>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("locales/pt-BR.json"))
        .expect("pt-BR.json is a JSON object of strings")
});

pub fn catalog(locale: Locale) -> Option<&'static BTreeMap<String, String>> {
    match locale {
        Locale::EnUs => None,
        Locale::PtBr => Some(&PT_BR),
    }
}

/// Every text a maker reads in `doc`, for checking the catalog against.
pub fn texts(doc: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    walk(&mut doc.clone(), &mut |text| {
        found.insert(text.clone());
    });
    found
}

/// Rewrites every text in `doc` into `locale`; fails with the English texts that have no translation.
pub fn localize(doc: &mut Value, locale: Locale) -> Result<(), String> {
    let Some(catalog) = catalog(locale) else {
        return Ok(());
    };
    let mut missing = BTreeSet::new();
    walk(doc, &mut |text| match catalog.get(text.as_str()) {
        Some(translated) => *text = translated.clone(),
        None => {
            missing.insert(text.clone());
        }
    });
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} has no translation for: {}",
            locale,
            missing.into_iter().collect::<Vec<_>>().join(" | ")
        ))
    }
}

fn walk(value: &mut Value, visit: &mut impl FnMut(&mut String)) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(text) if TEXT_FIELDS.contains(&key.as_str()) => visit(text),
                    // A property named like a text field (an error's "description") is a schema, not a text.
                    other => walk(other, visit),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| walk(v, visit)),
        _ => {}
    }
}
