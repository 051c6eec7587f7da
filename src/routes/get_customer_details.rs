//! GetCustomerDetails: `GET /v1/customers/{CustomerTenantID}` → the same path on Partner Center.

use axum::extract::State;
use axum::response::Response;

use crate::edge::{Caller, CustomerPath, Gateway, Plain};
use crate::error::AppError;
use crate::openapi::models::Customer;
use crate::openapi::responses::{CommonErrors, CustomerErrors};
use crate::upstream::CallContext;

#[utoipa::path(
    get,
    path = "/v1/customers/{CustomerTenantID}",
    operation_id = "GetCustomerDetails",
    tag = "Customers",
    summary = "Get customer details",
    description = "Gets a Customer resource that corresponds to a customer ID.",
    params(
        CustomerPath<Plain>,
    ),
    responses(
        (status = 200, description = "The customer.", body = Customer),
        CustomerErrors,
        CommonErrors,
    ),
)]
pub async fn get_customer_details(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    CustomerPath { customer, .. }: CustomerPath<Plain>,
) -> Result<Response, AppError> {
    let path = format!("/v1/customers/{customer}");
    gateway.get_json(&connection, &ctx, path).await
}
