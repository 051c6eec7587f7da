//! OnSubscriptionChanged: `GET /v1/triggers/subscription-changed`, a polling trigger over Partner Center's activity log (`GET /v1/auditrecords`) for
//! update_subscription, upgrade_subscription or convert_trial_subscription. The polling itself is [`crate::edge::polling`]'s.

use axum::extract::State;
use axum::response::Response;

use crate::edge::polling::{self, OneCustomer};
use crate::edge::{Caller, Gateway, LinkBase, QueryParams};
use crate::error::AppError;
use crate::openapi::responses::{CommonErrors, TriggerAnswers};
use crate::triggers::Kind;
use crate::upstream::CallContext;

const PATH: &str = "/v1/triggers/subscription-changed";

#[utoipa::path(
    get,
    path = PATH,
    operation_id = "OnSubscriptionChanged",
    tag = "Triggers",
    summary = "When a subscription changes",
    description = "Triggers when a subscription of any customer, or of the one given, is updated (its seats, its renewal or its status), upgraded, or converted from a trial (Partner Center's activities update_subscription, upgrade_subscription and convert_trial_subscription). Each poll after the first is one call to Partner Center's activity log.",
    params(OneCustomer),
    responses(TriggerAnswers, CommonErrors),
    extensions(
        ("x-ms-trigger" = json!("batch")),
        ("x-ms-trigger-hint" = json!("To see it work now, change the number of seats of a subscription in Partner Center.")),
    ),
)]
pub async fn on_subscription_changed(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    query: QueryParams,
    LinkBase(base): LinkBase,
) -> Result<Response, AppError> {
    let poll = polling::request(&query, Kind::SubscriptionChanged, PATH, &base)?;
    polling::poll(&gateway, &connection, &ctx, poll).await
}
