//! The shapes of what the operations answer, for the document only: the gateway passes Partner Center's JSON
//! through unchanged, so nothing here is ever serialized. Field docs are the en-US descriptions (the original
//! connector's wording, made into sentences); display names live in [`super::display`].
//!
//! Every field is optional because Partner Center leaves out what it does not know, and its answers grow new
//! fields over time; the converter turns `Option` into a plain, non-required type for Power Platform.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::ToSchema;

/// A page of customers.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerCollection {
    /// Total count of elements in collection.
    #[schema(format = Int32)]
    total_count: Option<i32>,
    /// The customers.
    items: Option<Vec<CustomerSummary>>,
    /// The link to the next page; absent on the last page.
    next_link: Option<String>,
    /// Partner Center's requests for this page and, when more follow, the next.
    links: Option<CollectionLinks>,
    /// Partner Center's metadata about this collection.
    attributes: Option<ResourceAttributes>,
}

/// A page of customers, in the shape that the platform's Pagination setting reads.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPage {
    /// The customers.
    value: Vec<CustomerSummary>,
    /// The link to the next page; absent on the last page.
    next_link: Option<String>,
}

// The original connector's GetAllCustomers items: fewer fields than GetCustomerDetails' `Customer`, labelled
// differently ("Company Name" rather than "Company Name (Company Profile)") and with other fields marked
// important, so they are a schema of their own. Partner Center's answer carries more; the designer shows these.
/// A customer in the list of customers.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerSummary {
    /// The customer ID.
    id: Option<String>,
    /// The commerce ID.
    commerce_id: Option<String>,
    /// The customer's company profile.
    company_profile: Option<CompanyProfileSummary>,
    /// Defines the licensing program that the partner uses for this customer: "none", "reseller", "advisor", "syndication" or "microsoft_support".
    relationship_to_partner: Option<String>,
    /// Indicates whether the partner has been granted delegated admin privileges by this customer.
    allow_delegated_access: Option<bool>,
    /// The indirect reseller associated with this customer. Only indirect providers can set it.
    associated_partner_id: Option<String>,
    /// Partner Center's requests for this resource and related ones.
    links: Option<ResourceLinks>,
    /// Partner Center's metadata about this resource: its type and version.
    attributes: Option<ResourceAttributes>,
}

/// The customer's company profile.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyProfileSummary {
    /// The customer's tenant identifier for Azure AD. This is also called a MicrosoftID.
    tenant_id: Option<String>,
    /// The customer's name, such as contoso.onmicrosoft.com.
    domain: Option<String>,
    /// The name of the company or organization.
    company_name: Option<String>,
    /// Partner Center's requests for this resource and related ones.
    links: Option<ResourceLinks>,
    /// Partner Center's metadata about this resource: its type and version.
    attributes: Option<ResourceAttributes>,
}

/// A customer of the partner.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// The customer ID.
    id: Option<String>,
    /// The commerce ID.
    commerce_id: Option<String>,
    /// The customer's company profile.
    company_profile: Option<CompanyProfile>,
    /// The customer's billing profile.
    billing_profile: Option<BillingProfile>,
    /// Defines the licensing program that the partner uses for this customer: "none", "reseller", "advisor", "syndication" or "microsoft_support".
    relationship_to_partner: Option<String>,
    /// Indicates whether the partner has been granted delegated admin privileges by this customer.
    allow_delegated_access: Option<bool>,
    /// List of custom domains of a customer.
    custom_domains: Option<Vec<String>>,
    /// The indirect reseller associated with this customer. Only indirect providers can set it.
    associated_partner_id: Option<String>,
    /// Partner Center's requests for this resource and related ones.
    links: Option<ResourceLinks>,
    /// Partner Center's metadata about this resource: its type and version.
    attributes: Option<ResourceAttributes>,
}

