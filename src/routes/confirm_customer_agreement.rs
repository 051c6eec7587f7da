//! ConfirmCustomerAgreement: `POST /v1/customers/{CustomerTenantID}/agreements` → the same on Partner Center,
//! which answers 201 with the stored agreement (or 409, code 600061, when that contact already confirmed it).
//!
//! The body is checked in full before Partner Center sees it, and what is forwarded is only what was checked,
//! serialised again: a field the gateway does not know, one given twice, or one spelled in another case
//! (`TemplateId` next to `templateId`) is the caller's 400 naming it, since Partner Center's binder matches names
//! without regard to case and could read what the gateway never checked (see [`crate::edge::body`]). Refused
//! rather than dropped: a maker who sent a field expects it to count, and silence would hide the mistake. The
//! original connector had no such operation, so no contract of its says otherwise.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::domain::AgreementType;
use crate::edge::body::{self, Fields};
use crate::edge::{Caller, CustomerPath, Gateway, json};
use crate::error::AppError;
use crate::openapi::models::{Agreement, GatewayError, PartnerCenterError};
use crate::openapi::responses::{CommonErrors, CustomerErrors};
use crate::upstream::{CallContext, UpstreamRequest};

// The same type is what the body is read into, what is forwarded, and what the document describes, so the three
// cannot disagree; its field names are the ones `validate` reads (`FIELDS`).
/// Who at the customer accepted which agreement, and when.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewAgreement {
    /// The person at the customer's organization who accepted the agreement.
    primary_contact: Contact,
    /// The identifier of the agreement template, from GetAgreementMetadata.
    // The designer offers the templates that GetAgreementMetadata lists, so makers never copy a GUID by hand.
    #[schema(extensions(("x-ms-dynamic-values" = json!({
        "operationId": "GetAgreementMetadata",
        "parameters": {"AgreementType": "MicrosoftCustomerAgreement"},
        "value-collection": "items",
        "value-path": "templateId",
        "value-title": "agreementType"
    }))))]
    #[schema(
        pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    )]
    template_id: String,
    /// When the customer accepted the agreement, such as 2018-06-14T00:00:00.000Z.
    #[schema(format = DateTime)]
    date_agreed: String,
    /// The type of agreement the customer accepted: MicrosoftCustomerAgreement, or MicrosoftCloudAgreement.
    // A pattern rather than an enum, as GetAgreementMetadata's AgreementType says the same vocabulary.
    #[serde(rename = "type")]
    #[schema(
        default = "MicrosoftCustomerAgreement",
        pattern = r"^(MicrosoftCustomerAgreement|MicrosoftCloudAgreement)$"
    )]
    kind: String,
}

/// The person at the customer's organization who accepted the agreement.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = NewAgreementContact)]
struct Contact {
    // The patterns say what the gateway checks: not blank, and an email has an @.
    /// The contact's first name.
    #[schema(pattern = r"\S")]
    first_name: String,
    /// The contact's last name.
    #[schema(pattern = r"\S")]
    last_name: String,
    /// The contact's email address.
    #[schema(pattern = "@")]
    email: String,
    /// The contact's phone number (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64)]
    phone_number: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/customers/{CustomerTenantID}/agreements",
    operation_id = "ConfirmCustomerAgreement",
    tag = "Agreements",
    summary = "Confirm customer acceptance of the Microsoft Customer Agreement",
    description = "Confirms or reconfirms that a customer accepted the Microsoft Customer Agreement.",
    params(
        CustomerPath,
    ),
    request_body(content = NewAgreement, description = "Who accepted which agreement, and when.", extensions(("x-ms-summary" = json!("Agreement")))),
    responses(
        (status = 201, description = "The agreement, as Partner Center stored it.", body = Agreement),
        CustomerErrors,
        (status = 408, description = "The request body did not arrive in time (server.body_timeout_ms); send it again.", body = GatewayError),
        (status = 409, description = "This contact already confirmed this agreement for the customer (code 600061).", body = PartnerCenterError),
        (status = 415, description = "The body is not JSON (Content-Type), or is compressed (Content-Encoding).", body = GatewayError),
        CommonErrors,
    ),
)]
pub async fn confirm_customer_agreement(
    State(gateway): State<Gateway>,
    Caller(connection): Caller,
    ctx: CallContext,
    CustomerPath { customer, .. }: CustomerPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    body::json_request(&headers)?;
    let body = read_limited(body, gateway.max_body_bytes, gateway.body_timeout).await?;
    let agreement = validate(&body)?;
    let forwarded = serde_json::to_vec(&agreement)
        .map_err(|e| AppError::Internal(format!("an agreement did not serialise: {e}")))?;
    let request = UpstreamRequest {
        method: Method::POST,
        json_body: Some(Bytes::from(forwarded)),
        ..UpstreamRequest::get(format!("/v1/customers/{customer}/agreements"))
    };
    json(gateway.call(&connection, &ctx, request).await?)
}

