//! `[triggers]`: the polling triggers' signing key and pace.
//!
//! The key signs each trigger's state, which travels in the `Location` URL the platform polls next: every
//! replica needs the same one, and keeping it across restarts is what lets a flow's next poll be answered. In
//! the sandbox profile, with no key given, one is made at start (a restart then answers older states 400).
//! Against the real Partner Center a key is required: a key made at start would make every flow's trigger fail
//! after a restart, or on another replica, and go on failing (the platform polls the same `Location` again)
//! until its owner turns it off and on.

use std::num::NonZeroU32;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::Deserialize;

use super::ConfigError;

/// Partner Center's largest page of audit records.
pub const MAX_PAGE_SIZE: u32 = 500;
/// How far behind now a poll reads the real Partner Center's log by default. A query covers up to a moment that
/// has passed, and the next one starts there: a record that reaches the log after its query's end has passed,
/// though dated before it, would never be read. Partner Center writes its log asynchronously, so a poll stays
/// two minutes behind; the sandbox writes each record as it accepts the call, and reads at once.
pub const REAL_LAG_SECS: u64 = 120;
/// A key shorter than this is too easily guessed.
const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriggerSettings {
    /// A file holding the key (its text, trimmed; at least 32 characters); e.g. a mounted Kubernetes secret.
    pub signing_key_file: Option<PathBuf>,
    /// The key itself, for `PCGW_TRIGGERS__SIGNING_KEY`; one or the other, not both.
    pub signing_key: Option<SecretString>,
    /// Audit records asked of Partner Center per poll (1 to 500).
    pub page_size: NonZeroU32,
    /// The `Retry-After` of a poll that read the log to its end: how long the platform waits before the next.
    pub poll_interval_secs: u64,
    /// How far behind now a poll reads, for records Partner Center writes into its log a little late; by
    /// default [`REAL_LAG_SECS`] against the real Partner Center, 0 in the sandbox profile. Read it with
    /// [`TriggerSettings::lag_secs`].
    pub lag_secs: Option<u64>,
}

impl Default for TriggerSettings {
    fn default() -> Self {
        Self {
            signing_key_file: None,
            signing_key: None,
            page_size: NonZeroU32::new(MAX_PAGE_SIZE).expect("not zero"),
            poll_interval_secs: 60,
            lag_secs: None,
        }
    }
}

impl TriggerSettings {
    pub(super) fn check(&self, sandbox: bool) -> Result<(), ConfigError> {
        if !sandbox && self.signing_key_file.is_none() && self.signing_key.is_none() {
            return Err(ConfigError::key(
                "triggers.signing_key_file",
                "is required with a real Partner Center (upstream.base_url): every replica, and the gateway after a restart, must sign the triggers' state with the same key; make one with openssl rand -base64 32",
            ));
        }
        if self.signing_key_file.is_some() && self.signing_key.is_some() {
            return Err(ConfigError::key(
                "triggers.signing_key",
                "give the key or triggers.signing_key_file, not both",
            ));
        }
        if let Some(key) = &self.signing_key {
            check_key("triggers.signing_key", key.expose_secret())?;
        }
        if self.page_size.get() > MAX_PAGE_SIZE {
            return Err(ConfigError::key(
                "triggers.page_size",
                format!("must be at most {MAX_PAGE_SIZE}, Partner Center's largest page"),
            ));
        }
        if self.poll_interval_secs == 0 || self.poll_interval_secs > 86_400 {
            return Err(ConfigError::key(
                "triggers.poll_interval_secs",
                "must be 1 to 86400 seconds",
            ));
        }
        if self.lag_secs.is_some_and(|lag| lag > 3_600) {
            return Err(ConfigError::key(
                "triggers.lag_secs",
                "must be at most 3600 seconds",
            ));
        }
        Ok(())
    }

    /// How many seconds behind now a poll reads: as configured, or the profile's default.
    pub fn lag_secs(&self, sandbox: bool) -> u64 {
        self.lag_secs
            .unwrap_or(if sandbox { 0 } else { REAL_LAG_SECS })
    }

    /// The configured key, read from its file if it has one; `None` when none is configured.
    pub fn signing_key(&self) -> Result<Option<SecretSlice<u8>>, ConfigError> {
        if let Some(key) = &self.signing_key {
            return Ok(Some(key.expose_secret().trim().as_bytes().to_vec().into()));
        }
        let Some(path) = &self.signing_key_file else {
            return Ok(None);
        };
        let text = SecretString::from(std::fs::read_to_string(path).map_err(|e| {
            ConfigError::key(
                "triggers.signing_key_file",
                format!("cannot read {}: {e}", path.display()),
            )
        })?);
        check_key("triggers.signing_key_file", text.expose_secret())?;
        Ok(Some(text.expose_secret().trim().as_bytes().to_vec().into()))
    }

    /// Keys whose change a running gateway does not take on.
    pub(super) fn changed_keys(&self, new: &Self, changed: &mut Vec<&'static str>) {
        let key = |s: &Self| s.signing_key.as_ref().map(|k| k.expose_secret().to_owned());
        if self.signing_key_file != new.signing_key_file || key(self) != key(new) {
            changed.push("triggers.signing_key");
        }
        if self.page_size != new.page_size
            || self.poll_interval_secs != new.poll_interval_secs
            || self.lag_secs != new.lag_secs
        {
            changed.push("triggers");
        }
    }
}

fn check_key(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().len() < MIN_KEY_BYTES {
        return Err(ConfigError::key(
            key,
            format!("must be at least {MIN_KEY_BYTES} characters (e.g. openssl rand -base64 32)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    #[test]
    fn the_triggers_section_checks_its_key_and_numbers() {
        let settings = Settings::from_toml("").unwrap();
        assert_eq!(settings.triggers.page_size.get(), 500);
        assert!(settings.triggers.signing_key().unwrap().is_none());
        let key = "k".repeat(32);
        let settings = Settings::from_toml(&format!(
            "[triggers]\nsigning_key = \"{key}\"\npage_size = 2\n"
        ))
        .unwrap();
        assert!(settings.triggers.signing_key().unwrap().is_some());
        for (toml, problem) in [
            ("signing_key = \"short\"", "triggers.signing_key"),
            ("page_size = 501", "triggers.page_size"),
            ("page_size = 0", "page_size"),
            ("poll_interval_secs = 0", "triggers.poll_interval_secs"),
            (
                "signing_key = \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"\nsigning_key_file = \"k\"",
                "not both",
            ),
        ] {
            let e = Settings::from_toml(&format!("[triggers]\n{toml}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(problem), "{toml}: {e}");
        }
        let e = Settings::from_toml("[triggers]\nsigning_key_file = \"/nonexistent/key\"\n")
            .unwrap()
            .triggers
            .signing_key()
            .unwrap_err()
            .to_string();
        assert!(e.contains("triggers.signing_key_file"), "{e}");
    }
}
