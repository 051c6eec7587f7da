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

use axum::Router;
use axum::middleware;
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::auth;
use crate::correlation;
use crate::error::AppError;
use crate::gateway::Gateway;

/// Builds the whole application; tests call it directly with `oneshot`, the server wraps it in a listener.
pub fn router(gateway: Gateway) -> Router {
    // Path parameters keep the original connector's names, so the connector definition's paths match ours.
    let operations = Router::new()
        .route("/v1/customers", get(get_all_customers::get_all_customers))
        .route(
            "/v1/customers/{CustomerTenantID}",
            get(get_customer_details::get_customer_details),
        )
        .route(
            "/v1/customers/{CustomerTenantID}/subscriptions",
            get(get_customer_subscription::get_customer_subscription),
        )
        .route(
            "/v1/customers/{CustomerTenantID}/orders",
            get(get_customer_orders::get_customer_orders),
        )
        .route(
            "/v1/customers/{CustomerTenantID}/partners/{PartnerId}/subscriptions",
            get(get_customer_subscriptions_by_partner::get_customer_subscriptions_by_partner),
        )
        .route(
            "/v1/customers/{CustomerTenantID}/agreements",
            get(get_customer_agreements::get_customer_agreements)
                .post(confirm_customer_agreement::confirm_customer_agreement),
        )
        .route(
            "/v1/agreements",
            get(get_agreement_metadata::get_agreement_metadata),
        )
        .route("/v1/invoices", get(get_invoices::get_invoices))
        // route_layer: only calls that match an operation are authenticated and counted against a quota, so a
        // mistyped path is a plain 404 that costs the caller nothing.
        .route_layer(middleware::from_fn_with_state(
            gateway.clone(),
            auth::authenticate,
        ));

    Router::new()
        .merge(operations)
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { AppError::NotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(
            // Outermost first. The correlation ID is set before anything else runs, so every answer, including a
            // 401, a 429 or a caught panic, carries it; tracing sits inside it so spans are per call; panics are
            // caught innermost and become a 500 that still passes through the other two.
            ServiceBuilder::new()
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
