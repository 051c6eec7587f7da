//! GetCustomerSubscription: `GET /v1/customers/{CustomerTenantID}/subscriptions` → the same path on Partner Center.

use axum::extract::State;
use axum::response::Response;

use crate::domain::CustomerTenantId;
use crate::error::AppError;
use crate::gateway::{Caller, Gateway, PathParam, json};
use crate::openapi::models::SubscriptionCollection;
use crate::openapi::responses::{CommonErrors, CustomerErrors};
use crate::upstream::{CallContext, UpstreamRequest};

#[utoipa::path(
    get,
    path = "/v1/customers/{CustomerTenantID}/subscriptions",
    operation_id = "GetCustomerSubscription",
    tag = "Customers",
    summary = "Get customer subscriptions",
    description = "Gets a collection of all the subscriptions for a specified customer.",
    params(
        ("CustomerTenantID" = String, Path, pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$", description = "A customer's tenant ID.", extensions(("x-ms-summary" = json!("Customer tenant ID")))),
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
    PathParam(customer): PathParam,
) -> Result<Response, AppError> {
    let customer = CustomerTenantId::parse(&customer)?;
    let path = format!("/v1/customers/{customer}/subscriptions");
    json(
        gateway
            .call(&connection, &ctx, UpstreamRequest::get(path))
            .await?,
    )
}
