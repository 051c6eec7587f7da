//! The custom-connector package, as Power Platform and a maker see it: compatible with the original connector,
//! only what Swagger 2.0 and Power Platform accept, Microsoft's string guidance, two languages, and committed
//! exports that match this build.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use partner_center_gateway::connector::export;
use partner_center_gateway::connector::locale::{self, Locale};
use partner_center_gateway::connector::package::{self as connector, Auth, Target};
use partner_center_gateway::routes;
use serde_json::Value;

/// The host the committed exports name; makers export their own with `--host`.
const EXPORT_HOST: &str = "pcgw.example.com";

fn definition(locale: Locale, auth: Auth) -> Value {
    connector::api_definition(
        &routes::openapi(),
        locale,
        auth,
        &Target::parse(EXPORT_HOST).unwrap(),
    )
    .unwrap()
}

fn variants() -> Vec<(Locale, Auth, Value)> {
    let mut all = Vec::new();
    for locale in Locale::ALL {
        for auth in Auth::ALL {
            all.push((locale, auth, definition(locale, auth)));
        }
    }
    all
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), op));
        }
    }
    out
}

fn operation<'a>(doc: &'a Value, id: &str) -> &'a Value {
    operations(doc)
        .into_iter()
        .find(|(_, _, op)| op["operationId"] == id)
        .unwrap_or_else(|| panic!("no operation {id}"))
        .2
}

/// Follows a `#/definitions/...` reference, as Power Platform does.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(target) => {
            let name = target
                .strip_prefix("#/definitions/")
                .expect("a definitions $ref");
            doc["definitions"]
                .get(name)
                .unwrap_or_else(|| panic!("$ref to missing definition {name}"))
        }
        None => schema,
    }
}

/// The schema at a dotted response path such as `items.companyProfile.tenantId`, as written (a label next to a
/// `$ref` included); arrays are stepped through, as the designer's dynamic content does.
fn property<'a>(doc: &'a Value, root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = root;
    for step in path.split('.') {
        let mut container = resolve(doc, at);
        if container["type"] == "array" {
            container = resolve(doc, &container["items"]);
        }
        at = container.get("properties")?.get(step)?;
    }
    Some(at)
}

fn json_type<'a>(doc: &'a Value, schema: &'a Value) -> &'a str {
    let schema = resolve(doc, schema);
    schema["type"]
        .as_str()
        .unwrap_or(if schema.get("properties").is_some() {
            "object"
        } else {
            "none"
        })
}

/// A parameter of the original connector, as its definition declares it.
struct Parameter {
    name: &'static str,
    location: &'static str,
    kind: &'static str,
    required: bool,
    /// `x-ms-summary`: the parameter's display name.
    summary: &'static str,
    description: &'static str,
}

/// A response property of the original connector, at its dotted path (arrays stepped through).
struct Field {
    path: &'static str,
    kind: &'static str,
    /// `title`, which the designer shows as the display name; the original has none on a few properties.
    summary: Option<&'static str>,
    visibility: Option<&'static str>,
    description: &'static str,
    /// Whether the original lists the boolean's values (`enum: [true, false]`).
    choices: bool,
}

struct Original {
    operation_id: &'static str,
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    description: &'static str,
    parameters: &'static [Parameter],
    response: &'static [Field],
}

