//! The activity log: Partner Center's audit records (`GET /v1/auditrecords`), kept for every write the sandbox
//! accepts (an agreement confirmed) and for the changes its own helpers make (`POST /sandbox/customers`,
//! `/sandbox/orders`, `/sandbox/subscriptions/{id}/seats` and `/sandbox/activity`), so that a client's polling
//! can be seen firing without a partner tenant.
//!
//! Records are served oldest first, in pages of `size` (at most 500) with the same `MS-ContinuationToken`
//! paging as customers; the token carries the query's dates and the position, so a client sends only it and
//! `seekOperation=Next`. As Partner Center: `startDate` no more than 90 days back, a window of at most 30 days,
//! and 30 days before now when no `startDate` is given.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::api::{Caller, Query, collection};
use super::errors::PcError;
use super::{Sandbox, data, demo, lock};

const MS_CONTINUATION_TOKEN: &str = "ms-continuationtoken";
const MAX_SIZE: usize = 500;
/// How far back Partner Center keeps the log, and the widest window one query may ask for.
const RETENTION_DAYS: i64 = 90;
const WINDOW_DAYS: i64 = 30;
/// Records one `POST /sandbox/activity` may make at one instant.
pub(super) const MAX_BATCH: usize = 100;

/// The log, oldest first; records made together share one instant.
#[derive(Default)]
pub(super) struct ActivityLog {
    records: Vec<(OffsetDateTime, Value)>,
}

/// What a write leaves in the log.
pub(super) struct Activity<'a> {
    pub(super) operation_type: &'a str,
    pub(super) resource_type: &'a str,
    pub(super) customer_id: Option<String>,
    pub(super) customer_name: Option<String>,
    pub(super) new_value: Value,
    pub(super) customized: Vec<(&'a str, String)>,
}

impl ActivityLog {
    /// Appends `count` copies of `activity` (each its own ID) at one instant, never earlier than the last
    /// record's, so the log stays in order. Returns the records.
    pub(super) fn record(&mut self, activity: &Activity, count: usize) -> Vec<Value> {
        // Partner Center's dates count 100-nanosecond ticks.
        let now = OffsetDateTime::now_utc();
        let now = now
            .replace_nanosecond(now.nanosecond() / 100 * 100)
            .unwrap_or(now);
        let at = self.records.last().map_or(now, |(last, _)| now.max(*last));
        let date = at.format(&Rfc3339).unwrap_or_default();
        let customized: Vec<Value> = activity
            .customized
            .iter()
            .map(|(key, value)| json!({ "key": key, "value": value }))
            .collect();
        let made: Vec<Value> = (0..count)
            .map(|_| {
                json!({
                    "id": uuid::Uuid::new_v4().to_string(),
                    "partnerId": demo::PARTNER_TENANT_ID,
                    "customerId": activity.customer_id,
                    "customerName": activity.customer_name,
                    "userPrincipalName": "admin@sandbox-partner.onmicrosoft.com",
                    "applicationId": demo::CLIENT_ID,
                    "resourceType": activity.resource_type,
                    // A string holding JSON, as Partner Center writes it.
                    "resourceNewValue": activity.new_value.to_string(),
                    "operationType": activity.operation_type,
                    "operationDate": date,
                    "operationStatus": "succeeded",
                    "customizedData": customized,
                    "attributes": { "objectType": "AuditRecord" },
                })
            })
            .map(without_nulls)
            .collect();
        self.records
            .extend(made.iter().map(|record| (at, record.clone())));
        made
    }

    fn between(&self, start: OffsetDateTime, end: OffsetDateTime) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|(at, _)| (start..=end).contains(at))
            .map(|(_, record)| record)
            .collect()
    }
}

fn without_nulls(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.retain(|_, v| !v.is_null());
    }
    value
}

/// Continuation tokens as the customers' are (standard base64 with '+', '/' and '='), MAC'd so a client that
/// mangles one is caught.
mod continuation {
    use super::*;

    const SEAL: crate::api::Seal = crate::api::Seal {
        magic: [0xFB, 0xFF, 0xBF, 0x02],
        key: b"partner-center-sandbox/auditrecords-continuation",
    };

    pub(super) struct Position {
        pub(super) start: OffsetDateTime,
        pub(super) end: OffsetDateTime,
        pub(super) size: usize,
        pub(super) offset: usize,
    }

