//! `POST /admin/reload`, for the gateway's administrator: read the configuration again and apply what can change
//! live, as SIGHUP does (see `startup::reload`).
//!
//! Not an operation of the contract, so not in `/openapi.json` nor in the connector package: the document is what
//! makers' flows and generated clients are built from, and what the fuzzing and generated-client checks call, none
//! of which has any business reloading the gateway. The README documents it for administrators.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::edge::{Gateway, auth};
use crate::error::AppError;

pub const RELOAD_PATH: &str = "/admin/reload";

pub fn router() -> Router<Gateway> {
    Router::new().route(RELOAD_PATH, post(reload))
}

/// 200 with what changed; 422 `InvalidConfiguration` naming the key at fault, and nothing changed; 401 without an
/// admin key; 404 when the configuration names none.
async fn reload(State(gateway): State<Gateway>, headers: HeaderMap) -> Result<Response, AppError> {
    auth::admin(&gateway, &headers)?;
    match gateway.reloads.reload().await {
        Some(Ok(summary)) => Ok(axum::Json(summary).into_response()),
        Some(Err(problem)) => Err(AppError::InvalidConfiguration(problem)),
        None => Err(AppError::Internal(
            "the gateway is stopping and reloads no more".into(),
        )),
    }
}