/// The deprecated connector's contract, copied verbatim from its apiDefinition.swagger.json: flows built on it
/// name these operations, paths, parameter keys and response fields, and makers know its display names and
/// descriptions, so none of them may change except as [`DIFFERENCES`] says.
#[rustfmt::skip]
const ORIGINAL: &[Original] = &[
    Original {
        operation_id: "GetInvoices",
        method: "get",
        path: "/v1/invoices",
        summary: "Get invoices",
        description: "Get a collection of invoices.",
        parameters: &[
            Parameter { name: "Size", location: "query", kind: "integer", required: false, summary: "Size", description: "The number of invoice resources to return in the response. This parameter is optional." },
            Parameter { name: "Offset", location: "query", kind: "string", required: false, summary: "Offset", description: "The zero-based index of the first invoice to return." },
        ],
        response: &[
            Field { path: "totalCount", kind: "integer", summary: Some("Total Count"), visibility: None, description: "Total count of elements in the collection.", choices: false },
            Field { path: "items", kind: "array", summary: None, visibility: None, description: "items", choices: false },
            Field { path: "items.id", kind: "string", summary: Some("ID"), visibility: Some("important"), description: "The invoice identifier.", choices: false },
            Field { path: "items.invoiceDate", kind: "string", summary: Some("Invoice Date"), visibility: None, description: "The date the invoice was generated.", choices: false },
            Field { path: "items.billingPeriodStartDate", kind: "string", summary: Some("Billing Period Start Date"), visibility: None, description: "Billing period start date in UTC.", choices: false },
            Field { path: "items.billingPeriodEndDate", kind: "string", summary: Some("Billing Period End Date"), visibility: None, description: "Billing period end date in UTC.", choices: false },
            Field { path: "items.totalCharges", kind: "number", summary: Some("Total Charges"), visibility: None, description: "The total charges. Includes charges for transactions and any adjustments.", choices: false },
            Field { path: "items.paidAmount", kind: "number", summary: Some("Paid Amount"), visibility: None, description: "The amount paid by the partner. Negative if a payment was received.", choices: false },
            Field { path: "items.currencyCode", kind: "string", summary: Some("Currency Code"), visibility: None, description: "A code that indicates the currency used for all invoice item amounts and totals.", choices: false },
            Field { path: "items.currencySymbol", kind: "string", summary: Some("Currency Symbol"), visibility: None, description: "The currency symbol used for all invoice item amounts and totals.", choices: false },
            Field { path: "items.pdfDownloadLink", kind: "string", summary: Some("PDF Download Link"), visibility: None, description: "A link to download the invoice in PDF format. This link isn't returned as part of the search results, and is populated only if the invoice is accessed by ID. This link auto-expires in 30 minutes.", choices: false },
            Field { path: "items.invoiceDetails", kind: "array", summary: None, visibility: None, description: "The invoice details.", choices: false },
            Field { path: "items.invoiceDetails.invoiceLineItemType", kind: "string", summary: Some("Invoice Line Item Type"), visibility: None, description: "The type of invoice detail: \"none\", \"usage_line_items\", \"billing_line_items\".", choices: false },
            Field { path: "items.invoiceDetails.billingProvider", kind: "string", summary: Some("Billing Provider"), visibility: None, description: "The billing provider: \"none\", \"office\", \"azure\" or \"azure_data_market\".", choices: false },
            Field { path: "items.documentType", kind: "string", summary: Some("Document Type"), visibility: None, description: "The document type of the invoice: \"Credit Note\", \"Invoice\".", choices: false },
            Field { path: "items.invoiceType", kind: "string", summary: Some("Invoice Type"), visibility: None, description: "The type of invoice: \"recurring\", \"one_time\".", choices: false },
        ],
    },
    Original {
        operation_id: "GetAllCustomers",
        method: "get",
        path: "/v1/customers",
        summary: "Get All Customers",
        description: "Get a list of customers.",
        parameters: &[
            Parameter { name: "Size", location: "query", kind: "string", required: false, summary: "Size", description: "The number of results to be displayed at one time." },
        ],
        response: &[
            Field { path: "totalCount", kind: "integer", summary: Some("Total Count"), visibility: None, description: "Total count of elements in collection", choices: false },
            Field { path: "items", kind: "array", summary: None, visibility: None, description: "items", choices: false },
            Field { path: "items.id", kind: "string", summary: Some("ID"), visibility: Some("important"), description: "The customer ID.", choices: false },
            Field { path: "items.companyProfile", kind: "object", summary: Some("Company Profile"), visibility: None, description: "Company Profile", choices: false },
            Field { path: "items.companyProfile.tenantId", kind: "string", summary: Some("Tenant ID"), visibility: Some("important"), description: "The customer's tenant identifier for Azure AD. This is also called a MicrosoftID.", choices: false },
            Field { path: "items.companyProfile.domain", kind: "string", summary: Some("Domain"), visibility: None, description: "The customer's name, such as contoso.onmicrosoft.com.", choices: false },
            Field { path: "items.companyProfile.companyName", kind: "string", summary: Some("Company Name"), visibility: Some("important"), description: "The name of the company or organization.", choices: false },
            Field { path: "items.relationshipToPartner", kind: "string", summary: Some("Relationship To Partner"), visibility: None, description: "Defines the licensing program that the partner uses for this customer: \"none\", \"reseller\", \"advisor\", \"syndication\" or \"microsoft_support\".", choices: false },
        ],
    },
    Original {
        operation_id: "GetCustomerSubscription",
        method: "get",
        path: "/v1/customers/{CustomerTenantID}/subscriptions",
        summary: "Get customer subscriptions",
        description: "Gets a collection of all the subscriptions for a specified customer.",
        parameters: &[
            Parameter { name: "CustomerTenantID", location: "path", kind: "string", required: true, summary: "Customer tenant ID", description: "A customer's tenant ID." },
        ],
        response: &[
            Field { path: "totalCount", kind: "integer", summary: Some("Total Count"), visibility: None, description: "Total count of subscriptions for customer.", choices: false },
            Field { path: "items", kind: "array", summary: None, visibility: None, description: "items", choices: false },
            Field { path: "items.id", kind: "string", summary: Some("ID"), visibility: Some("important"), description: "The subscription identifier.", choices: false },
            Field { path: "items.offerId", kind: "string", summary: Some("Offer ID"), visibility: Some("important"), description: "The offer identifier.", choices: false },
            Field { path: "items.offerName", kind: "string", summary: Some("Offer Name"), visibility: None, description: "The offer name.", choices: false },
            Field { path: "items.friendlyName", kind: "string", summary: Some("Friendly Name"), visibility: None, description: "The friendly name for the subscription defined by the partner to help disambiguate.", choices: false },
            Field { path: "items.productType", kind: "object", summary: None, visibility: None, description: "productType", choices: false },
            Field { path: "items.productType.id", kind: "string", summary: Some("ID"), visibility: None, description: "The subscription identifier.", choices: false },
            Field { path: "items.productType.displayName", kind: "string", summary: Some("Display Name"), visibility: None, description: "Display Name.", choices: false },
            Field { path: "items.quantity", kind: "integer", summary: Some("Quantity"), visibility: None, description: "Provides the subscription quantity after provisioning.", choices: false },
            Field { path: "items.unitType", kind: "string", summary: Some("Unit Type"), visibility: None, description: "The units defining quantity for the subscription.", choices: false },
            Field { path: "items.hasPurchasableAddons", kind: "boolean", summary: Some("Has Purchasable Addons"), visibility: None, description: "A value indicating whether the subscription has purchasable add-ons.", choices: true },
            Field { path: "items.creationDate", kind: "string", summary: Some("Creation Date"), visibility: None, description: "The creation date, in date-time format.", choices: false },
            Field { path: "items.effectiveStartDate", kind: "string", summary: Some("Effective Start Date"), visibility: None, description: "The effective start date for this subscription, in date-time format.", choices: false },
            Field { path: "items.commitmentEndDate", kind: "string", summary: Some("Commitment End Date"), visibility: None, description: "The commitment end date for this subscription, in date-time format.", choices: false },
            Field { path: "items.cancellationAllowedUntilDate", kind: "string", summary: Some("Cancellation Allowed Until Date"), visibility: None, description: "The last date for cancellation.", choices: false },
            Field { path: "items.billingCycleEndDate", kind: "string", summary: Some("Billing Cycle End Date"), visibility: None, description: "The billing cycle end date for this subscription, in date-time format.", choices: false },
            Field { path: "items.status", kind: "string", summary: Some("Status"), visibility: None, description: "Indicates the provisioning status: \"success\", \"pending\" or \"failed\".", choices: false },
            Field { path: "items.autoRenewEnabled", kind: "boolean", summary: Some("Auto Renew Enabled"), visibility: None, description: "autoRenewEnabled", choices: true },
            Field { path: "items.isTrial", kind: "boolean", summary: Some("Is Trial"), visibility: None, description: "A value indicating whether the subscription is a trial.", choices: true },
            Field { path: "items.billingType", kind: "string", summary: Some("Billing Type"), visibility: None, description: "Specifies how the subscription is billed: \"none\", \"usage\", or \"license\".", choices: false },
            Field { path: "items.billingCycle", kind: "string", summary: Some("Billing Cycle"), visibility: None, description: "Indicates the frequency with which the partner is billed for this order.", choices: false },
            Field { path: "items.termDuration", kind: "string", summary: Some("Term Duration"), visibility: None, description: "An ISO 8601 representation of the term's duration.", choices: false },
            Field { path: "items.renewalTermDuration", kind: "string", summary: Some("Renewal Term Duration"), visibility: None, description: "An ISO 8601 representation of the term's duration.", choices: false },
            Field { path: "items.isMicrosoftProduct", kind: "boolean", summary: Some("Is Microsoft Product"), visibility: None, description: "A value indicating whether the subscription is a Microsoft product.", choices: true },
            Field { path: "items.partnerId", kind: "string", summary: Some("Partner ID"), visibility: None, description: "The MPN ID of the reseller of record, used in the indirect partner model.", choices: false },
            Field { path: "items.attentionNeeded", kind: "boolean", summary: Some("Attention Needed"), visibility: None, description: "Is Attention Needed.", choices: false },
            Field { path: "items.contractType", kind: "string", summary: Some("Contract Type"), visibility: None, description: "The type of contract: \"subscription\", \"productKey\", or \"redemptionCode\".", choices: false },
            Field { path: "items.publisherName", kind: "string", summary: Some("Publisher Name"), visibility: None, description: "The publisher name.", choices: false },
            Field { path: "items.promotionId", kind: "string", summary: Some("Promotion ID"), visibility: None, description: "The promotion identifier if applied to the subscription.", choices: false },
            Field { path: "items.orderId", kind: "string", summary: Some("Order ID"), visibility: None, description: "The ID of the order that was placed to begin the subscription.", choices: false },
        ],
    },
    Original {
        operation_id: "GetCustomerOrders",
        method: "get",
        path: "/v1/customers/{CustomerTenantID}/orders",
        summary: "Get customer orders",
        description: "Gets a collection of all the orders for a specified customer.",
        parameters: &[
            Parameter { name: "CustomerTenantID", location: "path", kind: "string", required: true, summary: "Customer tenant ID", description: "A customer tenant ID." },
        ],
        response: &[
            Field { path: "totalCount", kind: "integer", summary: Some("Total Count"), visibility: None, description: "Total count of customer orders.", choices: false },
            Field { path: "items", kind: "array", summary: None, visibility: None, description: "items", choices: false },
            Field { path: "items.id", kind: "string", summary: Some("ID"), visibility: Some("important"), description: "An order identifier.", choices: false },
            Field { path: "items.alternateId", kind: "string", summary: Some("Alternate ID"), visibility: None, description: "A friendly identifier for the order.", choices: false },
            Field { path: "items.referenceCustomerId", kind: "string", summary: Some("Customer ID"), visibility: None, description: "The customer identifier.", choices: false },
            Field { path: "items.billingCycle", kind: "string", summary: Some("Billing Cycle"), visibility: None, description: "Indicates the frequency with which the partner is billed for this order.", choices: false },
            Field { path: "items.currencyCode", kind: "string", summary: Some("Currency Code"), visibility: None, description: "The currency used when placing the order.", choices: false },
            Field { path: "items.currencySymbol", kind: "string", summary: Some("Currency Symbol"), visibility: None, description: "The currency symbol associated with the currency code.", choices: false },
            Field { path: "items.lineItems", kind: "array", summary: None, visibility: None, description: "lineItems", choices: false },
            Field { path: "items.lineItems.lineItemNumber", kind: "integer", summary: None, visibility: None, description: "Line item number.", choices: false },
            Field { path: "items.lineItems.offerId", kind: "string", summary: Some("Offer ID"), visibility: None, description: "The ID of the offer.", choices: false },
            Field { path: "items.lineItems.subscriptionId", kind: "string", summary: Some("Subscription ID"), visibility: None, description: "The ID of the subscription.", choices: false },
            Field { path: "items.lineItems.termDuration", kind: "string", summary: Some("Term Duration"), visibility: None, description: "An ISO 8601 representation of the term's duration.", choices: false },
            Field { path: "items.lineItems.promotionId", kind: "string", summary: Some("Promotion ID"), visibility: None, description: "Promotion ID.", choices: false },
            Field { path: "items.lineItems.customTermEndDate", kind: "string", summary: Some("Custom Term End Date"), visibility: None, description: "The end date of the first billing term of the new subscription.", choices: false },
            Field { path: "items.lineItems.transactionType", kind: "string", summary: Some("Transaction Type"), visibility: None, description: "The transaction type of the line item.", choices: false },
            Field { path: "items.lineItems.friendlyName", kind: "string", summary: Some("Friendly Name"), visibility: None, description: "The friendly name for the subscription defined by the partner to help disambiguate.", choices: false },
            Field { path: "items.lineItems.quantity", kind: "integer", summary: None, visibility: None, description: "Quantity", choices: false },
            Field { path: "items.creationDate", kind: "string", summary: Some("Creation Date"), visibility: None, description: "The date the order was created, in date-time format.", choices: false },
            Field { path: "items.status", kind: "string", summary: Some("Status"), visibility: None, description: "The status of the order.", choices: false },
            Field { path: "items.transactionType", kind: "string", summary: Some("Transaction Type"), visibility: None, description: "The transaction type of the order. Supported values are 'UserPurchase', 'SystemPurchase', or 'SystemBilling'", choices: false },
        ],
    },
    Original {
        operation_id: "GetCustomerDetails",
        method: "get",
        path: "/v1/customers/{CustomerTenantID}",
        summary: "Get customer details",
        description: "Gets a Customer resource that corresponds to a customer ID.",
        parameters: &[
            Parameter { name: "CustomerTenantID", location: "path", kind: "string", required: true, summary: "Customer tenant ID", description: "A customer tenant ID" },
        ],
        response: &[
            Field { path: "id", kind: "string", summary: Some("ID"), visibility: Some("important"), description: "The customer ID.", choices: false },
            Field { path: "commerceId", kind: "string", summary: Some("The commerce ID."), visibility: None, description: "The commerce ID.", choices: false },
            Field { path: "companyProfile", kind: "object", summary: Some("Company Profile"), visibility: None, description: "Company Profile", choices: false },
            Field { path: "companyProfile.tenantId", kind: "string", summary: Some("Tenant ID"), visibility: Some("important"), description: "The customer's tenant identifier for Azure AD. This is also called a MicrosoftID.", choices: false },
            Field { path: "companyProfile.companyName", kind: "string", summary: Some("Company Name (Company Profile)."), visibility: Some("important"), description: "The name of the company or organization.", choices: false },
            Field { path: "companyProfile.domain", kind: "string", summary: Some("Domain"), visibility: Some("important"), description: "The customer's name, such as contoso.onmicrosoft.com.", choices: false },
            Field { path: "companyProfile.address", kind: "object", summary: Some("Address (Company Profile)"), visibility: None, description: "Address", choices: false },
            Field { path: "companyProfile.address.country", kind: "string", summary: Some("Country (Company Profile)"), visibility: None, description: "The country.", choices: false },
            Field { path: "companyProfile.address.region", kind: "string", summary: Some("Region (Company Profile)."), visibility: None, description: "The region.", choices: false },
            Field { path: "companyProfile.address.city", kind: "string", summary: Some("City (Company Profile)"), visibility: None, description: "The city.", choices: false },
            Field { path: "companyProfile.address.state", kind: "string", summary: Some("State (Company Profile)"), visibility: None, description: "The state.", choices: false },
            Field { path: "companyProfile.address.addressLine1", kind: "string", summary: Some("Address Line1 (Company Profile)"), visibility: None, description: "The first line of the address.", choices: false },
            Field { path: "companyProfile.address.postalCode", kind: "string", summary: Some("Postal Code (Company Profile)"), visibility: None, description: "The ZIP code or postal code.", choices: false },
            Field { path: "companyProfile.address.phoneNumber", kind: "string", summary: Some("Phone Number (Company Profile)"), visibility: None, description: "The phone number of a contact at the customer's company/organization.", choices: false },
            Field { path: "companyProfile.email", kind: "string", summary: Some("Email (Company Profile)"), visibility: None, description: "Email.", choices: false },
            Field { path: "billingProfile", kind: "object", summary: Some("Billing Profile"), visibility: None, description: "Billing Profile", choices: false },
            Field { path: "billingProfile.id", kind: "string", summary: Some("Profile ID"), visibility: None, description: "The profile identifier.", choices: false },
            Field { path: "billingProfile.firstName", kind: "string", summary: Some("First Name (Billing Profile)"), visibility: None, description: "The first name of the billing contact at the customer's company.", choices: false },
            Field { path: "billingProfile.lastName", kind: "string", summary: Some("Last Name (Billing Profile)"), visibility: None, description: "The last name of the billing contact.", choices: false },
            Field { path: "billingProfile.email", kind: "string", summary: Some("Email (Billing Profile)"), visibility: None, description: "The billing contact's email address", choices: false },
            Field { path: "billingProfile.culture", kind: "string", summary: Some("Culture (Billing Profile)"), visibility: None, description: "Their preferred culture for communication and currency, such as \"en-us\".", choices: false },
            Field { path: "billingProfile.language", kind: "string", summary: Some("Language (Billing Profile)"), visibility: None, description: "Their preferred language for communication.", choices: false },
            Field { path: "billingProfile.companyName", kind: "string", summary: Some("Company Name (Billing Profile)"), visibility: None, description: "The name of the company or organization.", choices: false },
            Field { path: "billingProfile.defaultAddress", kind: "object", summary: Some("Billing Profile Address"), visibility: None, description: "Billing profile default address", choices: false },
            Field { path: "billingProfile.defaultAddress.country", kind: "string", summary: Some("Country (Billing Profile)"), visibility: None, description: "The country/region in ISO country code format.", choices: false },
            Field { path: "billingProfile.defaultAddress.region", kind: "string", summary: Some("Region (Billing Profile)"), visibility: None, description: "The region.", choices: false },
            Field { path: "billingProfile.defaultAddress.city", kind: "string", summary: Some("City (Billing Profile)"), visibility: None, description: "The city.", choices: false },
            Field { path: "billingProfile.defaultAddress.state", kind: "string", summary: Some("State (Billing Profile)"), visibility: None, description: "The state.", choices: false },
            Field { path: "billingProfile.defaultAddress.addressLine1", kind: "string", summary: Some("AddressLine1 (Billing Profile)"), visibility: None, description: "The first line of the address.", choices: false },
            Field { path: "billingProfile.defaultAddress.postalCode", kind: "string", summary: Some("Postal Code (Billing Profile)"), visibility: None, description: "The ZIP code or postal code.", choices: false },
            Field { path: "billingProfile.defaultAddress.firstName", kind: "string", summary: Some("First Name (Billing Profile)"), visibility: None, description: "The first name of a contact at the customer's company/organization.", choices: false },
            Field { path: "billingProfile.defaultAddress.lastName", kind: "string", summary: Some("Last Name (Billing Profile)"), visibility: None, description: "The last name of a contact at the customer's company/organization.", choices: false },
            Field { path: "billingProfile.defaultAddress.phoneNumber", kind: "string", summary: Some("Phone Number (Billing Profile)"), visibility: None, description: "The phone number of a contact at the customer's company/organization.", choices: false },
            Field { path: "relationshipToPartner", kind: "string", summary: Some("Relationship To Partner"), visibility: None, description: "Defines the licensing program that the partner uses for this customer: \"none\", \"reseller\", \"advisor\", \"syndication\" or \"microsoft_support\".", choices: false },
            Field { path: "allowDelegatedAccess", kind: "boolean", summary: Some("Allow Delegated Access"), visibility: None, description: "Indicates whether the partner has been granted delegated admin privileges by this customer.", choices: true },
            Field { path: "customDomains", kind: "array", summary: Some("Custom Domains"), visibility: None, description: "List of custom domains of a customer.", choices: false },
        ],
    },
];

