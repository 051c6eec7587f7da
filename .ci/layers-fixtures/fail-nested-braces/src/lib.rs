//! A fake crate for `.ci/layers --self-test`.
//!
//! 1. base: `domain`
//! 2. edge: `edge`
//! 3. settings: `config`

pub mod config;
pub mod domain;
pub mod edge;
