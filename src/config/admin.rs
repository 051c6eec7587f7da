//! `[admin]`: the keys that open the administrator's endpoint (`POST /admin/reload`). None, the default: the
//! endpoint is off and answers 404, and only SIGHUP reloads.

use serde::Deserialize;

use super::ConfigError;
use super::api_keys::{KeyHashes, KeyOwners, KeySettings, Owner};
use crate::connection::ApiKey;

/// `[admin]` as written: its keys in either form of `api_keys`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    pub api_key_sha256: Option<KeyHashes>,
    pub api_keys: Option<Vec<KeySettings>>,
}

/// The admin keys, checked: none is a connection's key, nor listed twice.
pub(super) fn parse(
    admin: AdminSettings,
    keys: &mut KeyOwners,
) -> Result<Vec<ApiKey>, ConfigError> {
    keys.parse(Owner::Admin, admin.api_key_sha256, admin.api_keys)
}