/// Where this connector deliberately differs from the original's text: `(operationId, where, field, ours,
/// why)`. `where` is `operation`, `parameter NAME` or `response PATH`; `field` is `summary` (an operation's
/// summary, or a parameter's or property's `x-ms-summary`) or `description`. Every entry must still differ from
/// the original, and be used, so the list cannot rot.
///
/// The reasons, in short:
/// - *guidance*: Microsoft's connector string guidance, which [`strings_follow_microsofts_connector_guidance`]
///   enforces: operation summaries in sentence case; labels without a trailing full stop; descriptions that are
///   sentences ending with one. Where the original's description is only a key or a label ("items",
///   "productType", "Company Profile"), appending a full stop would not make it a sentence, so there is one.
/// - *unlabelled*: the original has no `title` on the property, so the designer showed its key; every property
///   here carries an `x-ms-summary`, and it is that same key, as makers knew it (the Portuguese page lists it too).
#[rustfmt::skip]
const DIFFERENCES: &[(&str, &str, &str, &str, &str)] = &[
    // guidance: sentence case ("Get All Customers").
    ("GetAllCustomers", "operation", "summary", "Get all customers", "guidance"),
    // guidance: descriptions end with a period ("A customer tenant ID").
    ("GetCustomerDetails", "parameter CustomerTenantID", "description", "A customer tenant ID.", "guidance"),
    // unlabelled: the designer showed the key.
    ("GetInvoices", "response items", "summary", "items", "unlabelled"),
    ("GetInvoices", "response items.invoiceDetails", "summary", "invoiceDetails", "unlabelled"),
    ("GetAllCustomers", "response items", "summary", "items", "unlabelled"),
    ("GetCustomerSubscription", "response items", "summary", "items", "unlabelled"),
    ("GetCustomerSubscription", "response items.productType", "summary", "productType", "unlabelled"),
    ("GetCustomerOrders", "response items", "summary", "items", "unlabelled"),
    ("GetCustomerOrders", "response items.lineItems", "summary", "lineItems", "unlabelled"),
    ("GetCustomerOrders", "response items.lineItems.lineItemNumber", "summary", "lineItemNumber", "unlabelled"),
    ("GetCustomerOrders", "response items.lineItems.quantity", "summary", "quantity", "unlabelled"),
    // guidance: no trailing full stop on a label ("The commerce ID.", "Company Name (Company Profile).",
    // "Region (Company Profile).").
    ("GetCustomerDetails", "response commerceId", "summary", "The commerce ID", "guidance"),
    ("GetCustomerDetails", "response companyProfile.companyName", "summary", "Company Name (Company Profile)", "guidance"),
    ("GetCustomerDetails", "response companyProfile.address.region", "summary", "Region (Company Profile)", "guidance"),
    // guidance: the description was a key or a label, not a sentence ("items", "productType", "autoRenewEnabled",
    // "lineItems", "Quantity", "Company Profile", "Address", "Billing Profile").
    ("GetInvoices", "response items", "description", "The invoices.", "guidance"),
    ("GetAllCustomers", "response items", "description", "The customers.", "guidance"),
    ("GetAllCustomers", "response items.companyProfile", "description", "The customer's company profile.", "guidance"),
    ("GetCustomerSubscription", "response items", "description", "The subscriptions.", "guidance"),
    ("GetCustomerSubscription", "response items.productType", "description", "The product type.", "guidance"),
    ("GetCustomerSubscription", "response items.autoRenewEnabled", "description", "A value indicating whether the subscription renews automatically.", "guidance"),
    ("GetCustomerOrders", "response items", "description", "The orders.", "guidance"),
    ("GetCustomerOrders", "response items.lineItems", "description", "The order's line items.", "guidance"),
    ("GetCustomerOrders", "response items.lineItems.quantity", "description", "The quantity.", "guidance"),
    ("GetCustomerDetails", "response companyProfile", "description", "The customer's company profile.", "guidance"),
    ("GetCustomerDetails", "response companyProfile.address", "description", "The company's address.", "guidance"),
    ("GetCustomerDetails", "response billingProfile", "description", "The customer's billing profile.", "guidance"),
    // guidance: descriptions end with a period (the original's text, plus one).
    ("GetAllCustomers", "response totalCount", "description", "Total count of elements in collection.", "guidance"),
    ("GetCustomerOrders", "response items.transactionType", "description", "The transaction type of the order. Supported values are 'UserPurchase', 'SystemPurchase', or 'SystemBilling'.", "guidance"),
    ("GetCustomerDetails", "response billingProfile.email", "description", "The billing contact's email address.", "guidance"),
    ("GetCustomerDetails", "response billingProfile.defaultAddress", "description", "Billing profile default address.", "guidance"),
];