/// The whole body, or a 4xx: a body that is too large, cut short, or trickled in so slowly that it would hold
/// the call (and a shutdown's drain) open indefinitely.
async fn read_limited(body: Body, limit: usize, timeout: Duration) -> Result<Bytes, AppError> {
    tokio::time::timeout(timeout, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_| AppError::RequestTimeout)?
        .map_err(|_| {
            AppError::bad_request(
                "BodyTooLarge",
                format!("The request body is larger than {limit} bytes, or was cut short."),
            )
        })
}

/// The body's fields, checked; a 400 naming the first field that is wrong, in a maker's words.
fn validate(body: &[u8]) -> Result<NewAgreement, AppError> {
    let invalid = |message: String| AppError::bad_request("InvalidBody", message);
    let mut fields = Fields::new(
        body::parse(body)?,
        "",
        &["primaryContact", "templateId", "dateAgreed", "type"],
    )?;
    let contact = fields.required("primaryContact")?;
    let mut contact_fields = Fields::new(
        contact,
        &fields.path("primaryContact"),
        &["firstName", "lastName", "email", "phoneNumber"],
    )?;
    let contact = Contact {
        first_name: contact_fields.text("firstName")?,
        last_name: contact_fields.text("lastName")?,
        email: contact_fields.text("email")?,
        phone_number: contact_fields.optional_text("phoneNumber")?,
    };
    let agreement = NewAgreement {
        primary_contact: contact,
        template_id: fields.text("templateId")?,
        date_agreed: fields.text("dateAgreed")?,
        kind: fields.text("type")?,
    };
    let contact = &agreement.primary_contact;
    for (name, value) in [
        ("primaryContact.firstName", &contact.first_name),
        ("primaryContact.lastName", &contact.last_name),
        ("primaryContact.email", &contact.email),
    ] {
        if value.trim().is_empty() {
            return Err(invalid(format!("{name} must not be empty.")));
        }
    }
    // Partner Center refuses any other type, and a confirmation is no place to try one out.
    if !AgreementType::TYPES.contains(&agreement.kind.as_str()) {
        return Err(invalid(
            "type must be MicrosoftCustomerAgreement or MicrosoftCloudAgreement.".into(),
        ));
    }
    if !contact.email.contains('@') {
        return Err(invalid(
            "primaryContact.email must be an email address.".into(),
        ));
    }
    if contact
        .phone_number
        .as_deref()
        .is_some_and(|p| p.len() > 64)
    {
        return Err(invalid("primaryContact.phoneNumber is too long.".into()));
    }
    if uuid::Uuid::try_parse(&agreement.template_id).is_err() {
        return Err(invalid(
            "templateId must be a GUID: take it from GetAgreementMetadata.".into(),
        ));
    }
    if OffsetDateTime::parse(&agreement.date_agreed, &Rfc3339).is_err() {
        return Err(invalid(
            "dateAgreed must be a date and time such as 2018-06-14T00:00:00.000Z.".into(),
        ));
    }
    Ok(agreement)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"primaryContact":{"firstName":"Tania","lastName":"Carr","email":"someone@example.com","phoneNumber":"1234567890"},"templateId":"117a77b0-9360-443b-8795-c6dedc750cf9","dateAgreed":"2018-06-14T00:00:00.000Z","type":"MicrosoftCustomerAgreement"}"#;

    #[test]
    fn accepts_the_documented_example_and_refuses_broken_ones() {
        let agreement = validate(GOOD.as_bytes()).unwrap();
        assert_eq!(
            serde_json::to_string(&agreement).unwrap(),
            GOOD,
            "forwarded as the fields it read"
        );
        for bad in [
            "",
            "{",
            "[]",
            r#"{"templateId":"117a77b0-9360-443b-8795-c6dedc750cf9"}"#,
            &GOOD.replace("someone@example.com", "nobody"),
            &GOOD.replace("117a77b0-9360-443b-8795-c6dedc750cf9", "mca"),
            &GOOD.replace("2018-06-14T00:00:00.000Z", "yesterday"),
            &GOOD.replace(r#""Tania""#, "42"),
            &GOOD.replace(r#""Tania""#, r#""  ""#),
            &GOOD.replace("MicrosoftCustomerAgreement", "Anything"),
            &GOOD.replace("MicrosoftCustomerAgreement", "*"),
        ] {
            assert!(validate(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
