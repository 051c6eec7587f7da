//! The HTTP surface: one file per operation, and the router that stacks the middleware around them.

mod confirm_customer_agreement;
mod get_agreement_metadata;
mod get_all_customers;
mod get_customer_agreements;
mod get_customer_details;
mod get_customer_orders;
mod get_customer_subscription;
mod get_customer_subscriptions_by_partner;
mod get_invoices;
mod list_customers;
mod list_invoices;

use axum::Router;
use axum::http::header;
use axum::middleware;
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth;
use crate::correlation;
use crate::error::AppError;
use crate::gateway::Gateway;
use crate::openapi;

/// The operations and the OpenAPI document that describes them, from the same `routes!` calls: a route cannot
/// exist without its description, nor a description without its route.
fn operations() -> OpenApiRouter<Gateway> {
    // Path parameters keep the original connector's names, so the connector definition's paths match ours.
    OpenApiRouter::with_openapi(openapi::document::base())
        .routes(routes!(get_all_customers::get_all_customers))
        .routes(routes!(get_customer_details::get_customer_details))
        .routes(routes!(
            get_customer_subscription::get_customer_subscription
        ))
        .routes(routes!(get_customer_orders::get_customer_orders))
        .routes(routes!(
            get_customer_subscriptions_by_partner::get_customer_subscriptions_by_partner
        ))
        .routes(routes!(
            get_customer_agreements::get_customer_agreements,
            confirm_customer_agreement::confirm_customer_agreement
        ))
        .routes(routes!(get_agreement_metadata::get_agreement_metadata))
        .routes(routes!(get_invoices::get_invoices))
        // The paged twins of GetAllCustomers and GetInvoices, for the platform's Pagination setting.
        .routes(routes!(list_customers::list_customers))
        .routes(routes!(list_invoices::list_invoices))
}

/// The OpenAPI 3.1 document of the operations, as utoipa generates it (see [`openapi::document`] for what is
/// added to it before it is served).
pub fn openapi() -> utoipa::openapi::OpenApi {
    operations().into_openapi()
}

/// Builds the whole application; tests call it directly with `oneshot`, the server wraps it in a listener.
/// `demo` is the sandbox's try-it-out route and its description, served without authentication and listed in
/// `/openapi.json` (never in the connector package).
pub fn router(gateway: Gateway, demo: Option<(Router, utoipa::openapi::OpenApi)>) -> Router {
    let (operations, api) = operations()
        // route_layer: only calls that match an operation are authenticated and counted against a quota, so a
        // mistyped path is a plain 404 that costs the caller nothing.
        .route_layer(middleware::from_fn_with_state(
            gateway.clone(),
            auth::authenticate,
        ))
        .split_for_parts();
    // The documents are built here, once, so serving them costs nothing per call.
    let (demo_routes, demo_api) = demo.unzip();
    let documents =
        openapi::Documents::build(api, gateway.public_base_url.as_deref(), demo_api.as_ref())
            .expect("the OpenAPI document converts; the openapi tests prove it");

    Router::new()
        .merge(operations)
        .merge(demo_routes.map(|r| r.with_state(())).unwrap_or_default())
        .merge(openapi::router(documents))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { AppError::NotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(
            // Outermost first. The correlation ID is set before anything else runs, so every answer, including a
            // 401, a 429 or a caught panic, carries it; tracing sits inside it so spans are per call; panics are
            // caught innermost and become a 500 that still passes through the other two.
            ServiceBuilder::new()
                // Credentials are marked sensitive before anything can see them, so no Debug or trace of the
                // request's headers, now or added later, can print them.
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                    crate::connections::X_API_KEY.clone(),
                ]))
                .layer(middleware::from_fn(correlation::middleware))
                .layer(TraceLayer::new_for_http())
                .layer(CatchPanicLayer::custom(|_| {
                    axum::response::IntoResponse::into_response(AppError::Internal(
                        "handler panicked".into(),
                    ))
                })),
        )
        .with_state(gateway)
}