/// Fields Partner Center answers with that the original connector did not list, which makers can now pick as
/// dynamic content: `(operationId, response path, what it is)`. Additions cannot break a flow; a changed or
/// removed field of the original's could, and the tests above refuse that. Every entry must be there.
#[rustfmt::skip]
const ADDITIONS: &[(&str, &str, &str)] = &[
    ("GetAllCustomers", "items.allowDelegatedAccess", "in the list as in GetCustomerDetails"),
    ("GetCustomerSubscription", "items.commitmentEndDateTime", "the commitment's end with its time of day"),
    ("GetCustomerSubscription", "items.billingCycleEndDateTime", "the billing cycle's end with its time of day"),
    ("GetCustomerSubscription", "items.actionTaken", "beside attentionNeeded"),
    ("GetCustomerSubscription", "items.refundableQuantity", "what can still be refunded"),
    ("GetCustomerSubscription", "items.refundableQuantity.totalQuantity", "what can still be refunded"),
    ("GetCustomerSubscription", "items.refundableQuantity.details", "what can still be refunded"),
    ("GetCustomerSubscription", "items.refundableQuantity.details.quantity", "what can still be refunded"),
    ("GetCustomerSubscription", "items.refundableQuantity.details.allowedUntilDateTime", "what can still be refunded"),
    ("GetCustomerOrders", "items.lineItems.partnerIdOnRecord", "the indirect reseller of a line item"),
    // Fields of Partner Center's resources (its Customer, CustomerCompanyProfile, Address, Subscription,
    // OrderLineItem and Invoice resource pages) that the original connector never listed.
    ("GetInvoices", "items.amendsOf", "the invoice a credit note amends"),
    ("GetInvoices", "items.amendments", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.id", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.invoiceDate", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.billingPeriodStartDate", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.billingPeriodEndDate", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.totalCharges", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.paidAmount", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.currencyCode", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.currencySymbol", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.pdfDownloadLink", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.invoiceDetails", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.invoiceDetails.invoiceLineItemType", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.invoiceDetails.billingProvider", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.documentType", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.invoiceType", "a credit note's own fields, listed on the invoice it amends"),
    ("GetInvoices", "items.amendments.amendsOf", "a credit note's own fields, listed on the invoice it amends"),
    ("GetAllCustomers", "items.commerceId", "a Customer field, in the list as in GetCustomerDetails"),
    ("GetAllCustomers", "items.associatedPartnerId", "a Customer field, in the list as in GetCustomerDetails"),
    ("GetCustomerSubscription", "items.entitlementId", "a Subscription field the original did not list"),
    ("GetCustomerSubscription", "items.parentSubscriptionId", "an add-on's parent subscription"),
    ("GetCustomerSubscription", "items.actions", "a Subscription field the original did not list"),
    ("GetCustomerSubscription", "items.suspensionReasons", "a Subscription field the original did not list"),
    ("GetCustomerSubscription", "items.refundOptions", "the refunds Partner Center offers"),
    ("GetCustomerSubscription", "items.refundOptions.type", "the refunds Partner Center offers"),
    ("GetCustomerSubscription", "items.refundOptions.expiresAfter", "the refunds Partner Center offers"),
    ("GetCustomerSubscription", "items.scheduledNextTermInstructions", "what the next term starts with"),
    ("GetCustomerSubscription", "items.scheduledNextTermInstructions.product", "what the next term starts with"),
    ("GetCustomerSubscription", "items.scheduledNextTermInstructions.product.productId", "what the next term starts with"),
    ("GetCustomerSubscription", "items.scheduledNextTermInstructions.product.skuId", "what the next term starts with"),
    ("GetCustomerSubscription", "items.scheduledNextTermInstructions.product.availabilityId", "what the next term starts with"),
    ("GetCustomerSubscription", "items.scheduledNextTermInstructions.product.billingCycle", "what the next term starts with"),
    ("GetCustomerSubscription", "items.scheduledNextTermInstructions.product.termDuration", "what the next term starts with"),
    ("GetCustomerSubscription", "items.scheduledNextTermInstructions.product.promotionId", "what the next term starts with"),
    ("GetCustomerSubscription", "items.scheduledNextTermInstructions.quantity", "what the next term starts with"),
    ("GetCustomerSubscription", "items.scheduledNextTermInstructions.customTermEndDate", "what the next term starts with"),
    ("GetCustomerSubscription", "items.nextChargeInstructions", "a billing cycle change at the next term"),
    ("GetCustomerSubscription", "items.nextChargeInstructions.product", "a billing cycle change at the next term"),
    ("GetCustomerSubscription", "items.nextChargeInstructions.product.productId", "a billing cycle change at the next term"),
    ("GetCustomerSubscription", "items.nextChargeInstructions.product.skuId", "a billing cycle change at the next term"),
    ("GetCustomerSubscription", "items.nextChargeInstructions.product.availabilityId", "a billing cycle change at the next term"),
    ("GetCustomerSubscription", "items.nextChargeInstructions.product.billingCycle", "a billing cycle change at the next term"),
    ("GetCustomerSubscription", "items.nextChargeInstructions.product.termDuration", "a billing cycle change at the next term"),
    ("GetCustomerSubscription", "items.nextChargeInstructions.product.promotionId", "a billing cycle change at the next term"),
    ("GetCustomerSubscription", "items.nextChargeInstructions.quantity", "a billing cycle change at the next term"),
    ("GetCustomerSubscription", "items.productOrderId", "a Subscription field the original did not list"),
    ("GetCustomerOrders", "items.lineItems.parentSubscriptionId", "an add-on's parent subscription"),
    ("GetCustomerOrders", "items.lineItems.provisioningContext", "what provisioning a catalog item needed"),
    ("GetCustomerDetails", "companyProfile.address.addressLine2", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "companyProfile.address.addressLine3", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "companyProfile.address.district", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "companyProfile.address.firstName", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "companyProfile.address.middleName", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "companyProfile.address.lastName", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "companyProfile.address.emailAddress", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "companyProfile.address.id", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "companyProfile.organizationRegistrationNumber", "required in some countries"),
    ("GetCustomerDetails", "billingProfile.defaultAddress.addressLine2", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "billingProfile.defaultAddress.addressLine3", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "billingProfile.defaultAddress.district", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "billingProfile.defaultAddress.middleName", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "billingProfile.defaultAddress.emailAddress", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "billingProfile.defaultAddress.id", "a field of Partner Center's Address"),
    ("GetCustomerDetails", "associatedPartnerId", "the indirect reseller of the customer"),
];

/// The Portuguese connector page's wording (../shared/seeds/000_*), copied verbatim: each original operation's
/// display name and description (less the page's "(preterido) [PRETERIDO]" deprecation marks), each
/// parameter's `(key, display name, description)`, and each response field's `(path, display name)`. The page
/// lists leaves and arrays, not objects.
struct Seed {
    operation_id: &'static str,
    summary: &'static str,
    description: &'static str,
    parameters: &'static [(&'static str, &'static str, &'static str)],
    response: &'static [(&'static str, &'static str)],
}

