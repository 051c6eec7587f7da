//! Agreement metadata and the partner's confirmations of customer
//! agreements (App+User only).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::activity::Activity;
use super::api::{DelegatedCaller, MS_REQUEST_ID, Query, collection, find_customer};
use super::errors::PcError;
use super::{Sandbox, demo, lock};

struct AgreementTemplate {
    agreement_type: &'static str,
    template_id: &'static str,
    link: &'static str,
}

const MICROSOFT_CLOUD_AGREEMENT: AgreementTemplate = AgreementTemplate {
    agreement_type: "MicrosoftCloudAgreement",
    template_id: "998b88de-aa99-4388-a42c-1b3517d49490",
    link: "https://aka.ms/microsoftcloudagreement",
};

const MICROSOFT_CUSTOMER_AGREEMENT: AgreementTemplate = AgreementTemplate {
    agreement_type: "MicrosoftCustomerAgreement",
    template_id: demo::MCA_TEMPLATE_ID,
    link: "https://aka.ms/customeragreement",
};

const TEMPLATES: [&AgreementTemplate; 2] =
    [&MICROSOFT_CLOUD_AGREEMENT, &MICROSOFT_CUSTOMER_AGREEMENT];

fn template_named(agreement_type: &str) -> Option<&'static AgreementTemplate> {
    TEMPLATES
        .into_iter()
        .find(|template| template.agreement_type.eq_ignore_ascii_case(agreement_type))
}

/// `None` means every type.
fn type_filter(
    requested: Option<&str>,
    default: Option<&'static AgreementTemplate>,
) -> Result<Option<&'static AgreementTemplate>, PcError> {
    match requested {
        None => Ok(default),
        Some("*") => Ok(None),
        Some(name) => template_named(name).map(Some).ok_or_else(|| {
            PcError::bad_request(format!(
                "Unsupported agreementType '{name}'. Supported: MicrosoftCloudAgreement, MicrosoftCustomerAgreement, *."
            ))
        }),
    }
}

pub(super) async fn agreement_metadata(
    _caller: DelegatedCaller,
    RawQuery(raw_query): RawQuery,
) -> Result<Json<Value>, PcError> {
    let query = Query::parse(raw_query);
    // Partner Center defaults to the Microsoft Cloud Agreement here.
    let filter = type_filter(query.get("agreementType"), Some(&MICROSOFT_CLOUD_AGREEMENT))?;
    let items = TEMPLATES
        .into_iter()
        .filter(|template| {
            filter.is_none_or(|wanted| wanted.agreement_type == template.agreement_type)
        })
        .map(|template| {
            json!({
                "templateId": template.template_id,
                "agreementType": template.agreement_type,
                "agreementLink": template.link,
                "versionRank": 0,
            })
        })
        .collect();
    let self_uri = match filter {
        Some(template) => format!("/agreements?agreementType={}", template.agreement_type),
        None => "/agreements?agreementType=*".to_owned(),
    };
    Ok(Json(collection(items, self_uri, None)))
}

/// Agreements confirmed through the sandbox, kept for the life of the process.
#[derive(Debug, Default)]
pub(super) struct AgreementStore {
    by_customer: HashMap<String, Vec<Value>>,
    /// Replies by (customer, MS-RequestId): a retried POST is answered again
    /// rather than rejected as a duplicate, as Partner Center does.
    by_request: HashMap<(String, String), Value>,
}

impl AgreementStore {
    pub(super) fn count(&self, customer_id: &str) -> usize {
        self.by_customer.get(customer_id).map_or(0, Vec::len)
    }
}

pub(super) async fn list_customer_agreements(
    _caller: DelegatedCaller,
    State(sandbox): State<Arc<Sandbox>>,
    Path(customer_id): Path<String>,
    RawQuery(raw_query): RawQuery,
) -> Result<Json<Value>, PcError> {
    let customer = find_customer(&sandbox, &customer_id)?;
    let query = Query::parse(raw_query);
    let filter = type_filter(query.get("agreementType"), None)?;
    let items = lock(&sandbox.agreements)
        .by_customer
        .get(&customer.id)
        .into_iter()
        .flatten()
        .filter(|agreement| filter.is_none_or(|wanted| agreement["type"] == wanted.agreement_type))
        .cloned()
        .collect();
    Ok(Json(collection(
        items,
        format!("/customers/{}/agreements", customer.id),
        None,
    )))
}