    fn nanos(at: OffsetDateTime) -> [u8; 16] {
        at.unix_timestamp_nanos().to_be_bytes()
    }

    pub(super) fn encode(position: &Position) -> String {
        let mut payload = Vec::with_capacity(40);
        payload.extend(nanos(position.start));
        payload.extend(nanos(position.end));
        payload.extend((position.size as u32).to_be_bytes());
        payload.extend((position.offset as u32).to_be_bytes());
        SEAL.seal(&payload)
    }

    pub(super) fn decode(token: &str) -> Option<Position> {
        let rest = SEAL.open(token, 40)?;
        let at = |range: std::ops::Range<usize>| {
            let raw: [u8; 16] = rest[range].try_into().ok()?;
            OffsetDateTime::from_unix_timestamp_nanos(i128::from_be_bytes(raw)).ok()
        };
        let number = |range: std::ops::Range<usize>| {
            let raw: [u8; 4] = rest[range].try_into().ok()?;
            Some(u32::from_be_bytes(raw) as usize)
        };
        Some(Position {
            start: at(0..16)?,
            end: at(16..32)?,
            size: number(32..36)?,
            offset: number(36..40)?,
        })
    }
}

fn date_parameter(query: &Query, key: &str) -> Result<Option<OffsetDateTime>, PcError> {
    let Some(raw) = query.get(key) else {
        return Ok(None);
    };
    OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .map(Some)
        .map_err(|_| {
            PcError::bad_request(format!(
                "The '{key}' parameter must be a date and time such as 2025-06-01T00:00:00Z; got '{raw}'."
            ))
        })
}

/// `GET /v1/auditrecords`.
pub(super) async fn list_audit_records(
    _caller: Caller,
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, PcError> {
    let query = Query::parse(raw_query);
    let presented = headers.get(MS_CONTINUATION_TOKEN);
    let position = match query.get("seekOperation") {
        Some(operation) if operation.eq_ignore_ascii_case("next") => presented
            .and_then(|token| token.to_str().ok())
            .and_then(continuation::decode)
            .ok_or_else(|| PcError::bad_request("The continuation token is invalid."))?,
        Some(other) => {
            return Err(PcError::bad_request(format!(
                "Unsupported seekOperation '{other}'."
            )));
        }
        None if presented.is_some() => {
            return Err(PcError::bad_request(
                "MS-ContinuationToken is only accepted together with seekOperation=Next.",
            ));
        }
        None => {
            let now = OffsetDateTime::now_utc();
            let size = match query.get("size") {
                None => MAX_SIZE,
                Some(raw) => raw
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|size| (1..=MAX_SIZE).contains(size))
                    .ok_or_else(|| {
                        PcError::bad_request(format!(
                            "The 'size' parameter must be an integer between 1 and {MAX_SIZE}; got '{raw}'."
                        ))
                    })?,
            };
            let end = date_parameter(&query, "endDate")?.unwrap_or(now);
            let start =
                date_parameter(&query, "startDate")?.unwrap_or(end - Duration::days(WINDOW_DAYS));
            if start < now - Duration::days(RETENTION_DAYS) {
                return Err(PcError::bad_request(format!(
                    "The startDate must be within the last {RETENTION_DAYS} days."
                )));
            }
            if end < start || end - start > Duration::days(WINDOW_DAYS) {
                return Err(PcError::bad_request(format!(
                    "The endDate must follow the startDate by at most {WINDOW_DAYS} days."
                )));
            }
            continuation::Position {
                start,
                end,
                size,
                offset: 0,
            }
        }
    };
    let log = lock(&sandbox.activity);
    let records = log.between(position.start, position.end);
    let start = position.offset.min(records.len());
    let end = (start + position.size).min(records.len());
    let items: Vec<Value> = records[start..end].iter().map(|r| (*r).clone()).collect();
    let size = position.size;
    let token = (end < records.len()).then(|| {
        continuation::encode(&continuation::Position {
            offset: end,
            ..position
        })
    });
    let next = token.as_ref().map(|token| {
        json!({
            "uri": format!("/auditrecords?size={size}&seekOperation=Next"),
            "method": "GET",
            "headers": [{ "key": "MS-ContinuationToken", "value": token }],
        })
    });
    let mut page = collection(items, format!("/auditrecords?size={size}"), next);
    if let Some(token) = token {
        page["continuationToken"] = token.into();
    }
    Ok(Json(page))
}

