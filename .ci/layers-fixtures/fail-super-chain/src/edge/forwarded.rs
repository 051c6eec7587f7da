//! `super` is `crate::edge`, and its `super` the crate root.

use super::super::config::Settings;
