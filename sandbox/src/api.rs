//! The Partner Center `/v1` endpoints other than agreements, and what all
//! of them share: bearer-token checks, query parsing, collections.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::data::{self, Customer, link};
use super::errors::PcError;
use super::tokens::AccessClaims;
use super::{Sandbox, demo};

pub(super) const MS_REQUEST_ID: &str = "ms-requestid";
pub(super) const MS_CORRELATION_ID: &str = "ms-correlationid";
const MS_CONTINUATION_TOKEN: &str = "ms-continuationtoken";

/// A caller holding a valid sandbox access token (app-only, or App+User with MFA).
pub(super) struct Caller(AccessClaims);

impl FromRequestParts<Arc<Sandbox>> for Caller {
    type Rejection = PcError;

    async fn from_request_parts(
        parts: &mut Parts,
        sandbox: &Arc<Sandbox>,
    ) -> Result<Self, Self::Rejection> {
        let Some(authorization) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(PcError::unauthorized(
                "Authorization header is missing. A bearer access token is required.",
            ));
        };
        let token = authorization
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                PcError::unauthorized("Authorization header must use the Bearer scheme.")
            })?;
        let claims =
            sandbox
                .tokens
                .verify_access_token(token)
                .map_err(|error| match error.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        PcError::unauthorized("The access token has expired.")
                    }
                    _ => PcError::unauthorized("The access token is invalid."),
                })?;
        if !claims.tid.eq_ignore_ascii_case(demo::PARTNER_TENANT_ID) {
            return Err(PcError::unauthorized(
                "The access token was not issued by the partner's tenant.",
            ));
        }
        // Every App+User call, whatever the operation; app-only tokens have no user to challenge.
        if claims.is_user() && !claims.has_mfa() {
            return Err(PcError::mfa_required());
        }
        Ok(Self(claims))
    }
}

/// A caller with an App+User token, which agreement operations demand.
pub(super) struct DelegatedCaller {
    pub(super) object_id: String,
}

impl FromRequestParts<Arc<Sandbox>> for DelegatedCaller {
    type Rejection = PcError;

    async fn from_request_parts(
        parts: &mut Parts,
        sandbox: &Arc<Sandbox>,
    ) -> Result<Self, Self::Rejection> {
        let Caller(claims) = Caller::from_request_parts(parts, sandbox).await?;
        match claims.oid {
            Some(object_id) if claims.is_user() => Ok(Self { object_id }),
            _ => Err(PcError::app_only_forbidden()),
        }
    }
}

/// Query parameters, matched case-insensitively as ASP.NET does (the
/// original connector sends `Size` and `Offset`).
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub(super) fn parse(raw: Option<String>) -> Self {
        Self(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    fn number(&self, key: &str, default: usize, range: (usize, usize)) -> Result<usize, PcError> {
        let Some(raw) = self.get(key) else {
            return Ok(default);
        };
        raw.trim()
            .parse::<usize>()
            .ok()
            .filter(|value| (range.0..=range.1).contains(value))
            .ok_or_else(|| {
                PcError::bad_request(format!(
                    "The '{key}' parameter must be an integer between {} and {}; got '{raw}'.",
                    range.0, range.1
                ))
            })
    }
}

pub(super) fn collection(items: Vec<Value>, self_uri: String, next: Option<Value>) -> Value {
    let mut links = json!({ "self": link(self_uri) });
    if let Some(next) = next {
        links["next"] = next;
    }
    json!({
        "totalCount": items.len(),
        "items": items,
        "links": links,
        "attributes": { "objectType": "Collection" },
    })
}

pub(super) fn find_customer<'a>(
    sandbox: &'a Sandbox,
    raw_id: &str,
) -> Result<&'a Customer, PcError> {
    if data::normalize_guid(raw_id).is_none() {
        return Err(PcError::bad_request(format!(
            "The customer id '{raw_id}' is not a valid GUID."
        )));
    }
    sandbox
        .data
        .customer(raw_id)
        .ok_or_else(PcError::customer_not_found)
}

/// How a sandbox continuation token (the customers' and the audit records') is framed: standard base64 of a
/// magic prefix of the token's kind, its payload, and an 8-byte tag (SHA-256 over a key of the kind and the
/// rest), enough to catch a client that mangles a token, which is all it is for.
pub(crate) struct Seal {
    pub(crate) magic: [u8; 4],
    pub(crate) key: &'static [u8],
}

impl Seal {
    fn tag(&self, framed: &[u8]) -> [u8; 8] {
        let digest = Sha256::new()
            .chain_update(self.key)
            .chain_update(framed)
            .finalize();
        let mut tag = [0u8; 8];
        tag.copy_from_slice(&digest[..8]);
        tag
    }

    pub(crate) fn seal(&self, payload: &[u8]) -> String {
        let mut bytes = self.magic.to_vec();
        bytes.extend(payload);
        let tag = self.tag(&bytes);
        bytes.extend(tag);
        STANDARD.encode(bytes)
    }

    /// The payload of `token`, of `len` bytes, if it is one of this kind, whole and untouched.
    pub(crate) fn open(&self, token: &str, len: usize) -> Option<Vec<u8>> {
        let bytes = STANDARD.decode(token.trim()).ok()?;
        let (framed, tag) = bytes.split_at_checked(self.magic.len() + len)?;
        if !framed.starts_with(&self.magic) || tag != self.tag(framed) {
            return None;
        }
        Some(framed[self.magic.len()..].to_vec())
    }
}