#[rustfmt::skip]
const SEED_PT_BR: &[Seed] = &[
    Seed {
        operation_id: "GetInvoices",
        summary: "Obter faturas",
        description: "Obter uma coleção de faturas.",
        parameters: &[
            ("Size", "Tamanho", "O número de recursos de fatura a serem retornados na resposta. Esse parâmetro é opcional."),
            ("Offset", "Deslocamento", "O índice baseado em zero da primeira fatura a ser retornada."),
        ],
        response: &[
            ("totalCount", "Contagem total"),
            ("items", "items"),
            ("items.id", "ID"),
            ("items.invoiceDate", "Data da fatura"),
            ("items.billingPeriodStartDate", "Data de início do período de cobrança"),
            ("items.billingPeriodEndDate", "Data de término do período de cobrança"),
            ("items.totalCharges", "Total de encargos"),
            ("items.paidAmount", "Valor pago"),
            ("items.currencyCode", "Código de moeda"),
            ("items.currencySymbol", "Símbolo de moeda"),
            ("items.pdfDownloadLink", "PDF Download Link"),
            ("items.invoiceDetails", "invoiceDetails"),
            ("items.invoiceDetails.invoiceLineItemType", "Tipo de item de linha de fatura"),
            ("items.invoiceDetails.billingProvider", "Provedor de cobrança"),
            ("items.documentType", "Tipo de documento"),
            ("items.invoiceType", "Tipo de fatura"),
        ],
    },
    Seed {
        operation_id: "GetAllCustomers",
        summary: "Obter todos os clientes",
        description: "Obter uma lista de clientes.",
        parameters: &[
            ("Size", "Tamanho", "O número de resultados a serem exibidos ao mesmo tempo."),
        ],
        response: &[
            ("totalCount", "Contagem total"),
            ("items", "items"),
            ("items.id", "ID"),
            ("items.companyProfile.tenantId", "ID do locatário"),
            ("items.companyProfile.domain", "Domínio"),
            ("items.companyProfile.companyName", "Nome da Empresa"),
            ("items.relationshipToPartner", "Relação com parceiro"),
        ],
    },
    Seed {
        operation_id: "GetCustomerSubscription",
        summary: "Obter assinaturas do cliente",
        description: "Obtém uma coleção de todas as assinaturas para um cliente especificado.",
        parameters: &[
            ("CustomerTenantID", "ID do locatário do cliente", "ID do locatário de um cliente."),
        ],
        response: &[
            ("totalCount", "Contagem total"),
            ("items", "items"),
            ("items.id", "ID"),
            ("items.offerId", "ID da oferta"),
            ("items.offerName", "Nome da Oferta"),
            ("items.friendlyName", "Nome amigável"),
            ("items.productType.id", "ID"),
            ("items.productType.displayName", "Nome de Exibição"),
            ("items.quantity", "Quantidade"),
            ("items.unitType", "Tipo de unidade"),
            ("items.hasPurchasableAddons", "Tem complementos adquiríveis"),
            ("items.creationDate", "Data de Criação"),
            ("items.effectiveStartDate", "Data de início efetiva"),
            ("items.commitmentEndDate", "Data de término do compromisso"),
            ("items.cancellationAllowedUntilDate", "Cancelamento permitido até a data"),
            ("items.billingCycleEndDate", "Data de término do ciclo de cobrança"),
            ("items.status", "Situação"),
            ("items.autoRenewEnabled", "Renovação Automática Habilitada"),
            ("items.isTrial", "É avaliação"),
            ("items.billingType", "Tipo de Cobrança"),
            ("items.billingCycle", "Ciclo de cobrança"),
            ("items.termDuration", "Duração do termo"),
            ("items.renewalTermDuration", "Duração do termo de renovação"),
            ("items.isMicrosoftProduct", "É o produto da Microsoft"),
            ("items.partnerId", "ID de Parceiro"),
            ("items.attentionNeeded", "Atenção necessária"),
            ("items.contractType", "Tipo de contrato"),
            ("items.publisherName", "Nome do Editor"),
            ("items.promotionId", "ID da promoção"),
            ("items.orderId", "ID do pedido"),
        ],
    },
    Seed {
        operation_id: "GetCustomerOrders",
        summary: "Obter pedidos de clientes",
        description: "Obtém uma coleção de todos os pedidos de um cliente especificado.",
        parameters: &[
            ("CustomerTenantID", "ID do locatário do cliente", "Uma ID de locatário do cliente."),
        ],
        response: &[
            ("totalCount", "Contagem total"),
            ("items", "items"),
            ("items.id", "ID"),
            ("items.alternateId", "ID alternativa"),
            ("items.referenceCustomerId", "ID do cliente"),
            ("items.billingCycle", "Ciclo de cobrança"),
            ("items.currencyCode", "Código de moeda"),
            ("items.currencySymbol", "Símbolo de moeda"),
            ("items.lineItems", "lineItems"),
            ("items.lineItems.lineItemNumber", "lineItemNumber"),
            ("items.lineItems.offerId", "ID da oferta"),
            ("items.lineItems.subscriptionId", "ID da assinatura"),
            ("items.lineItems.termDuration", "Duração do termo"),
            ("items.lineItems.promotionId", "ID da promoção"),
            ("items.lineItems.customTermEndDate", "Data de término do termo personalizado"),
            ("items.lineItems.transactionType", "Tipo de Transação"),
            ("items.lineItems.friendlyName", "Nome amigável"),
            ("items.lineItems.quantity", "quantidade"),
            ("items.creationDate", "Data de Criação"),
            ("items.status", "Situação"),
            ("items.transactionType", "Tipo de Transação"),
        ],
    },
    Seed {
        operation_id: "GetCustomerDetails",
        summary: "Obter detalhes do cliente",
        description: "Obtém um recurso cliente que corresponde a uma ID do cliente.",
        parameters: &[
            ("CustomerTenantID", "ID do locatário do cliente", "Uma ID de locatário do cliente"),
        ],
        response: &[
            ("id", "ID"),
            ("commerceId", "A ID do comércio."),
            ("companyProfile.tenantId", "ID do locatário"),
            ("companyProfile.companyName", "Nome da Empresa (Perfil da Empresa)."),
            ("companyProfile.domain", "Domínio"),
            ("companyProfile.address.country", "País (Perfil da Empresa)"),
            ("companyProfile.address.region", "Região (Perfil da Empresa)."),
            ("companyProfile.address.city", "Cidade (Perfil da Empresa)"),
            ("companyProfile.address.state", "Estado (Perfil da Empresa)"),
            ("companyProfile.address.addressLine1", "Linha de Endereço1 (Perfil da Empresa)"),
            ("companyProfile.address.postalCode", "Cep (Perfil da Empresa)"),
            ("companyProfile.address.phoneNumber", "Número de Telefone (Perfil da Empresa)"),
            ("companyProfile.email", "Email (Perfil da Empresa)"),
            ("billingProfile.id", "ID do perfil"),
            ("billingProfile.firstName", "Nome (Perfil de Cobrança)"),
            ("billingProfile.lastName", "Sobrenome (Perfil de Cobrança)"),
            ("billingProfile.email", "Email (Perfil de Cobrança)"),
            ("billingProfile.culture", "Cultura (Perfil de Cobrança)"),
            ("billingProfile.language", "Idioma (Perfil de Cobrança)"),
            ("billingProfile.companyName", "Nome da empresa (perfil de cobrança)"),
            ("billingProfile.defaultAddress.country", "País (Perfil de Cobrança)"),
            ("billingProfile.defaultAddress.region", "Região (Perfil de Cobrança)"),
            ("billingProfile.defaultAddress.city", "Cidade (Perfil de Cobrança)"),
            ("billingProfile.defaultAddress.state", "Estado (Perfil de Cobrança)"),
            ("billingProfile.defaultAddress.addressLine1", "AddressLine1 (Perfil de Cobrança)"),
            ("billingProfile.defaultAddress.postalCode", "Cep (perfil de cobrança)"),
            ("billingProfile.defaultAddress.firstName", "Nome (Perfil de Cobrança)"),
            ("billingProfile.defaultAddress.lastName", "Sobrenome (Perfil de Cobrança)"),
            ("billingProfile.defaultAddress.phoneNumber", "Número de Telefone (Perfil de Cobrança)"),
            ("relationshipToPartner", "Relação com parceiro"),
            ("allowDelegatedAccess", "Permitir acesso delegado"),
            ("customDomains", "Domínios personalizados"),
        ],
    },
];

/// Where the Portuguese connector deliberately differs from the seed page, for the same *guidance* reasons as
/// [`DIFFERENCES`]: `(operationId, where, field, ours)`.
#[rustfmt::skip]
const PT_BR_DIFFERENCES: &[(&str, &str, &str, &str)] = &[
    // A description ends with a period ("Uma ID de locatário do cliente").
    ("GetCustomerDetails", "parameter CustomerTenantID", "description", "Uma ID de locatário do cliente."),
    // A label has no trailing full stop (the page has the original's "The commerce ID." and so on, translated).
    ("GetCustomerDetails", "response commerceId", "summary", "A ID do comércio"),
    ("GetCustomerDetails", "response companyProfile.companyName", "summary", "Nome da Empresa (Perfil da Empresa)"),
    ("GetCustomerDetails", "response companyProfile.address.region", "summary", "Região (Perfil da Empresa)"),
];

/// Checks one text against the contract: the original's `value`, unless `allowed` lists a deliberate difference,
/// which must still be a difference. `used` collects the allow-list entries that were needed.
fn expect_text(
    found: &Value,
    original: Option<&str>,
    allowed: Option<(usize, &str)>,
    used: &mut BTreeSet<usize>,
    at: &str,
) {
    match allowed {
        Some((index, ours)) => {
            assert_ne!(
                original,
                Some(ours),
                "{at}: the allow-list names a difference that is none"
            );
            used.insert(index);
            assert_eq!(found, ours, "{at} (a listed difference)");
        }
        None => match original {
            Some(text) => assert_eq!(found, text, "{at}: the original's text"),
            None => assert!(found.is_null(), "{at}: the original has none"),
        },
    }
}