/// The customer's company profile.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyProfile {
    /// The customer's tenant identifier for Azure AD. This is also called a MicrosoftID.
    tenant_id: Option<String>,
    /// The name of the company or organization.
    company_name: Option<String>,
    /// The customer's name, such as contoso.onmicrosoft.com.
    domain: Option<String>,
    /// The company's address.
    address: Option<CompanyAddress>,
    /// Email.
    email: Option<String>,
    /// The organization's registration number (INN in some countries), which Partner Center requires for companies in Armenia, Azerbaijan, Belarus, Hungary, Kazakhstan, Kyrgyzstan, Moldova, Russia, Tajikistan, Ukraine and Uzbekistan.
    organization_registration_number: Option<String>,
    /// Partner Center's requests for this resource and related ones.
    links: Option<ResourceLinks>,
    /// Partner Center's metadata about this resource: its type and version.
    attributes: Option<ResourceAttributes>,
}

/// The company's address.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyAddress {
    /// The country.
    country: Option<String>,
    /// The region.
    region: Option<String>,
    /// The city.
    city: Option<String>,
    /// The state.
    state: Option<String>,
    /// The first line of the address.
    address_line1: Option<String>,
    /// The ZIP code or postal code.
    postal_code: Option<String>,
    /// The phone number of a contact at the customer's company/organization.
    phone_number: Option<String>,
    /// The second line of the address.
    address_line2: Option<String>,
    /// The third line of the address.
    address_line3: Option<String>,
    /// The district.
    district: Option<String>,
    /// The first name of a contact at the customer's company/organization.
    first_name: Option<String>,
    /// The middle name of a contact at the customer's company/organization.
    middle_name: Option<String>,
    /// The last name of a contact at the customer's company/organization.
    last_name: Option<String>,
    /// The email address of a contact at the customer's company/organization.
    email_address: Option<String>,
    /// The address identifier.
    id: Option<String>,
}

/// The customer's billing profile.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingProfile {
    /// The profile identifier.
    id: Option<String>,
    /// The first name of the billing contact at the customer's company.
    first_name: Option<String>,
    /// The last name of the billing contact.
    last_name: Option<String>,
    /// The billing contact's email address.
    email: Option<String>,
    /// Their preferred culture for communication and currency, such as "en-us".
    culture: Option<String>,
    /// Their preferred language for communication.
    language: Option<String>,
    /// The name of the company or organization.
    company_name: Option<String>,
    /// Billing profile default address.
    default_address: Option<BillingAddress>,
    /// Partner Center's requests for this resource and related ones.
    links: Option<ResourceLinks>,
    /// Partner Center's metadata about this resource: its type and version.
    attributes: Option<ResourceAttributes>,
}

/// Billing profile default address.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingAddress {
    /// The country/region in ISO country code format.
    country: Option<String>,
    /// The region.
    region: Option<String>,
    /// The city.
    city: Option<String>,
    /// The state.
    state: Option<String>,
    /// The first line of the address.
    address_line1: Option<String>,
    /// The ZIP code or postal code.
    postal_code: Option<String>,
    /// The first name of a contact at the customer's company/organization.
    first_name: Option<String>,
    /// The last name of a contact at the customer's company/organization.
    last_name: Option<String>,
    /// The phone number of a contact at the customer's company/organization.
    phone_number: Option<String>,
    /// The second line of the address.
    address_line2: Option<String>,
    /// The third line of the address.
    address_line3: Option<String>,
    /// The district.
    district: Option<String>,
    /// The middle name of a contact at the customer's company/organization.
    middle_name: Option<String>,
    /// The email address of a contact at the customer's company/organization.
    email_address: Option<String>,
    /// The address identifier.
    id: Option<String>,
}

/// The subscriptions of a customer.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionCollection {
    /// Total count of subscriptions for customer.
    #[schema(format = Int32)]
    total_count: Option<i32>,
    /// The subscriptions.
    items: Option<Vec<Subscription>>,
    /// Partner Center's requests for this page and, when more follow, the next.
    links: Option<CollectionLinks>,
    /// Partner Center's metadata about this collection.
    attributes: Option<ResourceAttributes>,
}

