//! GetCustomerOrders: `GET /v1/customers/{CustomerTenantID}/orders` → the same path on Partner Center.

use axum::extract::State;
use axum::response::Response;

use crate::edge::{Caller, CustomerPath, Gateway, Plain};
use crate::error::AppError;
use crate::openapi::models::OrderCollection;
use crate::openapi::responses::{CommonErrors, CustomerErrors};
use crate::upstream::CallContext;

#[utoipa::path(
    get,
    path = "/v1/customers/{CustomerTenantID}/orders",
    operation_id = "GetCustomerOrders",
    tag = "Customers",
    summary = "Get customer orders",
    description = "Gets a collection of all the orders for a specified customer.",
    params(
        CustomerPath<Plain>,
    ),
    responses(
        (status = 200, description = "The customer's orders.", body = OrderCollection),
        CustomerErrors,
        CommonErrors,
    ),
)]
pub async fn get_customer_orders(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    CustomerPath { customer, .. }: CustomerPath<Plain>,
) -> Result<Response, AppError> {
    let path = format!("/v1/customers/{customer}/orders");
    gateway.get_json(&connection, &ctx, path).await
}