/// Records a write the sandbox accepted.
impl Sandbox {
    pub(super) fn record(&self, activity: &Activity, count: usize) -> Vec<Value> {
        lock(&self.activity).record(activity, count)
    }
}

/// A JSON number that is a whole number from 1 to `max`: JSON Schema's integers include `5.0`, so serde's
/// integer types, which refuse it, are not used for the bodies' counts.
fn whole(key: &str, value: f64, max: u32) -> Result<u32, PcError> {
    if value.fract() == 0.0 && (1.0..=f64::from(max)).contains(&value) {
        Ok(value as u32)
    } else {
        Err(bad(format!(
            "{key} must be a whole number from 1 to {max}."
        )))
    }
}

fn bad(message: impl Into<String>) -> PcError {
    PcError::bad_request(message)
}

fn body<T: for<'de> Deserialize<'de>>(raw: &[u8]) -> Result<T, PcError> {
    // serde's derived structs also take their fields in order as a JSON array; the documents say an object.
    if raw.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(bad("The body is not valid: it must be a JSON object."));
    }
    serde_json::from_slice(raw).map_err(|e| bad(format!("The body is not valid: {e}.")))
}

/// The customer named by `raw`, or the sandbox's error for it.
fn known_customer(sandbox: &Sandbox, raw: &str) -> Result<(String, String), PcError> {
    let customer = super::api::find_customer(sandbox, raw)?;
    Ok((customer.id.clone(), customer.company_name().to_owned()))
}

/// A customer to add.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewCustomer {
    /// The company's name.
    #[schema(pattern = r"\S", max_length = 256)]
    company_name: String,
    /// Its domain; made from the name when absent.
    domain: Option<String>,
}

/// `POST /sandbox/customers`: a customer added, as Partner Center logs `add_customer`.
#[utoipa::path(
    post,
    path = "/sandbox/customers",
    tag = "Sandbox",
    operation_id = "AddSandboxCustomer",
    summary = "Add a customer to the sandbox's activity log",
    description = "Sandbox profile only. Records that a customer was added (operationType add_customer), as Partner Center's activity log would, so the trigger When a customer is added fires on its next poll. The body is {\"companyName\": \"...\", \"domain\": \"...\"} (domain optional).",
    security(()),
    request_body(content = inline(NewCustomer), description = "The new customer's company name and, optionally, its domain."),
    responses(
        (status = 201, description = "The audit record.", body = inline(Value)),
        (status = 400, description = "The body is not valid.", body = inline(Value)),
    ),
)]
pub(super) async fn add_customer(
    State(sandbox): State<Arc<Sandbox>>,
    raw: axum::body::Bytes,
) -> Result<Response, PcError> {
    let new: NewCustomer = body(&raw)?;
    // As the declared schema says it (JSON Schema's `\S` and `maxLength`, which count characters): some
    // character that is not ECMAScript's white space, and at most 256 characters in all.
    let ecma_space = |c: char| c == '\u{feff}' || (c.is_whitespace() && c != '\u{85}');
    if !new.company_name.chars().any(|c| !ecma_space(c)) || new.company_name.chars().count() > 256 {
        return Err(bad("companyName must be 1 to 256 characters."));
    }
    let name = new.company_name.trim_matches(ecma_space);
    let id = uuid::Uuid::new_v4().to_string();
    let domain = new.domain.unwrap_or_else(|| {
        let label: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(27)
            .collect::<String>()
            .to_ascii_lowercase();
        format!(
            "{}.onmicrosoft.com",
            if label.is_empty() { "customer" } else { &label }
        )
    });
    let customer = json!({
        "id": id,
        "companyProfile": { "tenantId": id, "domain": domain, "companyName": name },
        "relationshipToPartner": "reseller",
        "attributes": { "objectType": "Customer" },
    });
    let record = sandbox.record(
        &Activity {
            operation_type: "add_customer",
            resource_type: "customer",
            customer_id: Some(id.clone()),
            customer_name: Some(name.to_owned()),
            new_value: customer,
            customized: vec![("CustomerId", id)],
        },
        1,
    );
    Ok((StatusCode::CREATED, Json(record[0].clone())).into_response())
}

/// An order to place.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewOrder {
    /// A customer of the sandbox.
    #[schema(
        pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    )]
    customer_id: String,
    /// The offer ordered.
    offer_id: Option<String>,
    /// How many.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 300000)]
    quantity: Option<f64>,
}