#[test]
fn the_original_connectors_operations_parameters_and_response_fields_are_unchanged() {
    for (locale, auth, doc) in variants() {
        for original in ORIGINAL {
            let at = format!("{locale}/{auth} {}", original.operation_id);
            let op = doc["paths"][original.path]
                .get(original.method)
                .unwrap_or_else(|| panic!("{at}: {} {} is gone", original.method, original.path));
            assert_eq!(op["operationId"], original.operation_id, "{at}");
            let parameters = op["parameters"].as_array().unwrap();
            for expected in original.parameters {
                let name = expected.name;
                let p = parameters
                    .iter()
                    .find(|p| p["name"] == name)
                    .unwrap_or_else(|| panic!("{at}: parameter {name} is gone"));
                assert_eq!(p["in"], expected.location, "{at}: {name}");
                assert_eq!(p["type"], expected.kind, "{at}: {name}");
                assert_eq!(p["required"], expected.required, "{at}: {name}");
            }
            // A parameter the original lacks must not be required, or existing flows would stop validating.
            for p in parameters {
                let known = original.parameters.iter().any(|e| p["name"] == e.name);
                assert!(
                    known || p["required"] == false,
                    "{at}: new required {}",
                    p["name"]
                );
            }
            let root = &op["responses"]["200"]["schema"];
            for field in original.response {
                let path = field.path;
                let schema = property(&doc, root, path)
                    .unwrap_or_else(|| panic!("{at}: response field {path} is gone"));
                assert_eq!(json_type(&doc, schema), field.kind, "{at}: type of {path}");
            }
        }
    }
}

/// The display names, visibility and descriptions a maker saw in the original connector are the ones they see
/// here (en-US), but for the listed deliberate differences.
#[test]
fn the_original_connectors_display_names_and_descriptions_are_unchanged() {
    let mut used = BTreeSet::new();
    let mut added = BTreeSet::new();
    for auth in Auth::ALL {
        let doc = definition(Locale::EnUs, auth);
        for original in ORIGINAL {
            let id = original.operation_id;
            let allowed = |place: &str, field: &str| {
                DIFFERENCES
                    .iter()
                    .enumerate()
                    .find(|(_, (o, w, f, _, _))| *o == id && *w == place && *f == field)
                    .map(|(i, (_, _, _, ours, _))| (i, *ours))
            };
            let at = format!("{auth} {id}");
            let op = operation(&doc, id);
            for (field, text) in [
                ("summary", original.summary),
                ("description", original.description),
            ] {
                let place = "operation";
                let found = &op[field];
                let allowed = allowed(place, field);
                expect_text(
                    found,
                    Some(text),
                    allowed,
                    &mut used,
                    &format!("{at} {field}"),
                );
            }
            let parameters = op["parameters"].as_array().unwrap();
            for expected in original.parameters {
                let place = format!("parameter {}", expected.name);
                let p = parameters
                    .iter()
                    .find(|p| p["name"] == expected.name)
                    .unwrap();
                let at = format!("{at} {place}");
                let a = allowed(&place, "summary");
                expect_text(
                    &p["x-ms-summary"],
                    Some(expected.summary),
                    a,
                    &mut used,
                    &at,
                );
                let a = allowed(&place, "description");
                expect_text(
                    &p["description"],
                    Some(expected.description),
                    a,
                    &mut used,
                    &at,
                );
                assert!(p.get("x-ms-visibility").is_none(), "{at}: visibility");
            }
            let root = &op["responses"]["200"]["schema"];
            for field in original.response {
                let place = format!("response {}", field.path);
                let at = format!("{at} {place}");
                let p = property(&doc, root, field.path).unwrap();
                let a = allowed(&place, "summary");
                expect_text(&p["x-ms-summary"], field.summary, a, &mut used, &at);
                assert_eq!(p["title"], p["x-ms-summary"], "{at}: title");
                let a = allowed(&place, "description");
                expect_text(
                    &p["description"],
                    Some(field.description),
                    a,
                    &mut used,
                    &at,
                );
                assert_eq!(
                    p.get("x-ms-visibility").and_then(Value::as_str),
                    field.visibility,
                    "{at}: x-ms-visibility"
                );
                let choices = resolve(&doc, p).get("enum");
                if field.choices {
                    assert_eq!(
                        choices,
                        Some(&serde_json::json!([true, false])),
                        "{at}: enum"
                    );
                } else {
                    assert!(choices.is_none(), "{at}: an enum the original lacks");
                }
            }
            // What the original's dynamic content lacks shows up only as a listed addition; what the designer
            // hides (x-ms-visibility internal, and all under it: nextLink, Partner Center's links) does not count.
            let mut extra = Vec::new();
            visible_properties(&doc, root, String::new(), &mut extra);
            extra.retain(|path| !original.response.iter().any(|f| f.path == path));
            for path in extra {
                let addition = ADDITIONS
                    .iter()
                    .position(|(o, p, _)| *o == id && *p == path)
                    .unwrap_or_else(|| {
                        panic!("{at}: {path} is a field the original lacks and no listed addition")
                    });
                added.insert(addition);
                let p = property(&doc, root, &path).unwrap();
                assert_ne!(
                    p.get("x-ms-visibility").and_then(Value::as_str),
                    Some("important"),
                    "{at}: {path}, an addition, goes before the original's important fields"
                );
            }
        }
    }
    let unused: Vec<_> = (0..DIFFERENCES.len())
        .filter(|i| !used.contains(i))
        .map(|i| DIFFERENCES[i])
        .collect();
    assert!(
        unused.is_empty(),
        "allow-list entries no longer needed: {unused:?}"
    );
    let unused: Vec<_> = (0..ADDITIONS.len())
        .filter(|i| !added.contains(i))
        .map(|i| ADDITIONS[i])
        .collect();
    assert!(
        unused.is_empty(),
        "additions that are not there: {unused:?}"
    );
}

/// Every property path under `schema` that the designer shows, arrays stepped through.
fn visible_properties(doc: &Value, schema: &Value, prefix: String, out: &mut Vec<String>) {
    let mut container = resolve(doc, schema);
    if container["type"] == "array" {
        container = resolve(doc, &container["items"]);
    }
    for (key, p) in container["properties"].as_object().into_iter().flatten() {
        if p["x-ms-visibility"] == "internal" {
            continue;
        }
        let path = format!("{prefix}{key}");
        out.push(path.clone());
        visible_properties(doc, p, format!("{path}."), out);
    }
}

/// The Portuguese connector uses the seed page's display names and parameter descriptions, but for the listed
/// deliberate differences.
#[test]
fn portuguese_display_names_are_the_seed_pages() {
    let mut used = BTreeSet::new();
    for auth in Auth::ALL {
        let doc = definition(Locale::PtBr, auth);
        for seed in SEED_PT_BR {
            let id = seed.operation_id;
            let allowed = |place: &str, field: &str| {
                PT_BR_DIFFERENCES
                    .iter()
                    .enumerate()
                    .find(|(_, (o, w, f, _))| *o == id && *w == place && *f == field)
                    .map(|(i, (_, _, _, ours))| (i, *ours))
            };
            let at = format!("pt-BR/{auth} {id}");
            let op = operation(&doc, id);
            for (field, text) in [("summary", seed.summary), ("description", seed.description)] {
                let a = allowed("operation", field);
                expect_text(
                    &op[field],
                    Some(text),
                    a,
                    &mut used,
                    &format!("{at} {field}"),
                );
            }
            for (name, label, description) in seed.parameters {
                let place = format!("parameter {name}");
                let at = format!("{at} {place}");
                let p = op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == *name)
                    .unwrap();
                let a = allowed(&place, "summary");
                expect_text(&p["x-ms-summary"], Some(label), a, &mut used, &at);
                let a = allowed(&place, "description");
                expect_text(&p["description"], Some(description), a, &mut used, &at);
            }
            let root = &op["responses"]["200"]["schema"];
            for (path, label) in seed.response {
                let place = format!("response {path}");
                let at = format!("{at} {place}");
                let p = property(&doc, root, path)
                    .unwrap_or_else(|| panic!("{at}: response field {path} is gone"));
                let a = allowed(&place, "summary");
                expect_text(&p["x-ms-summary"], Some(label), a, &mut used, &at);
            }
        }
    }
    let unused: Vec<_> = (0..PT_BR_DIFFERENCES.len())
        .filter(|i| !used.contains(i))
        .map(|i| PT_BR_DIFFERENCES[i])
        .collect();
    assert!(
        unused.is_empty(),
        "allow-list entries no longer needed: {unused:?}"
    );
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Sentence case: a capital first letter and lower-case words after it, proper nouns and acronyms aside.
fn is_sentence_case(text: &str) -> bool {
    const PROPER: [&str; 4] = [
        "Microsoft Customer Agreement",
        "Contrato de Cliente Microsoft",
        "ID",
        "Partner Center",
    ];
    let mut rest = text.to_owned();
    for noun in PROPER {
        rest = rest.replace(noun, "x");
    }
    text.chars().next().is_some_and(char::is_uppercase)
        && words(&rest)
            .skip(1)
            .all(|w| !w.chars().next().unwrap().is_uppercase())
}

