//! The answer to a trigger's poll, in the polling contract Logic Apps and Power Automate follow: `202 Accepted`
//! with `Location` (the next poll's URL, holding the state) and `Retry-After` when nothing is new; `200` with
//! the new records in `value` (a batch: the flow runs once for each) and the same headers when something is;
//! `Retry-After: 0` when more records are waiting.
//!
//! Each poll but the first is one call to Partner Center's activity log, made on the caller's connection (so it
//! went through the same authentication and quota as any operation): a page of a new query from the cursor to
//! now, or the next page of the query the state is still reading. The first poll starts from now and asks
//! Partner Center nothing, as nothing can be new yet (it still counts against the quota, as any request does).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;
use time::format_description::well_known::Rfc3339;

use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};

use super::paging::{Page, push_query};
use super::{Gateway, QueryParams, checked};
use crate::connection::CallerConnection;
use crate::domain::{ContinuationToken, CustomerTenantId};
use crate::error::AppError;
use crate::openapi::parameters;
use crate::triggers::{
    self, Cursor, Filter, Kind, RETENTION_DAYS, State, WINDOW_DAYS, instant, nanos,
};
use crate::upstream::{CallContext, UpstreamRequest};

/// The query parameter that carries the state.
pub const STATE_PARAMETER: &str = "TriggerState";

/// A trigger being polled: which, where it answers, and the filter of its first poll.
pub struct Poll<'a> {
    pub kind: Kind,
    /// The trigger's own path, where the next poll goes.
    pub path: &'static str,
    pub filter: Filter,
    /// The `TriggerState` parameter, when this is not the first poll.
    pub state: Option<&'a str>,
    /// `LinkBase`: the scheme and host the `Location` is built on.
    pub base: &'a str,
}

#[derive(Deserialize)]
struct Items<'a> {
    #[serde(borrow, default)]
    items: Vec<&'a RawValue>,
}

fn invalid_state() -> AppError {
    AppError::bad_request(
        "InvalidTriggerState",
        "TriggerState is not one this gateway issued for this trigger and connection: it was altered, or it belongs to another connection. Turn the flow off and on to start the trigger again.",
    )
}

pub async fn poll(
    gateway: &Gateway,
    caller: &CallerConnection,
    ctx: &CallContext,
    poll: Poll<'_>,
) -> Result<Response, AppError> {
    let pace = &gateway.triggers;
    let now = gateway.clock.now_utc();
    let read_until = now - pace.lag;
    // Nothing new to deliver: the state as it stands, polled again after the usual interval.
    let nothing_new =
        |state: &State| answer(gateway, caller, &poll, state, None, pace.poll_interval_secs);
    let Some(encoded) = poll.state else {
        let state = State {
            kind: poll.kind,
            filter: poll.filter.clone(),
            cursor: Cursor::starting(read_until),
            continuation: None,
        };
        return nothing_new(&state);
    };
    let mut state = gateway
        .triggers
        .signer
        .decode(caller.id(), encoded)
        .filter(|state| state.kind == poll.kind)
        .ok_or_else(invalid_state)?;
    // The filter is the first poll's; a poll that names another one is not this trigger's.
    if poll.filter != Filter::default() && poll.filter != state.filter {
        return Err(AppError::bad_request(
            "TriggerFilterChanged",
            "The parameters differ from those the trigger started with; turn the flow off and on to start it again with the new ones.",
        ));
    }

    let token = carried_token(&mut state);
    // Whether this query stops short of now (a trigger catching up more than a window's worth).
    let mut clamped = false;
    let (request, end) = match &state.continuation {
        Some(continuation) => {
            let mut path = String::from("/v1/auditrecords");
            push_query(&mut path, "size", &pace.page_size.to_string());
            push_query(&mut path, "seekOperation", "Next");
            (path, continuation.end_nanos)
        }
        None => {
            // Partner Center refuses a start older than its retention: a trigger left off that long resumes
            // from the oldest records it keeps.
            let oldest =
                nanos(now - time::Duration::days(RETENTION_DAYS) + time::Duration::hours(1));
            if state.cursor.at < oldest {
                state.cursor = Cursor {
                    at: oldest,
                    seen: Vec::new(),
                };
            }
            let start = instant(state.cursor.at);
            let end = read_until.min(start + time::Duration::days(WINDOW_DAYS));
            clamped = end < read_until;
            if end <= start {
                return nothing_new(&state);
            }
            let date = |at: time::OffsetDateTime| at.format(&Rfc3339).unwrap_or_default();
            let mut path = String::from("/v1/auditrecords");
            push_query(&mut path, "size", &pace.page_size.to_string());
            push_query(&mut path, "startDate", &date(start));
            push_query(&mut path, "endDate", &date(end));
            (path, nanos(end))
        }
    };
    let upstream = UpstreamRequest {
        continuation: token.as_ref(),
        ..UpstreamRequest::get(request)
    };
    let reply = match checked(gateway.call(caller, ctx, upstream).await?) {
        Ok(reply) => reply,
        // Partner Center forgot the rest of a query (its continuation tokens do not last): the next poll asks
        // again from the cursor, which still knows every record delivered.
        Err(AppError::Upstream { status, .. })
            if status == StatusCode::BAD_REQUEST && state.continuation.is_some() =>
        {
            tracing::warn!(
                "Partner Center refused a trigger's continuation token; asking again from its cursor"
            );
            state.continuation = None;
            return answer(gateway, caller, &poll, &state, None, 0);
        }
        Err(e) => return Err(e),
    };
    let unusable = |e: serde_json::Error| {
        AppError::BadGateway(format!(
            "Partner Center answered {} with an activity page that is not one: {e}",
            reply.status
        ))
    };
    let page = Page::parse(&reply.body).map_err(unusable)?;
    let items: Items = serde_json::from_slice(&reply.body).map_err(unusable)?;
    // A next link without a token is more records the state cannot reach: read_page asks again from the cursor.
    let next = page
        .has_next()
        .then(|| page.continuation_token().unwrap_or_default());
    let reading = triggers::read_page(&mut state, &items.items, next, end);
    if reading.unreadable > 0 {
        tracing::warn!(
            records = reading.unreadable,
            "audit records without a readable operationDate were skipped"
        );
    }
    // More to read now: the rest of this query, or a window that stopped short of now.
    let more = reading.more || clamped;
    let retry_after = if more { 0 } else { pace.poll_interval_secs };
    answer(
        gateway,
        caller,
        &poll,
        &state,
        Some(&reading.delivered),
        retry_after,
    )
}

