//! GetAllCustomers: `GET /v1/customers?Size=` → Partner Center `GET /v1/customers?size=`.
//!
//! Partner Center pages customers with a continuation token sent as a header; the gateway turns it into a
//! `nextLink` carrying `ContinuationToken`, and turns that back into the header and `seekOperation=Next`.

use axum::extract::State;
use axum::response::Response;

use crate::domain::{ContinuationToken, PageSize};
use crate::edge::paging::push_query;
use crate::edge::{Caller, Gateway, LinkBase, QueryParams, paged};
use crate::error::AppError;
use crate::openapi::models::CustomerCollection;
use crate::openapi::responses::CommonErrors;
use crate::upstream::{CallContext, UpstreamRequest};

/// Partner Center's own maximum page size for customers.
pub const MAX_SIZE: u32 = 500;

#[utoipa::path(
    get,
    path = "/v1/customers",
    operation_id = "GetAllCustomers",
    tag = "Customers",
    summary = "Get all customers",
    description = "Get a list of customers.",
    params(
        // A string, as in the original connector: flows built on it send text.
        ("Size" = Option<String>, Query, pattern = r"^([1-9]|[1-9][0-9]|[1-4][0-9]{2}|500)$", description = "The number of results to be displayed at one time.", extensions(("x-ms-summary" = json!("Size")))),
        ("ContinuationToken" = Option<String>, Query, pattern = r"^[!-~]{1,4096}$", description = "Where the next page starts; the gateway puts it in nextLink.", extensions(("x-ms-summary" = json!("Continuation token")), ("x-ms-visibility" = json!("internal")))),
    ),
    responses(
        (status = 200, description = "A page of customers, with nextLink when more follow.", body = CustomerCollection),
        CommonErrors,
    ),
    extensions(("x-ms-pageable" = json!({"nextLinkName": "nextLink"}))),
)]
pub async fn get_all_customers(
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
    let continuation = query
        .single("ContinuationToken")?
        .map(ContinuationToken::parse)
        .transpose()?;
    let size = size.map(|s| s.get().to_string());

    let mut path = String::from("/v1/customers");
    if let Some(size) = &size {
        push_query(&mut path, "size", size);
    }
    if continuation.is_some() {
        push_query(&mut path, "seekOperation", "Next");
    }
    let request = UpstreamRequest {
        continuation: continuation.as_ref(),
        ..UpstreamRequest::get(path)
    };
    let reply = gateway.call(&connection, &ctx, request).await?;
    paged(reply, |page| {
        let token = page.continuation_token()?;
        let mut link = format!("{base}/v1/customers");
        if let Some(size) = &size {
            push_query(&mut link, "Size", size);
        }
        push_query(&mut link, "ContinuationToken", token);
        Some(link)
    })
}
