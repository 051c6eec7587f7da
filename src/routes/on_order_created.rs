//! OnOrderCreated: `GET /v1/triggers/order-created`, a polling trigger over Partner Center's activity log (`GET /v1/auditrecords`) for
//! create_order. The polling itself is [`crate::edge::polling`]'s.

use axum::extract::State;
use axum::response::Response;

use crate::edge::polling::{self, OneCustomer};
use crate::edge::{Caller, Gateway, LinkBase, QueryParams};
use crate::error::AppError;
use crate::openapi::responses::{CommonErrors, TriggerAnswers};
use crate::triggers::Kind;
use crate::upstream::CallContext;

const PATH: &str = "/v1/triggers/order-created";

#[utoipa::path(
    get,
    path = PATH,
    operation_id = "OnOrderCreated",
    tag = "Triggers",
    summary = "When an order is created",
    description = "Triggers when an order is created for any customer, or for the one given (Partner Center's activity create_order). Each poll after the first is one call to Partner Center's activity log.",
    params(OneCustomer),
    responses(TriggerAnswers, CommonErrors),
    extensions(
        ("x-ms-trigger" = json!("batch")),
        ("x-ms-trigger-hint" = json!("To see it work now, place an order for a customer in Partner Center.")),
    ),
)]
pub async fn on_order_created(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    query: QueryParams,
    LinkBase(base): LinkBase,
) -> Result<Response, AppError> {
    let poll = polling::request(&query, Kind::OrderCreated, PATH, &base)?;
    polling::poll(&gateway, &connection, &ctx, poll).await
}
