//! OnCustomerAdded: `GET /v1/triggers/customer-added`, a polling trigger over Partner Center's activity log (`GET /v1/auditrecords`) for
//! add_customer. The polling itself is [`crate::edge::polling`]'s.

use axum::extract::State;
use axum::response::Response;

use crate::edge::polling::{self, AllCustomers};
use crate::edge::{Caller, Gateway, LinkBase, QueryParams};
use crate::error::AppError;
use crate::openapi::responses::{CommonErrors, TriggerAnswers};
use crate::triggers::Kind;
use crate::upstream::CallContext;

const PATH: &str = "/v1/triggers/customer-added";

#[utoipa::path(
    get,
    path = PATH,
    operation_id = "OnCustomerAdded",
    tag = "Triggers",
    summary = "When a customer is added",
    description = "Triggers when a customer is added to the partner's customers (Partner Center's activity add_customer). Each poll after the first is one call to Partner Center's activity log.",
    params(AllCustomers),
    responses(TriggerAnswers, CommonErrors),
    extensions(
        ("x-ms-trigger" = json!("batch")),
        ("x-ms-trigger-hint" = json!("To see it work now, add a customer in Partner Center.")),
    ),
)]
pub async fn on_customer_added(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    query: QueryParams,
    LinkBase(base): LinkBase,
) -> Result<Response, AppError> {
    let poll = polling::request(&query, Kind::CustomerAdded, PATH, &base)?;
    polling::poll(&gateway, &connection, &ctx, poll).await
}
