//! ListCustomers: GetAllCustomers for the platform's Pagination setting, `GET /v1/paged/customers?Size=`.
//!
//! The same call to Partner Center, the same parameters; the page is `{"value": [...], "nextLink": "..."}`
//! (the customers exactly as GetAllCustomers lists them in `items`), and its `nextLink` leads here again.

use axum::extract::State;
use axum::response::Response;

use super::get_all_customers::{CustomersQuery, customers};
use crate::edge::paging::{Listing, PageShape};
use crate::edge::{Caller, Gateway, LinkBase, QueryParams};
use crate::error::AppError;
use crate::openapi::models::CustomerPage;
use crate::openapi::responses::CommonErrors;
use crate::upstream::CallContext;

const LISTING: Listing = Listing {
    path: "/v1/paged/customers",
    shape: PageShape::Value,
};

#[utoipa::path(
    get,
    path = LISTING.path,
    operation_id = "ListCustomers",
    tag = "Customers",
    summary = "List customers with pagination",
    description = "Get a list of customers in pages that the action's Pagination setting follows to the end.",
    params(CustomersQuery),
    responses(
        (status = 200, description = "A page of customers in value, with nextLink when more follow.", body = CustomerPage),
        CommonErrors,
    ),
    extensions(("x-ms-pageable" = json!({"nextLinkName": "nextLink"}))),
)]
pub async fn list_customers(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    query: QueryParams,
    LinkBase(base): LinkBase,
) -> Result<Response, AppError> {
    customers(&gateway, &connection, &ctx, &query, &base, LISTING).await
}
