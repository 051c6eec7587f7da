//! GetInvoices: `GET /v1/invoices?Size=&Offset=` → Partner Center `GET /v1/invoices?size=&offset=`.
//!
//! Invoices page by offset; the `nextLink` asks for the page that starts after the items just returned.

use axum::extract::State;
use axum::response::Response;

use crate::domain::{Offset, PageSize};
use crate::edge::paging::push_query;
use crate::edge::{Caller, Gateway, LinkBase, QueryParams, paged};
use crate::error::AppError;
use crate::openapi::models::InvoiceCollection;
use crate::openapi::responses::CommonErrors;
use crate::upstream::{CallContext, UpstreamRequest};

/// Refuses absurd page sizes before Partner Center has to.
pub const MAX_SIZE: u32 = 1000;

#[utoipa::path(
    get,
    path = "/v1/invoices",
    operation_id = "GetInvoices",
    tag = "Billing",
    summary = "Get invoices",
    description = "Get a collection of invoices.",
    params(
        ("Size" = Option<i32>, Query, minimum = 1, maximum = 1000, description = "The number of invoice resources to return in the response. This parameter is optional.", extensions(("x-ms-summary" = json!("Size")))),
        // A string, as in the original connector.
        ("Offset" = Option<String>, Query, pattern = r"^[0-9]{1,9}$", description = "The zero-based index of the first invoice to return.", extensions(("x-ms-summary" = json!("Offset")))),
    ),
    responses(
        (status = 200, description = "A page of invoices, with nextLink when more follow.", body = InvoiceCollection),
        CommonErrors,
    ),
    extensions(("x-ms-pageable" = json!({"nextLinkName": "nextLink"}))),
)]
pub async fn get_invoices(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    query: QueryParams,
    LinkBase(base): LinkBase,
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
        .call(&connection, &ctx, UpstreamRequest::get(path))
        .await?;
    paged(reply, |page| {
        if !page.has_next() || page.items() == 0 {
            return None;
        }
        let next = offset.unwrap_or_default().get().checked_add(page.items())?;
        let mut link = format!("{base}/v1/invoices");
        if let Some(size) = &size {
            push_query(&mut link, "Size", size);
        }
        push_query(&mut link, "Offset", &next.to_string());
        Some(link)
    })
}
