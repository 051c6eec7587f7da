//! GetInvoices: `GET /v1/invoices?Size=&Offset=` → Partner Center `GET /v1/invoices?size=&offset=`.
//!
//! Invoices page by offset; the `nextLink` asks for the page that starts after the items just returned.
//! ListInvoices is the same call with the page in the shape the platform's paging reads.

use axum::extract::State;
use axum::response::Response;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::connection::CallerConnection;
use crate::domain::{Offset, PageSize};
use crate::edge::paging::{Listing, PageShape, push_query};
use crate::edge::{Caller, Gateway, LinkBase, QueryParams, paged};
use crate::error::AppError;
use crate::openapi::models::InvoiceCollection;
use crate::openapi::parameters::{integer_between, optional_query, string_matching};
use crate::openapi::responses::CommonErrors;
use crate::upstream::{CallContext, UpstreamRequest};

/// Refuses absurd page sizes before Partner Center has to.
pub const MAX_SIZE: u32 = 1000;

const LISTING: Listing = Listing {
    path: "/v1/invoices",
    shape: PageShape::Items,
};

/// The query parameters of GetInvoices and ListInvoices.
pub struct InvoicesQuery;

impl IntoParams for InvoicesQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            optional_query(
                "Size",
                integer_between(1, MAX_SIZE as i32),
                "The number of invoice resources to return in the response. This parameter is optional.",
                "Size",
                None,
            ),
            // A string, as in the original connector.
            optional_query(
                "Offset",
                string_matching(r"^[0-9]{1,9}$"),
                "The zero-based index of the first invoice to return.",
                "Offset",
                None,
            ),
        ]
    }
}

#[utoipa::path(
    get,
    path = LISTING.path,
    operation_id = "GetInvoices",
    tag = "Billing",
    summary = "Get invoices",
    description = "Get a collection of invoices.",
    params(InvoicesQuery),
    responses(
        (status = 200, description = "A page of invoices, with nextLink when more follow.", body = InvoiceCollection),
        CommonErrors,
    ),
)]
pub async fn get_invoices(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    query: QueryParams,
    LinkBase(base): LinkBase,
) -> Result<Response, AppError> {
    invoices(&gateway, &connection, &ctx, &query, &base, LISTING).await
}

/// A page of invoices, whose `nextLink` leads back to `listing`'s path.
pub async fn invoices(
    gateway: &Gateway,
    connection: &CallerConnection,
    ctx: &CallContext,
    query: &QueryParams,
    base: &str,
    listing: Listing,
) -> Result<Response, AppError> {
    let size = query
        .single("Size")?
        .map(|s| PageSize::parse(s, MAX_SIZE))
        .transpose()?;
    let offset = query.single("Offset")?.map(Offset::parse).transpose()?;
    let size = size.map(|s| s.get().to_string());

    let mut path = String::from("/v1/invoices");
    if let Some(size) = &size {
        push_query(&mut path, "size", size);
    }
    if let Some(offset) = offset {
        push_query(&mut path, "offset", &offset.get().to_string());
    }
    let reply = gateway
        .call(connection, ctx, UpstreamRequest::get(path))
        .await?;
    paged(reply, listing.shape, |page| {
        if !page.has_next() || page.items() == 0 {
            return None;
        }
        let next = offset.unwrap_or_default().get().checked_add(page.items())?;
        let mut link = format!("{base}{}", listing.path);
        if let Some(size) = &size {
            push_query(&mut link, "Size", size);
        }
        push_query(&mut link, "Offset", &next.to_string());
        Some(link)
    })
}