/// A subscription of a customer.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// The subscription identifier.
    id: Option<String>,
    /// The offer identifier.
    offer_id: Option<String>,
    /// The offer name.
    offer_name: Option<String>,
    /// The friendly name for the subscription defined by the partner to help disambiguate.
    friendly_name: Option<String>,
    /// The product type.
    product_type: Option<ProductType>,
    /// Provides the subscription quantity after provisioning.
    #[schema(format = Int32)]
    quantity: Option<i32>,
    /// The units defining quantity for the subscription.
    unit_type: Option<String>,
    /// A value indicating whether the subscription has purchasable add-ons.
    has_purchasable_addons: Option<bool>,
    /// The creation date, in date-time format.
    creation_date: Option<String>,
    /// The effective start date for this subscription, in date-time format.
    effective_start_date: Option<String>,
    /// The commitment end date for this subscription, in date-time format.
    commitment_end_date: Option<String>,
    /// The commitment end date and time for this subscription, in date-time format.
    commitment_end_date_time: Option<String>,
    /// The last date for cancellation.
    cancellation_allowed_until_date: Option<String>,
    /// The billing cycle end date for this subscription, in date-time format.
    billing_cycle_end_date: Option<String>,
    /// The billing cycle end date and time for this subscription, in date-time format.
    billing_cycle_end_date_time: Option<String>,
    /// Indicates the provisioning status: "success", "pending" or "failed".
    status: Option<String>,
    /// A value indicating whether the subscription renews automatically.
    auto_renew_enabled: Option<bool>,
    /// A value indicating whether the subscription is a trial.
    is_trial: Option<bool>,
    /// Specifies how the subscription is billed: "none", "usage", or "license".
    billing_type: Option<String>,
    /// Indicates the frequency with which the partner is billed for this order.
    billing_cycle: Option<String>,
    /// An ISO 8601 representation of the term's duration.
    term_duration: Option<String>,
    /// An ISO 8601 representation of the term's duration.
    renewal_term_duration: Option<String>,
    /// A value indicating whether the subscription is a Microsoft product.
    is_microsoft_product: Option<bool>,
    /// The MPN ID of the reseller of record, used in the indirect partner model.
    partner_id: Option<String>,
    /// Is Attention Needed.
    attention_needed: Option<bool>,
    /// A value indicating whether an action has been taken on a subscription that needed attention.
    action_taken: Option<bool>,
    /// The type of contract: "subscription", "productKey", or "redemptionCode".
    contract_type: Option<String>,
    /// The publisher name.
    publisher_name: Option<String>,
    /// The licenses that can still be refunded, and until when.
    refundable_quantity: Option<RefundableQuantity>,
    /// The promotion identifier if applied to the subscription.
    promotion_id: Option<String>,
    /// The ID of the order that was placed to begin the subscription.
    order_id: Option<String>,
    /// The entitlement identifier (an Azure subscription ID).
    entitlement_id: Option<String>,
    /// The subscription this add-on belongs to; absent for a subscription that is not an add-on.
    parent_subscription_id: Option<String>,
    /// The actions allowed on the subscription: "edit", "cancel".
    actions: Option<Vec<String>>,
    /// Why the subscription was suspended, when it was.
    suspension_reasons: Option<Vec<String>>,
    /// The refunds available for this subscription.
    refund_options: Option<Vec<RefundOption>>,
    /// The changes scheduled for the start of the subscription's next term; present for trials and when changes are scheduled.
    scheduled_next_term_instructions: Option<ScheduledNextTermInstructions>,
    /// The billing cycle change pending for the start of the subscription's next term.
    next_charge_instructions: Option<NextChargeInstructions>,
    /// The identifier of a specific product purchase, such as a reservation or an Azure savings plan.
    product_order_id: Option<String>,
    /// Partner Center's requests for this resource and related ones.
    links: Option<SubscriptionLinks>,
    /// Partner Center's metadata about this resource: its type and version.
    attributes: Option<ResourceAttributes>,
}

/// A refund available for a subscription.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundOption {
    /// The type of refund: "Partial" or "Full".
    #[serde(rename = "type")]
    kind: Option<String>,
    /// When this refund stops being available, in date-time format; absent when it does not expire.
    expires_after: Option<String>,
}

/// The changes scheduled for the start of a subscription's next term.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledNextTermInstructions {
    /// The product, SKU and terms the next term starts with.
    product: Option<NextTermProduct>,
    /// The quantity the next term starts with.
    #[schema(format = Int32)]
    quantity: Option<i32>,
    /// The custom end date of the next term, when it is aligned to another subscription's end date.
    custom_term_end_date: Option<String>,
}

