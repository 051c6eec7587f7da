//! A mod.rs is its folder's module: `super` is the crate root.

use super::config::Settings;
