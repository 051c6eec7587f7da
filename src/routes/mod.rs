//! The operations: one file each, collected with their descriptions; and, apart from them, the administrator's
//! endpoints ([`admin`], and the status page, [`status`]).

pub mod admin;
mod confirm_customer_agreement;
mod get_activity_types;
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
mod on_activity_recorded;
mod on_customer_added;
mod on_order_created;
mod on_subscription_changed;
pub mod status;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::edge::Gateway;
use crate::openapi::document;

/// The operations and the OpenAPI document that describes them, from the same `routes!` calls: a route cannot
/// exist without its description, nor a description without its route.
pub(crate) fn operations() -> OpenApiRouter<Gateway> {
    // Path parameters keep the original connector's names, so the connector definition's paths match ours.
    OpenApiRouter::with_openapi(document::base())
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
        // Polling triggers over Partner Center's activity log, and the list the last one picks from.
        .routes(routes!(on_customer_added::on_customer_added))
        .routes(routes!(on_order_created::on_order_created))
        .routes(routes!(on_subscription_changed::on_subscription_changed))
        .routes(routes!(on_activity_recorded::on_activity_recorded))
        .routes(routes!(get_activity_types::get_activity_types))
}

/// The finished OpenAPI 3.1 document of this build, as committed in `openapi/openapi.json`: the operations' own,
/// with what [`document::finish`] adds, and the local server.
pub fn openapi() -> serde_json::Value {
    let mut doc = document::finish(&operations().into_openapi())
        .expect("every schema property has a display name");
    document::set_server(
        &mut doc,
        document::LOCAL_SERVER,
        Some(document::LOCAL_SERVER_DESCRIPTION),
    );
    doc
}
