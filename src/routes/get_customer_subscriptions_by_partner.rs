//! GetCustomerSubscriptionsByPartner: `GET /v1/customers/{CustomerTenantID}/partners/{PartnerId}/subscriptions`
//! → Partner Center `GET /v1/customers/{id}/subscriptions?mpn_id={PartnerId}`: the subscriptions one partner
//! (by MPN ID) sold to the customer.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::domain::PartnerId;
use crate::edge::{Caller, CustomerPath, Gateway, PathParams};
use crate::error::AppError;
use crate::openapi::models::SubscriptionCollection;
use crate::openapi::responses::{CommonErrors, CustomerErrors};
use crate::upstream::CallContext;

#[derive(Deserialize)]
pub struct PartnerPath {
    #[serde(rename = "PartnerId")]
    partner: String,
}

#[utoipa::path(
    get,
    path = "/v1/customers/{CustomerTenantID}/partners/{PartnerId}/subscriptions",
    operation_id = "GetCustomerSubscriptionsByPartner",
    tag = "Customers",
    summary = "Get customer subscriptions by partner ID",
    description = "Gets the subscriptions that a given partner sold to a specified customer.",
    params(
        CustomerPath,
        ("PartnerId" = String, Path, pattern = r"^[0-9]{1,18}$", description = "The partner's Microsoft AI Cloud Partner Program ID (MPN ID), digits only.", extensions(("x-ms-summary" = json!("Partner ID")))),
    ),
    responses(
        (status = 200, description = "The subscriptions the partner sold to the customer.", body = SubscriptionCollection),
        CustomerErrors,
        CommonErrors,
    ),
)]
pub async fn get_customer_subscriptions_by_partner(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    CustomerPath { customer, .. }: CustomerPath,
    PathParams(PartnerPath { partner }): PathParams<PartnerPath>,
) -> Result<Response, AppError> {
    let partner = PartnerId::parse(&partner)?;
    let path = format!(
        "/v1/customers/{customer}/subscriptions?mpn_id={}",
        partner.as_str()
    );
    gateway.get_json(&connection, &ctx, path).await
}