#[test]
fn strings_follow_microsofts_connector_guidance() {
    let mut ids = HashSet::new();
    for (locale, auth, doc) in variants() {
        let at = format!("{locale}/{auth}");
        let title = doc["info"]["title"].as_str().unwrap();
        assert!(title.chars().count() <= 30, "{at}: title {title}");
        for text in [title, doc["info"]["description"].as_str().unwrap()] {
            assert!(!words(text).any(|w| w == "API"), "{at}: {text}");
        }
        ids.clear();
        for (path, method, op) in operations(&doc) {
            let at = format!("{at} {method} {path}");
            let id = op["operationId"].as_str().unwrap();
            assert!(
                ids.insert(id.to_owned()),
                "{at}: duplicate operationId {id}"
            );
            assert!(
                id.chars().next().unwrap().is_ascii_uppercase()
                    && id.chars().all(|c| c.is_ascii_alphanumeric()),
                "{at}: {id} is not PascalCase"
            );
            let summary = op["summary"].as_str().unwrap();
            assert!(summary.chars().count() <= 80, "{at}: {summary}");
            assert!(!summary.contains('/'), "{at}: {summary}");
            assert!(
                summary.chars().last().unwrap().is_alphanumeric(),
                "{at}: {summary}"
            );
            assert!(
                is_sentence_case(summary),
                "{at}: {summary:?} is not sentence case"
            );
            assert!(op["description"].as_str().unwrap().ends_with('.'), "{at}");
            for p in op["parameters"].as_array().into_iter().flatten() {
                let label = p["x-ms-summary"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{at}: {p} has no x-ms-summary"));
                assert!(
                    label.chars().count() <= 80 && !label.ends_with('.'),
                    "{at}: {label}"
                );
                assert!(
                    p["description"].as_str().unwrap().ends_with('.'),
                    "{at}: {p}"
                );
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                let d = response["description"].as_str().unwrap();
                assert!(d.ends_with('.'), "{at} {status}: {d}");
            }
        }
        for (name, definition) in doc["definitions"].as_object().unwrap() {
            assert!(
                definition["description"].as_str().unwrap().ends_with('.'),
                "{at} {name}"
            );
            for (key, p) in definition["properties"].as_object().unwrap() {
                let at = format!("{at} {name}.{key}");
                let label = p["x-ms-summary"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{at}: no x-ms-summary"));
                assert!(
                    label.chars().count() <= 80 && !label.ends_with('.'),
                    "{at}: {label}"
                );
                assert_eq!(p["title"], p["x-ms-summary"], "{at}");
                assert!(p["description"].as_str().unwrap().ends_with('.'), "{at}");
            }
        }
    }
}

fn visit<'a>(value: &'a Value, at: String, seen: &mut impl FnMut(&str, &'a str, &'a Value)) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                seen(&at, key, v);
                visit(v, format!("{at}/{key}"), seen);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                visit(v, format!("{at}/{i}"), seen);
            }
        }
        _ => {}
    }
}

/// Every `$ref` with keywords beside it, anywhere in `value`.
fn refs_with_siblings(value: &Value, at: String, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("$ref") && map.len() > 1 {
                found.push(format!("{at}: {:?}", map.keys().collect::<Vec<_>>()));
            }
            for (key, v) in map {
                refs_with_siblings(v, format!("{at}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs_with_siblings(v, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn the_definition_has_only_what_swagger_2_and_power_platform_accept() {
    for (locale, auth, doc) in variants() {
        let at = format!("{locale}/{auth}");
        assert_eq!(doc["swagger"], "2.0");
        assert_eq!(doc["host"], EXPORT_HOST);
        assert_eq!(doc["basePath"], "/");
        assert_eq!(doc["schemes"], serde_json::json!(["https"]));
        let size = export::pretty(&doc).len();
        assert!(
            size < 1024 * 1024,
            "{at}: {size} bytes; Power Platform takes under 1 MB"
        );
        visit(&doc, String::new(), &mut |path, key, value| {
            assert!(
                !["oneOf", "anyOf", "nullable", "const", "$defs"].contains(&key),
                "{at}: {key} at {path}"
            );
            if key == "type" && path.contains("properties") {
                assert!(
                    value.is_string() || path.ends_with("/properties"),
                    "{at}: type {value} at {path}"
                );
            }
            if key == "$ref" {
                let name = value
                    .as_str()
                    .unwrap()
                    .strip_prefix("#/definitions/")
                    .unwrap();
                assert!(
                    doc["definitions"].get(name).is_some(),
                    "{at}: dangling $ref {name} at {path}"
                );
            }
        });
        // 2.0 ignores whatever stands beside a $ref, so a label there would never reach the designer.
        let mut beside_refs = Vec::new();
        refs_with_siblings(&doc, String::new(), &mut beside_refs);
        assert!(
            beside_refs.is_empty(),
            "{at}: keywords beside $ref: {beside_refs:#?}"
        );
        for (path, method, op) in operations(&doc) {
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.contains_key("default"), "{at} {method} {path}");
            let success: Vec<_> = responses.keys().filter(|s| s.starts_with('2')).collect();
            // A polling trigger also answers 202, with no body, when nothing is new.
            let expected: &[&str] = match op.get("x-ms-trigger") {
                Some(_) => &["200", "202"],
                None => &[success[0].as_str()],
            };
            assert_eq!(success, expected, "{at} {method} {path}");
            assert!(
                responses[success[0]].get("schema").is_some(),
                "{at} {method} {path}"
            );
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    assert_eq!(p["x-ms-url-encoding"], "single", "{at} {path}");
                    assert_eq!(p["required"], true, "{at} {path}");
                }
            }
        }
        let paged: BTreeSet<&str> = operations(&doc)
            .into_iter()
            .filter(|(_, _, op)| op.get("x-ms-pageable").is_some())
            .map(|(_, _, op)| op["operationId"].as_str().unwrap())
            .collect();
        assert_eq!(paged, BTreeSet::from(connector::PAGED_OPERATIONS), "{at}");
        for id in connector::PAGED_OPERATIONS {
            let op = operation(&doc, id);
            assert_eq!(op["x-ms-pageable"]["nextLinkName"], "nextLink");
            assert!(
                property(&doc, &op["responses"]["200"]["schema"], "nextLink").is_some(),
                "{at} {id}"
            );
        }
        let (scheme, definition) = doc["securityDefinitions"]
            .as_object()
            .unwrap()
            .iter()
            .next()
            .unwrap();
        assert_eq!(doc["securityDefinitions"].as_object().unwrap().len(), 1);
        assert!(doc["security"][0].get(scheme).is_some());
        match auth {
            Auth::ApiKey => {
                assert_eq!(definition["type"], "apiKey");
                assert_eq!(
                    (&definition["in"], &definition["name"]),
                    (&"header".into(), &"X-API-Key".into())
                );
            }
            Auth::OAuth => assert_eq!(definition["type"], "oauth2"),
        }
    }
}

/// The platform's Pagination reads a page's items from `value` (Logic Apps refuses a page without it), so only
/// the twins, which answer `value`, claim `x-ms-pageable`; GetAllCustomers and GetInvoices answer `items`, which
/// it cannot page, and claim nothing, as the original connector did not. A twin takes its original's parameters
/// and lists its original's items.
#[test]
fn the_twins_are_pageable_and_the_originals_are_not() {
    for (locale, auth, doc) in variants() {
        for (original, twin) in [
            ("GetAllCustomers", "ListCustomers"),
            ("GetInvoices", "ListInvoices"),
        ] {
            let at = format!("{locale}/{auth} {twin}");
            let (original, twin) = (operation(&doc, original), operation(&doc, twin));
            assert!(
                original.get("x-ms-pageable").is_none(),
                "{at}: the original"
            );
            assert_eq!(
                twin["x-ms-pageable"],
                serde_json::json!({"nextLinkName": "nextLink"}),
                "{at}"
            );
            assert_eq!(twin["parameters"], original["parameters"], "{at}");
            let page = resolve(&doc, &twin["responses"]["200"]["schema"]);
            let value = &page["properties"]["value"];
            assert_eq!(value["type"], "array", "{at}");
            assert!(
                page["required"]
                    .as_array()
                    .unwrap()
                    .contains(&"value".into()),
                "{at}: every page has value"
            );
            let items = property(&doc, &original["responses"]["200"]["schema"], "items").unwrap();
            assert_eq!(value["items"], items["items"], "{at}: the same items");
            let next = property(&doc, &twin["responses"]["200"]["schema"], "nextLink").unwrap();
            assert_eq!(
                (&next["type"], &next["x-ms-visibility"]),
                (&"string".into(), &"internal".into()),
                "{at}"
            );
        }
    }
}

