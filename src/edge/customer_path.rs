//! `{CustomerTenantID}`, declared once: the extractor that validates it and the parameter the document describes
//! come from the same type, as crates.io's `CratePath` does for a crate name.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};

use super::PathParams;
use crate::domain::CustomerTenantId;
use crate::error::AppError;

/// What the document says a customer tenant ID must look like; [`CustomerTenantId::parse`] is what enforces it.
const PATTERN: &str =
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$";

/// How an operation's document describes the parameter.
pub trait Wording {
    const DESCRIPTION: &'static str;
}

/// The wording of most operations.
pub struct Possessive;

impl Wording for Possessive {
    const DESCRIPTION: &'static str = "A customer's tenant ID.";
}

/// GetCustomerDetails and GetCustomerOrders word it as the original connector does; the published contract keeps
/// each operation's text.
pub struct Plain;

impl Wording for Plain {
    const DESCRIPTION: &'static str = "A customer tenant ID.";
}

/// The customer a call is about, from the `{CustomerTenantID}` path segment, parsed.
pub struct CustomerPath<W = Possessive> {
    pub customer: CustomerTenantId,
    wording: PhantomData<W>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "CustomerTenantID")]
    customer: String,
}

impl<S: Send + Sync, W> FromRequestParts<S> for CustomerPath<W> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let PathParams(Raw { customer }) = PathParams::from_request_parts(parts, state).await?;
        Ok(CustomerPath {
            customer: CustomerTenantId::parse(&customer)?,
            wording: PhantomData,
        })
    }
}

impl<W: Wording> IntoParams for CustomerPath<W> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name("CustomerTenantID")
                .parameter_in(ParameterIn::Path)
                .description(Some(W::DESCRIPTION))
                .required(Required::True)
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(PATTERN)),
                ))
                .extensions(Some(
                    ExtensionsBuilder::new()
                        .add("x-ms-summary", "Customer tenant ID")
                        .build(),
                ))
                .build(),
        ]
    }
}
