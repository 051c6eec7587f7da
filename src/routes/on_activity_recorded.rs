//! OnActivityRecorded: `GET /v1/triggers/activity-recorded`, a polling trigger over Partner Center's activity log (`GET /v1/auditrecords`) for
//! the activity chosen in OperationType. The polling itself is [`crate::edge::polling`]'s.

use axum::extract::State;
use axum::response::Response;

use crate::edge::polling::{self, OneActivity};
use crate::edge::{Caller, Gateway, LinkBase, QueryParams};
use crate::error::AppError;
use crate::openapi::responses::{CommonErrors, TriggerAnswers};
use crate::triggers::Kind;
use crate::upstream::CallContext;

const PATH: &str = "/v1/triggers/activity-recorded";

#[utoipa::path(
    get,
    path = PATH,
    operation_id = "OnActivityRecorded",
    tag = "Triggers",
    summary = "When an activity is recorded",
    description = "Triggers when Partner Center's activity log records the chosen activity, for any customer or for the one given. Each poll after the first is one call to Partner Center's activity log.",
    params(OneActivity),
    responses(TriggerAnswers, CommonErrors),
    extensions(
        ("x-ms-trigger" = json!("batch")),
        ("x-ms-trigger-hint" = json!("To see it work now, perform the chosen activity in Partner Center.")),
    ),
)]
pub async fn on_activity_recorded(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    query: QueryParams,
    LinkBase(base): LinkBase,
) -> Result<Response, AppError> {
    let poll = polling::request(&query, Kind::ActivityRecorded, PATH, &base)?;
    polling::poll(&gateway, &connection, &ctx, poll).await
}
