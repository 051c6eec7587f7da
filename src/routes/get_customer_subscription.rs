//! GetCustomerSubscription: `GET /v1/customers/{CustomerTenantID}/subscriptions` → the same path on Partner Center.

use axum::extract::State;
use axum::response::Response;

use crate::domain::CustomerTenantId;
use crate::error::AppError;
use crate::gateway::{Caller, Gateway, PathParam, json};
use crate::upstream::{CallContext, UpstreamRequest};

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