/// Continuation tokens are standard (not URL-safe) base64 and always contain
/// '+', '/' and '=': a client that mangles them while moving them between
/// the `links.next` header and its request is caught on the next page.
pub(super) mod continuation {
    use super::*;

    /// The magic encodes to "+/+/" followed by a version byte.
    const SEAL: Seal = Seal {
        magic: [0xFB, 0xFF, 0xBF, 0x01],
        key: b"partner-center-sandbox/customers-continuation",
    };

    pub(crate) fn encode(position: usize) -> String {
        SEAL.seal(&(position as u32).to_be_bytes())
    }

    pub(super) fn decode(token: &str) -> Option<usize> {
        let position: [u8; 4] = SEAL.open(token, 4)?.try_into().ok()?;
        Some(u32::from_be_bytes(position) as usize)
    }
}

pub(super) async fn list_customers(
    _caller: Caller,
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, PcError> {
    let query = Query::parse(raw_query);
    let size = query.number("size", 200, (1, 500))?;
    let customers = sandbox.data.customers();
    let presented = headers.get(MS_CONTINUATION_TOKEN);
    let start = match query.get("seekOperation") {
        None if presented.is_some() => {
            return Err(PcError::bad_request(
                "MS-ContinuationToken is only accepted together with seekOperation=Next.",
            ));
        }
        None => 0,
        Some(operation) if operation.eq_ignore_ascii_case("next") => {
            let Some(presented) = presented else {
                return Err(PcError::bad_request(
                    "seekOperation=Next requires the MS-ContinuationToken header.",
                ));
            };
            presented
                .to_str()
                .ok()
                .and_then(continuation::decode)
                .filter(|position| (1..customers.len()).contains(position))
                .ok_or_else(|| PcError::bad_request("The continuation token is invalid."))?
        }
        Some(other) => {
            return Err(PcError::bad_request(format!(
                "Unsupported seekOperation '{other}'."
            )));
        }
    };

    let end = (start + size).min(customers.len());
    let items = customers[start..end]
        .iter()
        .map(Customer::summary)
        .collect();
    let next = (end < customers.len()).then(|| {
        json!({
            "uri": format!("/customers?size={size}&seekOperation=Next"),
            "method": "GET",
            "headers": [{ "key": "MS-ContinuationToken", "value": continuation::encode(end) }],
        })
    });
    Ok(Json(collection(
        items,
        format!("/customers?size={size}"),
        next,
    )))
}

pub(super) async fn get_customer(
    _caller: Caller,
    State(sandbox): State<Arc<Sandbox>>,
    Path(customer_id): Path<String>,
) -> Result<Json<Value>, PcError> {
    Ok(Json(find_customer(&sandbox, &customer_id)?.detail()))
}

pub(super) async fn list_subscriptions(
    _caller: Caller,
    State(sandbox): State<Arc<Sandbox>>,
    Path(customer_id): Path<String>,
    RawQuery(raw_query): RawQuery,
) -> Result<Json<Value>, PcError> {
    let customer = find_customer(&sandbox, &customer_id)?;
    let query = Query::parse(raw_query);
    let mpn_id = query.get("mpn_id");
    if let Some(mpn_id) = mpn_id
        && (mpn_id.is_empty() || !mpn_id.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(PcError::bad_request(format!(
            "The mpn_id '{mpn_id}' is not a valid partner id."
        )));
    }
    let items = customer
        .portfolio()
        .subscriptions
        .into_iter()
        .filter(|subscription| mpn_id.is_none_or(|mpn_id| subscription["partnerId"] == mpn_id))
        .collect();
    let mut self_uri = format!("/customers/{}/subscriptions", customer.id);
    if let Some(mpn_id) = mpn_id {
        self_uri.push_str(&format!("?mpn_id={mpn_id}"));
    }
    Ok(Json(collection(items, self_uri, None)))
}

pub(super) async fn list_orders(
    _caller: Caller,
    State(sandbox): State<Arc<Sandbox>>,
    Path(customer_id): Path<String>,
) -> Result<Json<Value>, PcError> {
    let customer = find_customer(&sandbox, &customer_id)?;
    let items = customer.portfolio().orders;
    Ok(Json(collection(
        items,
        format!("/customers/{}/orders", customer.id),
        None,
    )))
}

pub(super) async fn list_invoices(
    _caller: Caller,
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw_query): RawQuery,
) -> Result<Json<Value>, PcError> {
    let query = Query::parse(raw_query);
    let size = query.number("size", 200, (1, 1000))?;
    let offset = query.number("offset", 0, (0, u32::MAX as usize))?;
    let invoices = sandbox.data.invoices();
    let start = offset.min(invoices.len());
    let end = offset.saturating_add(size).min(invoices.len());
    let next = (end < invoices.len())
        .then(|| link(format!("/invoices?size={size}&offset={}", offset + size)));
    Ok(Json(collection(
        invoices[start..end].to_vec(),
        format!("/invoices?size={size}&offset={offset}"),
        next,
    )))
}

pub(super) async fn unknown_path(uri: Uri) -> PcError {
    PcError::unknown_path(uri.path())
}

pub(super) async fn method_not_allowed(method: Method) -> PcError {
    PcError::method_not_allowed(method.as_str())
}