/// `POST /sandbox/orders`: an order placed for a customer of the sandbox (`create_order`).
#[utoipa::path(
    post,
    path = "/sandbox/orders",
    tag = "Sandbox",
    operation_id = "AddSandboxOrder",
    summary = "Add an order to the sandbox's activity log",
    description = "Sandbox profile only. Records that an order was created for a customer of the sandbox (operationType create_order), so the trigger When an order is created fires on its next poll. The body is {\"customerId\": \"...\", \"offerId\": \"...\", \"quantity\": 1} (offerId and quantity optional).",
    security(()),
    request_body(content = inline(NewOrder), description = "The customer, and optionally the offer and quantity."),
    responses(
        (status = 201, description = "The audit record.", body = inline(Value)),
        (status = 400, description = "The body is not valid.", body = inline(Value)),
        (status = 404, description = "The sandbox has no such customer.", body = inline(Value)),
    ),
)]
pub(super) async fn add_order(
    State(sandbox): State<Arc<Sandbox>>,
    raw: axum::body::Bytes,
) -> Result<Response, PcError> {
    let new: NewOrder = body(&raw)?;
    let (customer_id, customer_name) = known_customer(&sandbox, &new.customer_id)?;
    let order_id = uuid::Uuid::new_v4().simple().to_string();
    let offer_id = new
        .offer_id
        .unwrap_or_else(|| "CFQ7TTC0LH18:0001:CFQ7TTC0KDLJ".to_owned());
    let order = json!({
        "id": order_id,
        "referenceCustomerId": customer_id,
        "billingCycle": "monthly",
        "lineItems": [{
            "lineItemNumber": 0,
            "offerId": offer_id,
            "quantity": new.quantity.map(|q| whole("quantity", q, 300_000)).transpose()?.unwrap_or(1),
        }],
        "status": "completed",
        "attributes": { "objectType": "Order" },
    });
    let record = sandbox.record(
        &Activity {
            operation_type: "create_order",
            resource_type: "order",
            customer_id: Some(customer_id.clone()),
            customer_name: Some(customer_name),
            new_value: order,
            customized: vec![("OrderId", order_id), ("CustomerId", customer_id)],
        },
        1,
    );
    Ok((StatusCode::CREATED, Json(record[0].clone())).into_response())
}

/// A subscription's new number of seats.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeatChange {
    /// The customer whose subscription it is.
    #[schema(
        pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    )]
    customer_id: String,
    /// The new number of seats.
    #[schema(value_type = u32, minimum = 1, maximum = 300000)]
    quantity: f64,
}

/// `POST /sandbox/subscriptions/{subscriptionId}/seats`: a subscription's seat count changed
/// (`update_subscription`).
#[utoipa::path(
    post,
    path = "/sandbox/subscriptions/{subscriptionId}/seats",
    tag = "Sandbox",
    operation_id = "ChangeSandboxSeats",
    summary = "Change a subscription's seats in the sandbox's activity log",
    description = "Sandbox profile only. Records that a subscription's quantity changed (operationType update_subscription), so the trigger When a subscription changes fires on its next poll. The body is {\"customerId\": \"...\", \"quantity\": 25}.",
    params(("subscriptionId" = String, Path, pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$", description = "The subscription's ID.")),
    security(()),
    request_body(content = inline(SeatChange), description = "The customer and the new number of seats."),
    responses(
        (status = 201, description = "The audit record.", body = inline(Value)),
        (status = 400, description = "The body is not valid.", body = inline(Value)),
        (status = 404, description = "The sandbox has no such customer.", body = inline(Value)),
    ),
)]
pub(super) async fn change_seats(
    State(sandbox): State<Arc<Sandbox>>,
    Path(subscription_id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, PcError> {
    let change: SeatChange = body(&raw)?;
    if data::normalize_guid(&subscription_id).is_none() {
        return Err(bad(format!(
            "The subscription id '{subscription_id}' is not a valid GUID."
        )));
    }
    let quantity = whole("quantity", change.quantity, 300_000)?;
    let (customer_id, customer_name) = known_customer(&sandbox, &change.customer_id)?;
    let subscription = json!({
        "id": subscription_id,
        "quantity": quantity,
        "status": "active",
        "attributes": { "objectType": "Subscription" },
    });
    let record = sandbox.record(
        &Activity {
            operation_type: "update_subscription",
            resource_type: "subscription",
            customer_id: Some(customer_id.clone()),
            customer_name: Some(customer_name),
            new_value: subscription,
            customized: vec![
                ("SubscriptionId", subscription_id),
                ("CustomerId", customer_id),
            ],
        },
        1,
    );
    Ok((StatusCode::CREATED, Json(record[0].clone())).into_response())
}

/// Activity to record.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewActivity {
    /// Partner Center's operationType, such as add_customer_user.
    #[schema(pattern = r"^[a-z_]{1,64}$")]
    operation_type: String,
    /// Partner Center's resourceType, such as customer_user.
    #[schema(pattern = r"^[a-z_]{1,64}$")]
    resource_type: String,
    /// A customer of the sandbox, if the activity is about one.
    #[schema(
        pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    )]
    customer_id: Option<String>,
    /// The resource after the activity.
    #[serde(default)]
    resource_new_value: Value,
    /// How many records to make at one instant.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 100)]
    count: Option<f64>,
}

