//! The whole application's router: the operations behind authentication, the documents, and the middleware
//! stack around everything.

use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use super::call_layer::CallLayer;
use crate::connection::X_API_KEY;
use crate::connector;
use crate::edge::call_log::CallLog;
use crate::edge::observe::OperationIds;
use crate::edge::refusals::Refusals;
use crate::edge::{Gateway, operation};
use crate::error::AppError;
use crate::routes;

/// Builds the whole application; tests call it directly with `oneshot`, the server wraps it in a listener.
/// `demo` is the sandbox's try-it-out route and its description, served without authentication and listed in
/// `/openapi.json` (never in the connector package).
/// `metrics` is `/metrics`, when it is served on the main listener; `budgets`, what is refused on the head alone.
pub fn router(
    gateway: Gateway,
    demo: Option<(Router, utoipa::openapi::OpenApi)>,
    metrics: Option<Router<Gateway>>,
    budgets: super::budgets::RequestBudgets,
) -> Router {
    let (operations, api) = routes::operations()
        // route_layer: only calls that match an operation are authenticated and counted against a quota, so a
        // mistyped path is a plain 404 that costs the caller nothing. Outermost first:
        .route_layer(
            ServiceBuilder::new()
                // Every operation's answer names customers, invoices or agreements (its errors a connection's
                // quota): no cache may keep one. A handler that already says otherwise is left alone.
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                // The call counted and timed under its operationId, then authenticated and admitted by its
                // connection's quota, in one service (see `edge::operation`): observed outside
                // authentication, so that a refused call counts as its operation's call too.
                .layer(operation::OperationLayer::new(
                    gateway.clone(),
                    operation_ids(),
                )),
        )
        .split_for_parts();
    // The documents are built here, once, so serving them costs nothing per call.
    let (demo_routes, demo_api) = demo.unzip();
    let documents =
        connector::Documents::build(api, gateway.public_base_url.as_deref(), demo_api.as_ref())
            .expect("the OpenAPI document converts; the openapi tests prove it");

    Router::new()
        .merge(operations)
        .merge(demo_routes.map(|r| r.with_state(())).unwrap_or_default())
        .merge(connector::router(documents))
        // Outside the authentication layer: an admin key is not a connection's, and no quota counts it.
        .merge(routes::admin::router())
        .merge(routes::status::router())
        .merge(metrics.unwrap_or_default())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .fallback(|| async { AppError::NotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(
            // Outermost first. The correlation ID and the trace context are set before anything else runs, so
            // every answer, including a 401, a 429 or a caught panic, carries them; the call's log line is written
            // inside them, so it names both; the protocol's checks (one valid Host) and the budgets read from the
            // head (a declared body too large) run inside the log line, so a refused request is logged like any
            // call; panics are caught innermost and become a 500 that still
            // passes through the others, and is logged.
            ServiceBuilder::new()
                // Credentials are marked sensitive before anything can see them, so no Debug or trace of the
                // request's headers, now or added later, can print them.
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                    X_API_KEY.clone(),
                ]))
                // The answer's own headers, outside everything else so that every answer (an error, a caught
                // panic, a document, Swagger UI) gets them: no browser guesses a type other than the one sent,
                // and no page of the gateway (Swagger UI, the status page) can be framed by another site.
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("frame-ancestors 'none'"),
                ))
                // The correlation ID, the trace context, the call's log line, the protocol's check (one valid
                // Host) and the budgets read from the head (a declared body too large), in that order, in one
                // service (see `call_layer`): on the head alone, before any handler reads a body, and inside
                // the log line, so refusals are in it.
                .layer(CallLayer::new(call_log_state(), budgets))
                .layer(CatchPanicLayer::custom(|_| {
                    axum::response::IntoResponse::into_response(AppError::Internal(
                        "handler panicked".into(),
                    ))
                })),
        )
        .with_state(gateway)
}

/// Each operation's operationId by path and method, read from the document its routes are declared with. The
/// strings live as long as the process: the operations are the same for every gateway it builds, so they are
/// made once.
fn operation_ids() -> Arc<OperationIds> {
    static IDS: OnceLock<Arc<OperationIds>> = OnceLock::new();
    IDS.get_or_init(|| {
        let api = routes::operations().into_openapi();
        let mut found = Vec::new();
        for (path, item) in api.paths.paths {
            for (method, operation) in [
                (Method::GET, item.get),
                (Method::POST, item.post),
                (Method::PUT, item.put),
                (Method::PATCH, item.patch),
                (Method::DELETE, item.delete),
            ] {
                if let Some(id) = operation.and_then(|o| o.operation_id) {
                    let id: &'static str = Box::leak(id.into_boxed_str());
                    found.push((path.clone(), method, id));
                }
            }
        }
        Arc::new(OperationIds::new(found))
    })
    .clone()
}

/// The call log's view of the routes: their operationIds, and the query parameters each documents (every other
/// query value is redacted in the log): the operations' from their document, the connector documents' own.
/// The summaries of refusals are the gateway's own, so each router has its counters.
fn call_log_state() -> Arc<CallLog> {
    static DOCUMENTED: OnceLock<std::collections::HashMap<String, Vec<String>>> = OnceLock::new();
    let documented = DOCUMENTED.get_or_init(|| {
        let api = routes::operations().into_openapi();
        let mut documented: std::collections::HashMap<String, Vec<String>> = api
            .paths
            .paths
            .into_iter()
            .map(|(path, item)| {
                let names = [item.get, item.post, item.put, item.patch, item.delete]
                    .into_iter()
                    .flatten()
                    .flat_map(|operation| operation.parameters.unwrap_or_default())
                    // Every parameter is declared inline (`openapi::parameters`); a reference names none here,
                    // so its values would be redacted, never shown.
                    .filter_map(|p| match p {
                        utoipa::openapi::RefOr::T(p)
                            if p.parameter_in == utoipa::openapi::path::ParameterIn::Query =>
                        {
                            Some(p.name)
                        }
                        _ => None,
                    })
                    .collect();
                (path, names)
            })
            .collect();
        for (path, names) in connector::QUERY_PARAMETERS {
            documented.insert(
                (*path).to_owned(),
                names.iter().map(|n| (*n).to_owned()).collect(),
            );
        }
        documented
    });
    Arc::new(CallLog {
        ids: operation_ids(),
        documented: documented.clone(),
        refusals: Refusals::new(),
    })
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
