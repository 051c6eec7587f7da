//! GetCustomerAgreements: `GET /v1/customers/{CustomerTenantID}/agreements?AgreementType=` → the same on
//! Partner Center: the agreements confirmed for a customer, optionally of one type.

use axum::extract::State;
use axum::response::Response;

use crate::domain::AgreementType;
use crate::edge::{Caller, CustomerPath, Gateway, QueryParams};
use crate::error::AppError;
use crate::openapi::models::AgreementCollection;
use crate::openapi::responses::{CommonErrors, CustomerErrors};
use crate::upstream::CallContext;

#[utoipa::path(
    get,
    path = "/v1/customers/{CustomerTenantID}/agreements",
    operation_id = "GetCustomerAgreements",
    tag = "Agreements",
    summary = "Get customer agreements",
    description = "Gets the agreements confirmed for a specified customer.",
    params(
        CustomerPath,
        ("AgreementType" = Option<String>, Query, pattern = r"^(MicrosoftCustomerAgreement|MicrosoftCloudAgreement|\*)$", description = "Only agreements of this type, such as MicrosoftCustomerAgreement; every type when left empty.", extensions(("x-ms-summary" = json!("Agreement type")))),
    ),
    responses(
        (status = 200, description = "The customer's agreements.", body = AgreementCollection),
        CustomerErrors,
        CommonErrors,
    ),
)]
pub async fn get_customer_agreements(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    CustomerPath { customer, .. }: CustomerPath,
    query: QueryParams,
) -> Result<Response, AppError> {
    let kind = query
        .single("AgreementType")?
        .map(AgreementType::parse)
        .transpose()?;
    let mut path = format!("/v1/customers/{customer}/agreements");
    if let Some(kind) = kind {
        path.push_str("?agreementType=");
        path.push_str(kind.as_str());
    }
    gateway.get_json(&connection, &ctx, path).await
}
