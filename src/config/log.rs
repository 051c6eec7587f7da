//! `[log]`: how the log is written. Which lines are written is `RUST_LOG`'s (default `info`), as for any
//! program built on `tracing`.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` (the default: one readable line per event) or `json` (one JSON object per line, for a log
    /// collector). `--log-format` on the command line wins over it.
    pub format: LogFormat,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}
