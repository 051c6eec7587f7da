//! GetCustomerSubscription: `GET /v1/customers/{CustomerTenantID}/subscriptions` → the same path on Partner Center.

use axum::extract::State;
use axum::response::Response;

use crate::edge::{Caller, CustomerPath, Gateway};
use crate::error::AppError;
use crate::openapi::models::SubscriptionCollection;
use crate::openapi::responses::{CommonErrors, CustomerErrors};
use crate::upstream::CallContext;

#[utoipa::path(
    get,
    path = "/v1/customers/{CustomerTenantID}/subscriptions",
    operation_id = "GetCustomerSubscription",
    tag = "Customers",
    summary = "Get customer subscriptions",
    description = "Gets a collection of all the subscriptions for a specified customer.",
    params(
        CustomerPath,
    ),
    responses(
        (status = 200, description = "The customer's subscriptions.", body = SubscriptionCollection),
        CustomerErrors,
        CommonErrors,
    ),
)]
pub async fn get_customer_subscription(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    CustomerPath { customer, .. }: CustomerPath,
) -> Result<Response, AppError> {
    let path = format!("/v1/customers/{customer}/subscriptions");
    gateway.get_json(&connection, &ctx, path).await
}
