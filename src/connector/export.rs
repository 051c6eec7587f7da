//! `export-connector`: the package that `paconn create` and `pac connector create` take, written to a folder.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::locale::Locale;
use super::package::{self as connector, Auth, Target};

pub const API_DEFINITION: &str = "apiDefinition.swagger.json";
pub const API_PROPERTIES: &str = "apiProperties.json";
pub const SETTINGS: &str = "settings.json";
pub const ICON: &str = "icon.png";

/// The package's files, in the order they are written: name and bytes.
pub fn package(
    openapi: &Value,
    locale: Locale,
    auth: Auth,
    target: &Target,
) -> Result<Vec<(&'static str, Vec<u8>)>, String> {
    Ok(vec![
        (
            API_DEFINITION,
            pretty(&connector::api_definition(openapi, locale, auth, target)?),
        ),
        (
            API_PROPERTIES,
            pretty(&connector::api_properties(locale, auth)?),
        ),
        (SETTINGS, pretty(&connector::settings())),
        (ICON, connector::ICON.to_vec()),
    ])
}

/// Writes the package into `dir` (created if missing) and returns the paths written.
pub fn write(
    dir: &Path,
    openapi: &Value,
    locale: Locale,
    auth: Auth,
    target: &Target,
) -> anyhow::Result<Vec<PathBuf>> {
    let files = package(openapi, locale, auth, target).map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// Two-space indented JSON with a final newline, so committed exports diff line by line.
pub fn pretty(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("a JSON value serializes");
    bytes.push(b'\n');
    bytes
}
