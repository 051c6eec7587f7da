//! A fake crate for `.ci/layers --self-test`: everything here points down, or only looks like an import of
//! `crate::config` (in comments, strings, raw strings, char literals and attributes that name no path).
//!
//! 1. base: `domain`
//! 2. edge: `edge`
//! 3. settings: `config`

pub mod config;
pub mod domain;
pub mod edge;
