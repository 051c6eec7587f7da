//! The contract: what the gateway answers, described.
//!
//! - [`document`]: the OpenAPI 3.1 document's base and finish; the routes generate the rest from the operations
//!   themselves, with the [`models`] of what they answer, the shared error [`responses`], and the [`display`]
//!   names makers see.

pub mod display;
pub mod document;
pub mod models;
pub mod parameters;
pub mod responses;
