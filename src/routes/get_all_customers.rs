//! GetAllCustomers: `GET /v1/customers?Size=` → Partner Center `GET /v1/customers?size=`.
//!
//! Partner Center pages customers with a continuation token sent as a header; the gateway turns it into a
//! `nextLink` carrying `ContinuationToken`, and turns that back into the header and `seekOperation=Next`.
//! ListCustomers is the same call with the page in the shape the platform's paging reads.

use axum::extract::State;
use axum::response::Response;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::connection::CallerConnection;
use crate::domain::{ContinuationToken, PageSize};
use crate::edge::paging::{Listing, PageShape, push_query};
use crate::edge::{Caller, Gateway, LinkBase, QueryParams, paged};
use crate::error::AppError;
use crate::openapi::models::CustomerCollection;
use crate::openapi::parameters::{optional_query, string_matching};
use crate::openapi::responses::CommonErrors;
use crate::upstream::{CallContext, UpstreamRequest};

/// Partner Center's own maximum page size for customers.
pub const MAX_SIZE: u32 = 500;

const LISTING: Listing = Listing {
    path: "/v1/customers",
    shape: PageShape::Items,
};

/// The query parameters of GetAllCustomers and ListCustomers.
pub struct CustomersQuery;

impl IntoParams for CustomersQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            // A string, as in the original connector: flows built on it send text.
            optional_query(
                "Size",
                string_matching(r"^([1-9]|[1-9][0-9]|[1-4][0-9]{2}|500)$"),
                "The number of results to be displayed at one time.",
                "Size",
                None,
            ),
            optional_query(
                "ContinuationToken",
                string_matching(r"^[!-~]{1,4096}$"),
                "Where the next page starts; the gateway puts it in nextLink.",
                "Continuation token",
                Some("internal"),
            ),
        ]
    }
}

#[utoipa::path(
    get,
    path = LISTING.path,
    operation_id = "GetAllCustomers",
    tag = "Customers",
    summary = "Get all customers",
    description = "Get a list of customers.",
    params(CustomersQuery),
    responses(
        (status = 200, description = "A page of customers, with nextLink when more follow.", body = CustomerCollection),
        CommonErrors,
    ),
)]
pub async fn get_all_customers(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    query: QueryParams,
    LinkBase(base): LinkBase,
) -> Result<Response, AppError> {
    customers(&gateway, &connection, &ctx, &query, &base, LISTING).await
}

/// A page of customers, whose `nextLink` leads back to `listing`'s path.
pub async fn customers(
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
    let reply = gateway.call(connection, ctx, request).await?;
    paged(reply, listing.shape, |page| {
        let token = page.continuation_token()?;
        let mut link = format!("{base}{}", listing.path);
        if let Some(size) = &size {
            push_query(&mut link, "Size", size);
        }
        push_query(&mut link, "ContinuationToken", token);
        Some(link)
    })
}
