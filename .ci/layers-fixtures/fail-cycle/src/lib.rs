//! A fake crate for `.ci/layers --self-test`: two modules of one layer that import each other.
//!
//! 1. base: `domain`
//! 2. components: `quota`, `edge`

pub mod domain;
pub mod edge;
pub mod quota;