/// The billing cycle change pending for the start of a subscription's next term.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NextChargeInstructions {
    /// The product, SKU and terms the next term starts with.
    product: Option<NextTermProduct>,
    /// The quantity the next term starts with.
    #[schema(format = Int32)]
    quantity: Option<i32>,
}

/// The product, SKU and terms a subscription's next term starts with.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NextTermProduct {
    /// The product identifier.
    product_id: Option<String>,
    /// The SKU identifier.
    sku_id: Option<String>,
    /// The availability identifier.
    availability_id: Option<String>,
    /// Indicates the frequency with which the partner is billed for this order.
    billing_cycle: Option<String>,
    /// An ISO 8601 representation of the term's duration.
    term_duration: Option<String>,
    /// The promotion identifier for the next term.
    promotion_id: Option<String>,
}

/// The product type.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductType {
    /// The subscription identifier.
    id: Option<String>,
    /// Display Name.
    display_name: Option<String>,
}

/// The orders of a customer.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderCollection {
    /// Total count of customer orders.
    #[schema(format = Int32)]
    total_count: Option<i32>,
    /// The orders.
    items: Option<Vec<Order>>,
    /// Partner Center's requests for this page and, when more follow, the next.
    links: Option<CollectionLinks>,
    /// Partner Center's metadata about this collection.
    attributes: Option<ResourceAttributes>,
}

/// An order of a customer.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// An order identifier.
    id: Option<String>,
    /// A friendly identifier for the order.
    alternate_id: Option<String>,
    /// The customer identifier.
    reference_customer_id: Option<String>,
    /// Indicates the frequency with which the partner is billed for this order.
    billing_cycle: Option<String>,
    /// The currency used when placing the order.
    currency_code: Option<String>,
    /// The currency symbol associated with the currency code.
    currency_symbol: Option<String>,
    /// The order's line items.
    line_items: Option<Vec<OrderLineItem>>,
    /// The date the order was created, in date-time format.
    creation_date: Option<String>,
    /// The status of the order.
    status: Option<String>,
    /// The transaction type of the order. Supported values are 'UserPurchase', 'SystemPurchase', or 'SystemBilling'.
    transaction_type: Option<String>,
    /// Partner Center's requests for this resource and related ones.
    links: Option<OrderLinks>,
    /// Partner Center's metadata about this resource: its type and version.
    attributes: Option<ResourceAttributes>,
}

/// A line item of an order.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineItem {
    /// Line item number.
    #[schema(format = Int32)]
    line_item_number: Option<i32>,
    /// The ID of the offer.
    offer_id: Option<String>,
    /// The ID of the subscription.
    subscription_id: Option<String>,
    /// The subscription an add-on line item adds to.
    parent_subscription_id: Option<String>,
    /// An ISO 8601 representation of the term's duration.
    term_duration: Option<String>,
    /// Promotion ID.
    promotion_id: Option<String>,
    /// The end date of the first billing term of the new subscription.
    custom_term_end_date: Option<String>,
    /// The transaction type of the line item.
    transaction_type: Option<String>,
    /// The friendly name for the subscription defined by the partner to help disambiguate.
    friendly_name: Option<String>,
    /// The quantity.
    #[schema(format = Int32)]
    quantity: Option<i32>,
    /// The MPN ID of the indirect reseller on whose behalf the order was placed, if any.
    partner_id_on_record: Option<String>,
    /// What provisioning some catalog items required, as names and values.
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    provisioning_context: Option<BTreeMap<String, String>>,
    /// Partner Center's requests for this resource and related ones.
    links: Option<OrderLineItemLinks>,
    /// Partner Center's metadata about this resource: its type and version.
    attributes: Option<ResourceAttributes>,
}

/// A page of invoices.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceCollection {
    /// Total count of elements in the collection.
    #[schema(format = Int32)]
    total_count: Option<i32>,
    /// The invoices.
    items: Option<Vec<Invoice>>,
    /// The link to the next page; absent on the last page.
    next_link: Option<String>,
    /// Partner Center's requests for this page and, when more follow, the next.
    links: Option<CollectionLinks>,
    /// Partner Center's metadata about this collection.
    attributes: Option<ResourceAttributes>,
}

