//! The whole application's router: the operations behind authentication, the documents, and the middleware
//! stack around everything.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;

use crate::connection::X_API_KEY;
use crate::connector;
use crate::correlation;
use crate::edge::call_log::{self, OperationIds};
use crate::edge::{Gateway, auth};
use crate::error::AppError;
use crate::routes;
use crate::trace_context;

/// Builds the whole application; tests call it directly with `oneshot`, the server wraps it in a listener.
/// `demo` is the sandbox's try-it-out route and its description, served without authentication and listed in
/// `/openapi.json` (never in the connector package).
pub fn router(gateway: Gateway, demo: Option<(Router, utoipa::openapi::OpenApi)>) -> Router {
    let (operations, api) = routes::operations()
        // route_layer: only calls that match an operation are authenticated and counted against a quota, so a
        // mistyped path is a plain 404 that costs the caller nothing.
        .route_layer(middleware::from_fn_with_state(
            gateway.clone(),
            auth::authenticate,
        ))
        .split_for_parts();
    // The documents are built here, once, so serving them costs nothing per call.
    let (demo_routes, demo_api) = demo.unzip();
    let operation_ids =
        OperationIds::from_documents(std::iter::once(&api).chain(demo_api.as_ref()));
    let documents =
        connector::Documents::build(api, gateway.public_base_url.as_deref(), demo_api.as_ref())
            .expect("the OpenAPI document converts; the openapi tests prove it");

    Router::new()
        .merge(operations)
        .merge(demo_routes.map(|r| r.with_state(())).unwrap_or_default())
        .merge(connector::router(documents))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .fallback(|| async { AppError::NotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(
            // Outermost first. The correlation ID and the trace context are set before anything else runs, so
            // every answer, including a 401, a 429 or a caught panic, carries them; the call's log line is written
            // inside them, so it names both; panics are caught innermost and become a 500 that still passes
            // through the others, and is logged.
            ServiceBuilder::new()
                // Credentials are marked sensitive before anything can see them, so no Debug or trace of the
                // request's headers, now or added later, can print them.
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                    X_API_KEY.clone(),
                ]))
                .layer(middleware::from_fn(correlation::middleware))
                .layer(middleware::from_fn(trace_context::middleware))
                .layer(middleware::from_fn_with_state(
                    operation_ids,
                    call_log::middleware,
                ))
                .layer(CatchPanicLayer::custom(|_| {
                    axum::response::IntoResponse::into_response(AppError::Internal(
                        "handler panicked".into(),
                    ))
                })),
        )
        .with_state(gateway)
}

/// 200 when ready, 503 when not, with the same body: what each check found (see [`crate::readiness`]). Neither
/// authenticated nor counted against a quota: load balancers and the kubelet call it, and it names no secret.
async fn readyz(State(gateway): State<Gateway>) -> Response {
    let report = gateway.readiness.report().await;
    let status = match report.ready() {
        true => StatusCode::OK,
        false => StatusCode::SERVICE_UNAVAILABLE,
    };
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(report),
    )
        .into_response()
}