#[test]
fn the_agreement_template_is_picked_from_get_agreement_metadata() {
    let doc = definition(Locale::EnUs, Auth::ApiKey);
    let confirm = operation(&doc, "ConfirmCustomerAgreement");
    let body = confirm["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["in"] == "body")
        .expect("a body parameter");
    assert_eq!(body["required"], true);
    let template = property(&doc, &body["schema"], "templateId").unwrap();
    let dynamic = &template["x-ms-dynamic-values"];
    let source = operation(&doc, dynamic["operationId"].as_str().unwrap());
    assert_eq!(source["operationId"], "GetAgreementMetadata");
    let root = &source["responses"]["200"]["schema"];
    let collection = dynamic["value-collection"].as_str().unwrap();
    for field in ["value-path", "value-title"] {
        let path = format!("{collection}.{}", dynamic[field].as_str().unwrap());
        assert!(property(&doc, root, &path).is_some(), "{path}");
    }
    for (name, _) in dynamic["parameters"].as_object().unwrap() {
        assert!(
            source["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == *name)
        );
    }
    let required: Vec<_> = resolve(&doc, &body["schema"])["required"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    for field in ["primaryContact", "templateId", "dateAgreed", "type"] {
        assert!(required.contains(&&Value::from(field)), "{field}");
    }
}

/// The triggers, in both languages and both ways to authenticate: batch polling triggers (the platform runs the
/// flow once for each record in `value`), with the hint the designer shows, 202 and 200 both naming the next
/// poll in `Location` and when in `Retry-After`, their state hidden from makers, and the activity picked from
/// GetActivityTypes' list, which is not offered as an action.
#[test]
fn the_triggers_are_batch_polling_triggers_with_their_hint_and_headers() {
    const TRIGGERS: [&str; 4] = [
        "OnCustomerAdded",
        "OnOrderCreated",
        "OnSubscriptionChanged",
        "OnActivityRecorded",
    ];
    for (locale, auth, doc) in variants() {
        let at = format!("{locale}/{auth}");
        let triggers: BTreeSet<&str> = operations(&doc)
            .into_iter()
            .filter(|(_, _, op)| op.get("x-ms-trigger").is_some())
            .map(|(_, _, op)| op["operationId"].as_str().unwrap())
            .collect();
        assert_eq!(triggers, BTreeSet::from(TRIGGERS), "{at}");
        for id in TRIGGERS {
            let op = operation(&doc, id);
            assert_eq!(op["x-ms-trigger"], "batch", "{at} {id}");
            assert!(
                op["x-ms-trigger-hint"].as_str().unwrap().ends_with('.'),
                "{at} {id}"
            );
            let batch = &op["responses"]["200"]["schema"];
            let records = property(&doc, batch, "value").unwrap();
            assert_eq!(records["type"], "array", "{at} {id}");
            assert!(
                property(&doc, batch, "value.operationDate").is_some(),
                "{at} {id}"
            );
            for status in ["200", "202"] {
                let headers = &op["responses"][status]["headers"];
                assert_eq!(headers["Location"]["type"], "string", "{at} {id} {status}");
                assert_eq!(
                    headers["Retry-After"]["type"], "integer",
                    "{at} {id} {status}"
                );
            }
            assert!(op["responses"]["202"].get("schema").is_none(), "{at} {id}");
            let state = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "TriggerState")
                .unwrap();
            assert_eq!(state["x-ms-visibility"], "internal", "{at} {id}");
            assert_eq!(state["required"], false, "{at} {id}");
        }
        let activity = operation(&doc, "OnActivityRecorded");
        let kind = activity["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "OperationType")
            .unwrap();
        let dynamic = &kind["x-ms-dynamic-values"];
        let source = operation(&doc, dynamic["operationId"].as_str().unwrap());
        assert_eq!(source["x-ms-visibility"], "internal", "{at}");
        let root = &source["responses"]["200"]["schema"];
        let collection = dynamic["value-collection"].as_str().unwrap();
        for field in ["value-path", "value-title"] {
            let path = format!("{collection}.{}", dynamic[field].as_str().unwrap());
            assert!(property(&doc, root, &path).is_some(), "{at} {path}");
        }
    }
    let pt = definition(Locale::PtBr, Auth::ApiKey);
    assert_eq!(
        operation(&pt, "OnCustomerAdded")["summary"],
        "Quando um cliente é adicionado"
    );
    assert!(
        operation(&pt, "OnCustomerAdded")["x-ms-trigger-hint"]
            .as_str()
            .unwrap()
            .starts_with("Para ver")
    );
}

#[test]
fn portuguese_uses_the_seed_pages_wording_and_leaves_nothing_in_english() {
    let pt = definition(Locale::PtBr, Auth::ApiKey);
    for (id, summary) in [
        ("GetCustomerSubscription", "Obter assinaturas do cliente"),
        ("GetCustomerDetails", "Obter detalhes do cliente"),
        ("GetInvoices", "Obter faturas"),
        ("GetCustomerOrders", "Obter pedidos de clientes"),
        ("GetAllCustomers", "Obter todos os clientes"),
        (
            "GetCustomerSubscriptionsByPartner",
            "Obter as assinaturas de um cliente pela ID do parceiro",
        ),
    ] {
        assert_eq!(operation(&pt, id)["summary"], summary);
    }
    let details = operation(&pt, "GetCustomerDetails");
    assert_eq!(
        details["parameters"][0]["x-ms-summary"],
        "ID do locatário do cliente"
    );
    let root = &details["responses"]["200"]["schema"];
    for (path, label) in [
        ("companyProfile.tenantId", "ID do locatário"),
        (
            "billingProfile.defaultAddress.country",
            "País (Perfil de Cobrança)",
        ),
        ("allowDelegatedAccess", "Permitir acesso delegado"),
    ] {
        assert_eq!(
            property(&pt, root, path).unwrap()["x-ms-summary"],
            label,
            "{path}"
        );
    }
    let subscriptions = &operation(&pt, "GetCustomerSubscription")["responses"]["200"]["schema"];
    assert_eq!(
        property(&pt, subscriptions, "totalCount").unwrap()["x-ms-summary"],
        "Contagem total"
    );

    // The catalog translates exactly the texts this build shows: none missing (localize would have failed),
    // none left over from texts that no longer exist.
    let mut english = BTreeSet::new();
    for auth in Auth::ALL {
        english.extend(locale::texts(&definition(Locale::EnUs, auth)));
        english.extend(locale::texts(
            &connector::api_properties(Locale::EnUs, auth).unwrap(),
        ));
    }
    let catalog: BTreeSet<String> = locale::catalog(Locale::PtBr)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let stale: Vec<_> = catalog.difference(&english).collect();
    assert!(
        stale.is_empty(),
        "pt-BR.json translates texts the connector no longer has: {stale:?}"
    );
}

#[test]
fn connection_parameters_match_the_definitions_security() {
    for locale in Locale::ALL {
        let key = connector::api_properties(locale, Auth::ApiKey).unwrap();
        let p = &key["properties"];
        assert_eq!(p["connectionParameters"]["api_key"]["type"], "securestring");
        assert_eq!(p["connectionParameters"].as_object().unwrap().len(), 1);

        let oauth = connector::api_properties(locale, Auth::OAuth).unwrap();
        let settings = &oauth["properties"]["connectionParameters"]["token"]["oAuthSettings"];
        assert_eq!(settings["identityProvider"], "aad");
        assert_eq!(
            settings["customParameters"]["resourceUri"]["value"],
            "https://api.partnercenter.microsoft.com"
        );
        assert_eq!(
            settings["properties"]["AzureActiveDirectoryResourceId"],
            "https://api.partnercenter.microsoft.com"
        );

        for props in [&key, &oauth] {
            let color = props["properties"]["iconBrandColor"].as_str().unwrap();
            assert!(
                color.len() == 7
                    && color.starts_with('#')
                    && color[1..].chars().all(|c| c.is_ascii_hexdigit())
            );
            let policy = &props["properties"]["policyTemplateInstances"][0];
            assert_eq!(policy["templateId"], "updatenextlink");
            assert_eq!(
                policy["parameters"]["x-ms-apimTemplateParameter.nextLinkPropertyName"],
                "nextLink"
            );
            assert_eq!(
                policy["parameters"]["x-ms-apimTemplate-operationName"],
                serde_json::json!(connector::PAGED_OPERATIONS)
            );
        }
    }
    assert_eq!(
        connector::api_properties(Locale::PtBr, Auth::ApiKey).unwrap()["properties"]["connectionParameters"]
            ["api_key"]["uiDefinition"]["displayName"],
        "Chave de API"
    );
}

#[test]
fn the_icon_is_a_square_png_and_settings_name_the_packages_files() {
    let icon = connector::ICON;
    assert_eq!(&icon[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(icon[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(icon[20..24].try_into().unwrap());
    assert_eq!(width, height);
    assert!((100..=230).contains(&width), "{width}");
    let files = export::package(
        &routes::openapi(),
        Locale::EnUs,
        Auth::ApiKey,
        &Target::parse(EXPORT_HOST).unwrap(),
    )
    .unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    let settings = connector::settings();
    for key in ["apiDefinition", "apiProperties", "icon"] {
        assert!(names.contains(&settings[key].as_str().unwrap()), "{key}");
    }
}

#[test]
fn snapshots_of_both_documents() {
    insta::assert_json_snapshot!("openapi-3.1", routes::openapi());
    insta::assert_json_snapshot!(
        "swagger-2.0-en-US-api-key",
        definition(Locale::EnUs, Auth::ApiKey)
    );
    insta::assert_json_snapshot!(
        "swagger-2.0-pt-BR-oauth",
        definition(Locale::PtBr, Auth::OAuth)
    );
}

/// The committed `openapi/` folder is what this build exports; `UPDATE_EXPORTS=1 cargo test --test gateway connector`
/// rewrites it.
#[test]
fn the_committed_exports_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
    let update = std::env::var_os("UPDATE_EXPORTS").is_some();
    let openapi = routes::openapi();
    let mut expected = vec![(root.join("openapi.json"), export::pretty(&openapi))];
    for locale in Locale::ALL {
        for auth in Auth::ALL {
            let dir = root.join(locale.tag()).join(auth.name());
            for (name, bytes) in
                export::package(&openapi, locale, auth, &Target::parse(EXPORT_HOST).unwrap())
                    .unwrap()
            {
                expected.push((dir.join(name), bytes));
            }
        }
    }
    let mut stale = Vec::new();
    for (path, bytes) in expected {
        if std::fs::read(&path).ok().as_deref() == Some(&bytes[..]) {
            continue;
        }
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
        } else {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale exports (run `UPDATE_EXPORTS=1 cargo test --test gateway connector` and commit openapi/): {stale:#?}"
    );
}