/// A page of invoices, in the shape that the platform's Pagination setting reads.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoicePage {
    /// The invoices.
    value: Vec<Invoice>,
    /// The link to the next page; absent on the last page.
    next_link: Option<String>,
}

// An invoice and each of its amendments (a credit note is an invoice of its own) have the same fields, but an
// amendment lists no amendments of its own: two schemas, so that the document never refers to itself, which
// Power Platform's designer cannot show. The fields are written once, here.
macro_rules! invoice {
    ($(#[$doc:meta])* $name:ident { $($(#[$field_doc:meta])* $field:ident: $type:ty,)* }) => {
        $(#[$doc])*
        #[derive(ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// The invoice identifier.
            id: Option<String>,
            /// The date the invoice was generated.
            invoice_date: Option<String>,
            /// Billing period start date in UTC.
            billing_period_start_date: Option<String>,
            /// Billing period end date in UTC.
            billing_period_end_date: Option<String>,
            /// The total charges. Includes charges for transactions and any adjustments.
            #[schema(format = Float)]
            total_charges: Option<f32>,
            /// The amount paid by the partner. Negative if a payment was received.
            #[schema(format = Float)]
            paid_amount: Option<f32>,
            /// A code that indicates the currency used for all invoice item amounts and totals.
            currency_code: Option<String>,
            /// The currency symbol used for all invoice item amounts and totals.
            currency_symbol: Option<String>,
            /// A link to download the invoice in PDF format. This link isn't returned as part of the search results, and is populated only if the invoice is accessed by ID. This link auto-expires in 30 minutes.
            pdf_download_link: Option<String>,
            /// The invoice details.
            invoice_details: Option<Vec<InvoiceDetail>>,
            /// The document type of the invoice: "Credit Note", "Invoice".
            document_type: Option<String>,
            /// The type of invoice: "recurring", "one_time".
            invoice_type: Option<String>,
            /// The reference number of the document this document amends, such as the invoice a credit note corrects.
            amends_of: Option<String>,
            $($(#[$field_doc])* $field: $type,)*
            /// Partner Center's requests for this resource and related ones.
            links: Option<ResourceLinks>,
            /// Partner Center's metadata about this resource: its type and version.
            attributes: Option<ResourceAttributes>,
        }
    };
}

invoice! {
    /// An invoice of the partner.
    Invoice {
        /// The amendments to this invoice, such as credit notes.
        amendments: Option<Vec<InvoiceAmendment>>,
    }
}

invoice! {
    /// An amendment to an invoice, such as a credit note: a document with the fields of an invoice.
    InvoiceAmendment {}
}

/// A detail of an invoice.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceDetail {
    /// The type of invoice detail: "none", "usage_line_items", "billing_line_items".
    invoice_line_item_type: Option<String>,
    /// The billing provider: "none", "office", "azure" or "azure_data_market".
    billing_provider: Option<String>,
    /// Partner Center's requests for this resource and related ones.
    links: Option<ResourceLinks>,
    /// Partner Center's metadata about this resource: its type and version.
    attributes: Option<ResourceAttributes>,
}

/// The agreement types and their templates.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgreementMetadataCollection {
    /// Total count of agreement types.
    #[schema(format = Int32)]
    total_count: Option<i32>,
    /// The agreement types.
    items: Option<Vec<AgreementMetadata>>,
    /// Partner Center's requests for this page and, when more follow, the next.
    links: Option<CollectionLinks>,
    /// Partner Center's metadata about this collection.
    attributes: Option<ResourceAttributes>,
}

/// An agreement type and its current template.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgreementMetadata {
    /// The identifier of the agreement template, which ConfirmCustomerAgreement needs.
    template_id: Option<String>,
    /// The agreement type, such as MicrosoftCustomerAgreement.
    agreement_type: Option<String>,
    /// A link to the agreement's text.
    agreement_link: Option<String>,
    /// The rank of this version of the template; 0 is the current one.
    #[schema(format = Int32)]
    version_rank: Option<i32>,
}

