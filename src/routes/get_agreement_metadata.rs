//! GetAgreementMetadata: `GET /v1/agreements?AgreementType=` → Partner Center `GET /v1/agreements?agreementType=`.
//!
//! The Microsoft Customer Agreement's metadata gives the `templateId` that ConfirmCustomerAgreement needs, so
//! that is the default; Partner Center's own default (the Microsoft Cloud Agreement) is one `AgreementType` away.

use axum::extract::State;
use axum::response::Response;

use crate::domain::AgreementType;
use crate::edge::{Caller, Gateway, QueryParams};
use crate::error::AppError;
use crate::openapi::models::AgreementMetadataCollection;
use crate::openapi::responses::CommonErrors;
use crate::upstream::CallContext;

#[utoipa::path(
    get,
    path = "/v1/agreements",
    operation_id = "GetAgreementMetadata",
    tag = "Agreements",
    summary = "Get agreement metadata",
    description = "Gets the agreement types and their templates, such as the template ID of the Microsoft Customer Agreement.",
    params(
        ("AgreementType" = Option<String>, Query, pattern = r"^(MicrosoftCustomerAgreement|MicrosoftCloudAgreement|\*)$", description = "The agreement type: MicrosoftCustomerAgreement (the default), MicrosoftCloudAgreement, or * for all.", extensions(("x-ms-summary" = json!("Agreement type")))),
    ),
    responses(
        (status = 200, description = "The agreement types and their templates.", body = AgreementMetadataCollection),
        CommonErrors,
    ),
)]
pub async fn get_agreement_metadata(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    query: QueryParams,
) -> Result<Response, AppError> {
    let kind = query
        .single("AgreementType")?
        .unwrap_or(AgreementType::MICROSOFT_CUSTOMER_AGREEMENT);
    let kind = AgreementType::parse(kind)?;
    let path = format!("/v1/agreements?agreementType={}", kind.as_str());
    gateway.get_json(&connection, &ctx, path).await
}