pub(super) async fn create_customer_agreement(
    caller: DelegatedCaller,
    State(sandbox): State<Arc<Sandbox>>,
    Path(customer_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PcError> {
    let customer = find_customer(&sandbox, &customer_id)?;
    let request_id = headers
        .get(MS_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
        .map(|value| (customer.id.clone(), value.to_ascii_lowercase()));
    if let Some(key) = &request_id
        && let Some(reply) = lock(&sandbox.agreements).by_request.get(key)
    {
        return Ok((StatusCode::CREATED, Json(reply.clone())).into_response());
    }

    let agreement = validate_agreement(&body, &caller.object_id)?;
    let mut store = lock(&sandbox.agreements);
    let existing = store.by_customer.entry(customer.id.clone()).or_default();
    if existing
        .iter()
        .any(|stored| same_contact(&stored["primaryContact"], &agreement["primaryContact"]))
    {
        return Err(PcError::agreement_already_exists());
    }
    existing.push(agreement.clone());
    if let Some(key) = request_id {
        store.by_request.insert(key, agreement.clone());
    }
    drop(store);
    sandbox.record(
        &Activity {
            operation_type: "create_customer_agreement",
            resource_type: "agreement",
            customer_id: Some(customer.id.clone()),
            customer_name: Some(customer.company_name().to_owned()),
            new_value: agreement.clone(),
            customized: vec![("CustomerId", customer.id.clone())],
        },
        1,
    );
    Ok((StatusCode::CREATED, Json(agreement)).into_response())
}

/// Partner Center allows a new confirmation only when one of these changed.
fn same_contact(a: &Value, b: &Value) -> bool {
    let field = |contact: &Value, key: &str| contact[key].as_str().unwrap_or_default().to_owned();
    field(a, "firstName") == field(b, "firstName")
        && field(a, "lastName") == field(b, "lastName")
        && field(a, "email").eq_ignore_ascii_case(&field(b, "email"))
        && field(a, "phoneNumber") == field(b, "phoneNumber")
}

/// Checks a confirmation request and builds the stored agreement.
fn validate_agreement(body: &[u8], user_id: &str) -> Result<Value, PcError> {
    let request: Value = serde_json::from_slice(body).map_err(|error| {
        PcError::bad_request(format!("The request body is not valid JSON: {error}."))
    })?;
    if !request.is_object() {
        return Err(PcError::bad_request(
            "The request body must be an agreement object.",
        ));
    }
    let text = |object: &Value, key: &str, name: &str| -> Result<String, PcError> {
        object[key]
            .as_str()
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| PcError::bad_request(format!("{name} is required.")))
    };

    let contact = &request["primaryContact"];
    if !contact.is_object() {
        return Err(PcError::bad_request("primaryContact is required."));
    }
    let first_name = text(contact, "firstName", "primaryContact.firstName")?;
    let last_name = text(contact, "lastName", "primaryContact.lastName")?;
    let email = text(contact, "email", "primaryContact.email")?;
    if !email.contains('@') {
        return Err(PcError::bad_request(
            "primaryContact.email is not a valid email address.",
        ));
    }
    let phone_number = match &contact["phoneNumber"] {
        Value::Null => None,
        Value::String(phone) => Some(phone.clone()),
        _ => {
            return Err(PcError::bad_request(
                "primaryContact.phoneNumber must be a string.",
            ));
        }
    };

    let agreement_type = text(&request, "type", "type")?;
    let template = template_named(&agreement_type).ok_or_else(|| {
        PcError::bad_request(format!("Unsupported agreement type '{agreement_type}'."))
    })?;
    let template_id = text(&request, "templateId", "templateId")?;
    if !template_id.eq_ignore_ascii_case(template.template_id) {
        return Err(PcError::bad_request(format!(
            "templateId '{template_id}' is not the current template of {}.",
            template.agreement_type
        )));
    }
    let date_agreed = text(&request, "dateAgreed", "dateAgreed")?;
    if !looks_like_date_time(&date_agreed) {
        return Err(PcError::bad_request(format!(
            "dateAgreed '{date_agreed}' is not a valid UTC date-time."
        )));
    }

    let mut primary_contact = json!({
        "firstName": first_name,
        "lastName": last_name,
        "email": email,
    });
    if let Some(phone_number) = phone_number {
        primary_contact["phoneNumber"] = Value::String(phone_number);
    }
    Ok(json!({
        "userId": user_id,
        "primaryContact": primary_contact,
        "templateId": template_id,
        "dateAgreed": date_agreed,
        "type": template.agreement_type,
        "agreementLink": template.link,
    }))
}

/// `YYYY-MM-DD`, optionally followed by `T` and a time.
fn looks_like_date_time(value: &str) -> bool {
    let bytes = value.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let number = |range: std::ops::Range<usize>| {
        value
            .get(range)
            .and_then(|part| part.parse::<u32>().ok())
            .unwrap_or(0)
    };
    digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && (1..=12).contains(&number(5..7))
        && (1..=31).contains(&number(8..10))
        && (bytes.len() == 10 || matches!(bytes.get(10), Some(b'T' | b't' | b' ')))
}