/// The agreements confirmed for a customer.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgreementCollection {
    /// Total count of the customer's agreements.
    #[schema(format = Int32)]
    total_count: Option<i32>,
    /// The agreements.
    items: Option<Vec<Agreement>>,
    /// Partner Center's requests for this page and, when more follow, the next.
    links: Option<CollectionLinks>,
    /// Partner Center's metadata about this collection.
    attributes: Option<ResourceAttributes>,
}

/// A customer's confirmed agreement.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Agreement {
    /// The ID of the partner user who confirmed the agreement.
    user_id: Option<String>,
    /// The person at the customer's organization who accepted the agreement.
    primary_contact: Option<Contact>,
    /// The identifier of the agreement template.
    template_id: Option<String>,
    /// The date the customer accepted the agreement, in date-time format.
    date_agreed: Option<String>,
    /// The type of agreement the customer accepted.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// A link to the agreement's text.
    agreement_link: Option<String>,
}

/// The person at the customer's organization who accepted the agreement.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// The contact's first name.
    first_name: Option<String>,
    /// The contact's last name.
    last_name: Option<String>,
    /// The contact's email address.
    email: Option<String>,
    /// The contact's phone number.
    phone_number: Option<String>,
}

/// The licenses of a subscription that can still be refunded.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundableQuantity {
    /// The number of licenses that can still be refunded.
    #[schema(format = Int32)]
    total_quantity: Option<i32>,
    /// Each batch of refundable licenses and until when it can be refunded.
    details: Option<Vec<RefundableQuantityDetail>>,
}

/// A batch of refundable licenses.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundableQuantityDetail {
    /// The number of licenses in this batch.
    #[schema(format = Int32)]
    quantity: Option<i32>,
    /// The last date and time at which these licenses can be refunded, in date-time format.
    allowed_until_date_time: Option<String>,
}

// Partner Center's links name its own API (URIs relative to https://api.partnercenter.microsoft.com/v1), not the
// gateway's, and a flow cannot follow them through the connector; they are documented so that clients see every
// field of an answer, and hidden from makers (display::INTERNAL_EVERYWHERE).
/// A request for a related resource in Partner Center's API, as Partner Center gives it.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// The resource's URI, relative to Partner Center's API.
    uri: Option<String>,
    /// The HTTP method of the request.
    method: Option<String>,
    /// The headers to send with the request.
    headers: Option<Vec<LinkHeader>>,
    /// The body to send with the request, if any.
    body: Option<String>,
}

/// A header of a link's request.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkHeader {
    /// The header's name, such as MS-ContinuationToken.
    key: Option<String>,
    /// The header's value.
    value: Option<String>,
}

/// Partner Center's links for a collection.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectionLinks {
    /// The request for this page.
    #[serde(rename = "self")]
    this: Option<Link>,
    /// The request for the next page; absent on the last page.
    next: Option<Link>,
    /// The request for the previous page.
    previous: Option<Link>,
}

/// Partner Center's links for a resource.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLinks {
    /// The request for this resource.
    #[serde(rename = "self")]
    this: Option<Link>,
}

/// Partner Center's links for a subscription.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionLinks {
    /// The request for this subscription.
    #[serde(rename = "self")]
    this: Option<Link>,
    /// The request for the subscription's offer (legacy offers).
    offer: Option<Link>,
    /// The request for the subscription's product (new commerce).
    product: Option<Link>,
    /// The request for the subscription's SKU (new commerce).
    sku: Option<Link>,
    /// The request for the subscription's availability (new commerce).
    availability: Option<Link>,
    /// The request for the subscription an add-on belongs to.
    parent_subscription: Option<Link>,
}

/// Partner Center's links for an order.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLinks {
    /// The request for this order.
    #[serde(rename = "self")]
    this: Option<Link>,
    /// The request for the order's provisioning status.
    provisioning_status: Option<Link>,
}

/// Partner Center's links for a line item of an order.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineItemLinks {
    /// The request for the subscription the line item bought.
    subscription: Option<Link>,
    /// The request for the line item's provisioning status.
    provisioning_status: Option<Link>,
    /// The request for the line item's SKU.
    sku: Option<Link>,
}

