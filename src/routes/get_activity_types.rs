//! GetActivityTypes: `GET /v1/triggers/activity-types`, the activities "When an activity is recorded" can watch
//! for, which the designer offers as a list (`x-ms-dynamic-values`). Answered by the gateway: the list is its
//! own, not Partner Center's, so it costs no call to Partner Center (only one of the connection's quota).

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use crate::edge::{Caller, json_response};
use crate::error::AppError;
use crate::openapi::models::ActivityTypeList;
use crate::openapi::responses::CommonErrors;
use crate::triggers::OPERATION_TYPES;

#[utoipa::path(
    get,
    path = "/v1/triggers/activity-types",
    operation_id = "GetActivityTypes",
    tag = "Triggers",
    summary = "Get activity types",
    description = "Lists the activities of Partner Center's activity log that the trigger When an activity is recorded can watch for, named in the caller's language (Accept-Language: en-US or pt-BR).",
    responses(
        (status = 200, description = "The activities.", body = ActivityTypeList),
        CommonErrors,
    ),
    extensions(("x-ms-visibility" = json!("internal"))),
)]
pub async fn get_activity_types(
    // Only a connection may list them, as with every operation, so the quota counts the call.
    _caller: Caller,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let portuguese = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("pt"));
    let value: Vec<_> = OPERATION_TYPES
        .iter()
        .map(|known| {
            json!({
                "operationType": known.name,
                "displayName": if portuguese { known.pt_br } else { known.en_us },
            })
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "value": value }))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(json_response(StatusCode::OK, body.into()))
}
