//! ListInvoices: GetInvoices for the platform's Pagination setting, `GET /v1/paged/invoices?Size=&Offset=`.
//!
//! The same call to Partner Center, the same parameters; the page is `{"value": [...], "nextLink": "..."}`
//! (the invoices exactly as GetInvoices lists them in `items`), and its `nextLink` leads here again.

use axum::extract::State;
use axum::response::Response;

use super::get_invoices::{InvoicesQuery, invoices};
use crate::edge::paging::{Listing, PageShape};
use crate::edge::{Caller, Gateway, LinkBase, QueryParams};
use crate::error::AppError;
use crate::openapi::models::InvoicePage;
use crate::openapi::responses::CommonErrors;
use crate::upstream::CallContext;

const LISTING: Listing = Listing {
    path: "/v1/paged/invoices",
    shape: PageShape::Value,
};

#[utoipa::path(
    get,
    path = LISTING.path,
    operation_id = "ListInvoices",
    tag = "Billing",
    summary = "List invoices with pagination",
    description = "Get a collection of invoices in pages that the action's Pagination setting follows to the end.",
    params(InvoicesQuery),
    responses(
        (status = 200, description = "A page of invoices in value, with nextLink when more follow.", body = InvoicePage),
        CommonErrors,
    ),
    extensions(("x-ms-pageable" = json!({"nextLinkName": "nextLink"}))),
)]
pub async fn list_invoices(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    query: QueryParams,
    LinkBase(base): LinkBase,
) -> Result<Response, AppError> {
    invoices(&gateway, &connection, &ctx, &query, &base, LISTING).await
}