/// Partner Center's metadata about a resource.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAttributes {
    /// The resource's version, which changes whenever the resource does.
    etag: Option<String>,
    /// The resource's type, such as Customer, Subscription or Collection.
    object_type: Option<String>,
}

/// An error of the gateway's own: the call never reached Partner Center, or Partner Center could not answer.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayError {
    /// The HTTP status code.
    #[schema(format = Int32)]
    status_code: Option<i32>,
    #[doc = "A stable code for the error: a word such as InvalidCustomerTenantId from the gateway, or a number such as 60003 when the error is Partner Center's own, passed through unchanged."]
    #[schema(value_type = Option<Value>)]
    code: Option<Value>,
    /// What went wrong, in words for a person.
    message: Option<String>,
    /// The call's correlation ID; quote it when asking for help.
    correlation_id: Option<String>,
}

/// The connection's quota is spent (or Partner Center's own throttle answered).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitError {
    /// The HTTP status code, 429.
    #[schema(format = Int32)]
    status_code: Option<i32>,
    /// When to try again, such as "Rate limit is exceeded. Try again in 12 seconds.".
    message: Option<String>,
}

/// Partner Center's own error, passed through unchanged.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerCenterError {
    /// Partner Center's error code, such as 600061.
    #[schema(format = Int32)]
    code: Option<i32>,
    /// Partner Center's description of the error.
    description: Option<String>,
    /// More details, when Partner Center gives them.
    data: Option<Vec<String>>,
    /// The part of Partner Center that answered.
    source: Option<String>,
    /// Partner Center's message, in newer answers.
    message: Option<String>,
    /// The error's name, such as PartnerConfirmedAgreementAlreadyExists.
    error_name: Option<String>,
    /// Whether trying again later may succeed.
    is_retryable: Option<bool>,
    /// The values the error is about.
    #[schema(value_type = Option<Object>)]
    parameters: Option<BTreeMap<String, Value>>,
    /// Partner Center's internal error code, such as InternalErrorCode=600061.
    error_message_extended: Option<String>,
}

/// The new records a trigger delivers, oldest first; the flow runs once for each.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecordBatch {
    /// The new records.
    value: Vec<AuditRecord>,
}

/// A record of Partner Center's activity log: an operation performed by a partner user or application.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The record's unique identifier.
    id: Option<String>,
    /// The partner's Microsoft tenant ID.
    partner_id: Option<String>,
    /// The tenant ID of the customer the operation was performed for.
    customer_id: Option<String>,
    /// The name of the customer the operation was performed for.
    customer_name: Option<String>,
    /// The user principal name of the partner user who performed the operation.
    user_principal_name: Option<String>,
    /// The ID of the application that performed the operation.
    application_id: Option<String>,
    /// The type of resource acted on, such as customer, order or subscription.
    resource_type: Option<String>,
    /// The resource before the operation, as JSON text.
    resource_old_value: Option<String>,
    /// The resource after the operation, as JSON text.
    resource_new_value: Option<String>,
    /// The type of operation, such as add_customer, create_order or update_subscription.
    operation_type: Option<String>,
    /// When the operation was performed, in UTC.
    #[schema(format = DateTime)]
    operation_date: Option<String>,
    /// The operation's status: progress, succeeded or failed.
    operation_status: Option<String>,
    /// The correlation ID of the request that performed the operation.
    original_correlation_id: Option<String>,
    /// More about the operation, as key and value pairs (such as OrderId or SubscriptionId).
    customized_data: Option<Vec<AuditRecordData>>,
    /// Partner Center's metadata about this record.
    attributes: Option<ResourceAttributes>,
}

/// A key and value pair about an audited operation.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecordData {
    /// The name of the value, such as OrderId.
    key: Option<String>,
    /// The value.
    value: Option<String>,
}

/// The activities the trigger When an activity is recorded can watch for.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityTypeList {
    /// The activities.
    value: Vec<ActivityType>,
}

/// An activity of Partner Center's activity log.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityType {
    /// Partner Center's operationType, such as add_customer.
    operation_type: String,
    /// The activity's name, in the caller's language (en-US or pt-BR).
    display_name: String,
}