/// `POST /sandbox/activity`: any activity, `count` records of it at one instant (how a test puts records of the
/// same second on both sides of a page boundary).
#[utoipa::path(
    post,
    path = "/sandbox/activity",
    tag = "Sandbox",
    operation_id = "AddSandboxActivity",
    summary = "Add any activity to the sandbox's activity log",
    description = "Sandbox profile only. Records count (1 to 100, default 1) audit records of the given operationType and resourceType at one instant, optionally for a customer of the sandbox, so that the trigger When an activity is recorded fires on its next poll. The body is {\"operationType\": \"...\", \"resourceType\": \"...\", \"customerId\": \"...\", \"resourceNewValue\": {...}, \"count\": 1}.",
    security(()),
    request_body(content = inline(NewActivity), description = "The activity, and how many records of it."),
    responses(
        (status = 201, description = "The audit records, in value.", body = inline(Value)),
        (status = 400, description = "The body is not valid.", body = inline(Value)),
        (status = 404, description = "The sandbox has no such customer.", body = inline(Value)),
    ),
)]
pub(super) async fn add_activity(
    State(sandbox): State<Arc<Sandbox>>,
    raw: axum::body::Bytes,
) -> Result<Response, PcError> {
    let new: NewActivity = body(&raw)?;
    let name_ok = |name: &str| {
        (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    };
    if !name_ok(&new.operation_type) || !name_ok(&new.resource_type) {
        return Err(bad(
            "operationType and resourceType are 1 to 64 lower-case letters or '_'.",
        ));
    }
    let count = match new.count {
        Some(count) => whole("count", count, MAX_BATCH as u32)? as usize,
        None => 1,
    };
    let customer = new
        .customer_id
        .as_deref()
        .map(|id| known_customer(&sandbox, id))
        .transpose()?;
    let (customer_id, customer_name) = customer.unzip();
    let records = sandbox.record(
        &Activity {
            operation_type: &new.operation_type,
            resource_type: &new.resource_type,
            customized: customer_id
                .iter()
                .map(|id| ("CustomerId", id.clone()))
                .collect(),
            customer_id,
            customer_name,
            new_value: new.resource_new_value,
        },
        count,
    );
    Ok((StatusCode::CREATED, Json(json!({ "value": records }))).into_response())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn continuation_tokens_round_trip_and_refuse_tampering() {
        let now = OffsetDateTime::now_utc();
        let token = continuation::encode(&continuation::Position {
            start: now - Duration::hours(1),
            end: now,
            size: 2,
            offset: 4,
        });
        let position = continuation::decode(&token).unwrap();
        assert_eq!((position.end, position.size, position.offset), (now, 2, 4));
        let mut bytes = STANDARD.decode(&token).unwrap();
        bytes[10] ^= 1;
        assert!(continuation::decode(&STANDARD.encode(bytes)).is_none());
    }

    #[test]
    fn records_made_together_share_an_instant_and_the_log_stays_in_order() {
        let mut log = ActivityLog::default();
        let activity = Activity {
            operation_type: "add_customer",
            resource_type: "customer",
            customer_id: None,
            customer_name: None,
            new_value: json!({}),
            customized: vec![],
        };
        let two = log.record(&activity, 2);
        assert_eq!(two[0]["operationDate"], two[1]["operationDate"]);
        assert_ne!(two[0]["id"], two[1]["id"]);
        let later = log.record(&activity, 1);
        assert!(log.records.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(later[0]["operationType"], "add_customer");
        assert!(later[0].get("customerId").is_none());
    }
}