/// The continuation token a state carries, as Partner Center takes it back. The MAC shows the state is this
/// gateway's, but one minted before tokens were checked when carried may hold one that is not (empty, a space,
/// non-ASCII): it is dropped, and the query asked again from the cursor, which knows what was delivered.
fn carried_token(state: &mut State) -> Option<ContinuationToken> {
    let token = ContinuationToken::parse(&state.continuation.as_ref()?.token).ok();
    if token.is_none() {
        state.continuation = None;
    }
    token
}

fn answer(
    gateway: &Gateway,
    caller: &CallerConnection,
    poll: &Poll,
    state: &State,
    delivered: Option<&Vec<&RawValue>>,
    retry_after: u64,
) -> Result<Response, AppError> {
    let mut location = format!("{}{}", poll.base, poll.path);
    push_query(
        &mut location,
        STATE_PARAMETER,
        &gateway.triggers.signer.encode(caller.id(), state),
    );
    let location = HeaderValue::try_from(location)
        .map_err(|_| AppError::Internal("a trigger's Location is not a header value".into()))?;
    let headers = [
        (header::LOCATION, location),
        (header::RETRY_AFTER, HeaderValue::from(retry_after)),
    ];
    match delivered.filter(|records| !records.is_empty()) {
        None => Ok((StatusCode::ACCEPTED, headers).into_response()),
        Some(records) => {
            let mut body = BytesMut::from(&b"{\"value\":["[..]);
            for (i, record) in records.iter().enumerate() {
                if i > 0 {
                    body.put_u8(b',');
                }
                body.put_slice(record.get().as_bytes());
            }
            body.put_slice(b"]}");
            let mut response = super::json_response(StatusCode::OK, body.freeze());
            response.headers_mut().extend(headers);
            Ok(response)
        }
    }
}

/// The parameters of a trigger that watches every customer: only its state.
pub struct AllCustomers;

/// The parameters of a trigger that can watch one customer.
pub struct OneCustomer;

/// The parameters of "When an activity is recorded": the activity, and optionally the customer.
pub struct OneActivity;

impl IntoParams for AllCustomers {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![parameters::trigger_state()]
    }
}

impl IntoParams for OneCustomer {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![parameters::customer_filter(), parameters::trigger_state()]
    }
}

impl IntoParams for OneActivity {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            parameters::operation_type_filter(),
            parameters::customer_filter(),
            parameters::trigger_state(),
        ]
    }
}

/// What a poll of trigger `kind` at `path` asked for: the filter its parameters name, and its state.
pub fn request<'a>(
    query: &'a QueryParams,
    kind: Kind,
    path: &'static str,
    base: &'a str,
) -> Result<Poll<'a>, AppError> {
    let state = query.single(STATE_PARAMETER)?;
    let customer = match kind {
        Kind::CustomerAdded => None,
        _ => query
            .single("CustomerTenantID")?
            .map(CustomerTenantId::parse)
            .transpose()?,
    };
    let operation_type = match kind {
        Kind::ActivityRecorded => match query.single("OperationType")? {
            Some(name) => Some(triggers::operation_type(name).ok_or_else(|| {
                AppError::bad_request(
                    "InvalidOperationType",
                    "OperationType must be one of the activities GetActivityTypes lists, such as add_customer_user.",
                )
            })?),
            None if state.is_none() => {
                return Err(AppError::bad_request(
                    "MissingOperationType",
                    "OperationType is required: the activity to watch for, such as add_customer_user.",
                ));
            }
            None => None,
        },
        _ => None,
    };
    Ok(Poll {
        kind,
        path,
        filter: Filter {
            customer,
            operation_type,
        },
        state,
        base,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triggers::Continuation;

    #[test]
    fn a_carried_token_partner_center_would_not_take_is_dropped_and_the_query_asked_again() {
        let mut state = State {
            kind: Kind::CustomerAdded,
            filter: Filter::default(),
            cursor: Cursor {
                at: 5,
                seen: vec![],
            },
            continuation: None,
        };
        assert!(carried_token(&mut state).is_none());
        for token in ["", " ", "caf\u{e9}", "a b"] {
            let mut state = State {
                continuation: Some(Continuation {
                    token: token.into(),
                    end_nanos: 9,
                }),
                ..state.clone()
            };
            assert!(carried_token(&mut state).is_none(), "{token:?}");
            assert_eq!(state.continuation, None, "{token:?}");
            assert_eq!(state.cursor.at, 5);
        }
        state.continuation = Some(Continuation {
            token: "a+b/c==".into(),
            end_nanos: 9,
        });
        assert_eq!(carried_token(&mut state).unwrap().as_str(), "a+b/c==");
        assert!(state.continuation.is_some());
    }
}
