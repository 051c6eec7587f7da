//! Display names (en-US) and visibility of every property of every schema in the document: what a maker sees
//! as a field label in the designer and as dynamic content. For the original connector's five operations they
//! are its titles exactly (less a label's trailing full stop, which Microsoft's string guidance forbids), and
//! where it had no title, the property's key, which is what its designer showed (and what the Portuguese page
//! lists). tests/gateway/connector.rs holds the original's values and the deliberate differences.
//!
//! They are kept here rather than on the model fields because utoipa attaches field extensions only to
//! primitive fields, not to arrays or references, and a label missing from half the fields is worse than none.
//! The document builder applies this table and refuses a property without a name or a name without a property,
//! so a new field cannot ship unlabelled.

/// `(schema, [(property, display name)])`; a schema may have several entries, whose names add up.
pub const NAMES: &[(&str, &[(&str, &str)])] = &[
    (
        "CustomerCollection",
        &[
            ("totalCount", "Total Count"),
            ("items", "items"),
            ("nextLink", "Next Link"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "CustomerPage",
        &[("value", "Customers"), ("nextLink", "Next Link")],
    ),
    (
        "CustomerSummary",
        &[
            ("id", "ID"),
            ("commerceId", "The commerce ID"),
            ("companyProfile", "Company Profile"),
            ("relationshipToPartner", "Relationship To Partner"),
            ("allowDelegatedAccess", "Allow Delegated Access"),
            ("associatedPartnerId", "Associated Partner ID"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "CompanyProfileSummary",
        &[
            ("tenantId", "Tenant ID"),
            ("domain", "Domain"),
            ("companyName", "Company Name"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "Customer",
        &[
            ("id", "ID"),
            // The original's "The commerce ID." without the full stop that a label may not end with.
            ("commerceId", "The commerce ID"),
            ("companyProfile", "Company Profile"),
            ("billingProfile", "Billing Profile"),
            ("relationshipToPartner", "Relationship To Partner"),
            ("allowDelegatedAccess", "Allow Delegated Access"),
            ("customDomains", "Custom Domains"),
            ("associatedPartnerId", "Associated Partner ID"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "CompanyProfile",
        &[
            ("tenantId", "Tenant ID"),
            // The original's "Company Name (Company Profile)." without the full stop.
            ("companyName", "Company Name (Company Profile)"),
            ("domain", "Domain"),
            ("address", "Address (Company Profile)"),
            ("email", "Email (Company Profile)"),
            (
                "organizationRegistrationNumber",
                "Organization Registration Number (Company Profile)",
            ),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "CompanyAddress",
        &[
            ("country", "Country (Company Profile)"),
            // The original's "Region (Company Profile)." without the full stop.
            ("region", "Region (Company Profile)"),
            ("city", "City (Company Profile)"),
            ("state", "State (Company Profile)"),
            ("addressLine1", "Address Line1 (Company Profile)"),
            ("postalCode", "Postal Code (Company Profile)"),
            ("phoneNumber", "Phone Number (Company Profile)"),
            ("addressLine2", "Address Line2 (Company Profile)"),
            ("addressLine3", "Address Line3 (Company Profile)"),
            ("district", "District (Company Profile)"),
            ("firstName", "First Name (Company Profile)"),
            ("middleName", "Middle Name (Company Profile)"),
            ("lastName", "Last Name (Company Profile)"),
            ("emailAddress", "Email Address (Company Profile)"),
            ("id", "Address ID (Company Profile)"),
        ],
    ),
    (
        "BillingProfile",
        &[
            ("id", "Profile ID"),
            ("firstName", "First Name (Billing Profile)"),
            ("lastName", "Last Name (Billing Profile)"),
            ("email", "Email (Billing Profile)"),
            ("culture", "Culture (Billing Profile)"),
            ("language", "Language (Billing Profile)"),
            ("companyName", "Company Name (Billing Profile)"),
            ("defaultAddress", "Billing Profile Address"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "BillingAddress",
        &[
            ("country", "Country (Billing Profile)"),
            ("region", "Region (Billing Profile)"),
            ("city", "City (Billing Profile)"),
            ("state", "State (Billing Profile)"),
            ("addressLine1", "AddressLine1 (Billing Profile)"),
            ("postalCode", "Postal Code (Billing Profile)"),
            ("firstName", "First Name (Billing Profile)"),
            ("lastName", "Last Name (Billing Profile)"),
            ("phoneNumber", "Phone Number (Billing Profile)"),
            // The original's spelling of the first line, "AddressLine1", for the lines it did not list.
            ("addressLine2", "AddressLine2 (Billing Profile)"),
            ("addressLine3", "AddressLine3 (Billing Profile)"),
            ("district", "District (Billing Profile)"),
            ("middleName", "Middle Name (Billing Profile)"),
            ("emailAddress", "Email Address (Billing Profile)"),
            ("id", "Address ID (Billing Profile)"),
        ],
    ),
    (
        "SubscriptionCollection",
        &[
            ("totalCount", "Total Count"),
            ("items", "items"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "Subscription",
        &[
            ("id", "ID"),
            ("offerId", "Offer ID"),
            ("offerName", "Offer Name"),
            ("friendlyName", "Friendly Name"),
            ("productType", "productType"),
            ("quantity", "Quantity"),
            ("unitType", "Unit Type"),
            ("hasPurchasableAddons", "Has Purchasable Addons"),
            ("creationDate", "Creation Date"),
            ("effectiveStartDate", "Effective Start Date"),
            ("commitmentEndDate", "Commitment End Date"),
            ("commitmentEndDateTime", "Commitment End Date Time"),
            (
                "cancellationAllowedUntilDate",
                "Cancellation Allowed Until Date",
            ),
            ("billingCycleEndDate", "Billing Cycle End Date"),
            ("billingCycleEndDateTime", "Billing Cycle End Date Time"),
            ("status", "Status"),
            ("autoRenewEnabled", "Auto Renew Enabled"),
            ("isTrial", "Is Trial"),
            ("billingType", "Billing Type"),
            ("billingCycle", "Billing Cycle"),
            ("termDuration", "Term Duration"),
            ("renewalTermDuration", "Renewal Term Duration"),
            ("isMicrosoftProduct", "Is Microsoft Product"),
            ("partnerId", "Partner ID"),
            ("attentionNeeded", "Attention Needed"),
            ("actionTaken", "Action Taken"),
            ("contractType", "Contract Type"),
            ("publisherName", "Publisher Name"),
            ("refundableQuantity", "Refundable Quantity"),
            ("promotionId", "Promotion ID"),
            ("orderId", "Order ID"),
            ("entitlementId", "Entitlement ID"),
            ("parentSubscriptionId", "Parent Subscription ID"),
            ("actions", "Actions"),
            ("suspensionReasons", "Suspension Reasons"),
            ("refundOptions", "Refund Options"),
            (
                "scheduledNextTermInstructions",
                "Scheduled Next Term Instructions",
            ),
            ("nextChargeInstructions", "Next Charge Instructions"),
            ("productOrderId", "Product Order ID"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "RefundOption",
        &[("type", "Refund Type"), ("expiresAfter", "Expires After")],
    ),
    (
        "ScheduledNextTermInstructions",
        &[
            ("product", "Next Term Product"),
            ("quantity", "Next Term Quantity"),
            ("customTermEndDate", "Custom Term End Date"),
        ],
    ),
    (
        "NextChargeInstructions",
        &[
            ("product", "Next Term Product"),
            ("quantity", "Next Term Quantity"),
        ],
    ),
    (
        "NextTermProduct",
        &[
            ("productId", "Product ID"),
            ("skuId", "SKU ID"),
            ("availabilityId", "Availability ID"),
            ("billingCycle", "Billing Cycle"),
            ("termDuration", "Term Duration"),
            ("promotionId", "Promotion ID"),
        ],
    ),
    (
        "ProductType",
        &[("id", "ID"), ("displayName", "Display Name")],
    ),
    (
        "OrderCollection",
        &[
            ("totalCount", "Total Count"),
            ("items", "items"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "Order",
        &[
            ("id", "ID"),
            ("alternateId", "Alternate ID"),
            ("referenceCustomerId", "Customer ID"),
            ("billingCycle", "Billing Cycle"),
            ("currencyCode", "Currency Code"),
            ("currencySymbol", "Currency Symbol"),
            ("lineItems", "lineItems"),
            ("creationDate", "Creation Date"),
            ("status", "Status"),
            ("transactionType", "Transaction Type"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "OrderLineItem",
        &[
            ("lineItemNumber", "lineItemNumber"),
            ("offerId", "Offer ID"),
            ("subscriptionId", "Subscription ID"),
            ("parentSubscriptionId", "Parent Subscription ID"),
            ("termDuration", "Term Duration"),
            ("promotionId", "Promotion ID"),
            ("customTermEndDate", "Custom Term End Date"),
            ("transactionType", "Transaction Type"),
            ("friendlyName", "Friendly Name"),
            ("quantity", "quantity"),
            ("partnerIdOnRecord", "Partner ID On Record"),
            ("provisioningContext", "Provisioning Context"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "InvoiceCollection",
        &[
            ("totalCount", "Total Count"),
            ("items", "items"),
            ("nextLink", "Next Link"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "InvoicePage",
        &[("value", "Invoices"), ("nextLink", "Next Link")],
    ),
    ("Invoice", INVOICE),
    ("Invoice", &[("amendments", "Amendments")]),
    // An amendment is labelled as an invoice is: it is one (models::InvoiceAmendment).
    ("InvoiceAmendment", INVOICE),
    (
        "InvoiceDetail",
        &[
            ("invoiceLineItemType", "Invoice Line Item Type"),
            ("billingProvider", "Billing Provider"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "AgreementMetadataCollection",
        &[
            ("totalCount", "Total Count"),
            ("items", "Agreement Types"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "AgreementMetadata",
        &[
            ("templateId", "Template ID"),
            ("agreementType", "Agreement Type"),
            ("agreementLink", "Agreement Link"),
            ("versionRank", "Version Rank"),
        ],
    ),
    (
        "AgreementCollection",
        &[
            ("totalCount", "Total Count"),
            ("items", "Agreements"),
            ("links", "Links"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "Agreement",
        &[
            ("userId", "User ID"),
            ("primaryContact", "Primary Contact"),
            ("templateId", "Template ID"),
            ("dateAgreed", "Date Agreed"),
            ("type", "Agreement Type"),
            ("agreementLink", "Agreement Link"),
        ],
    ),
    (
        "Contact",
        &[
            ("firstName", "First Name"),
            ("lastName", "Last Name"),
            ("email", "Email"),
            ("phoneNumber", "Phone Number"),
        ],
    ),
    (
        "NewAgreement",
        &[
            ("primaryContact", "Primary Contact"),
            ("templateId", "Template ID"),
            ("dateAgreed", "Date Agreed"),
            ("type", "Agreement Type"),
        ],
    ),
    (
        "NewAgreementContact",
        &[
            ("firstName", "First Name"),
            ("lastName", "Last Name"),
            ("email", "Email"),
            ("phoneNumber", "Phone Number"),
        ],
    ),
    (
        "RefundableQuantity",
        &[("totalQuantity", "Total Quantity"), ("details", "Details")],
    ),
    (
        "RefundableQuantityDetail",
        &[
            ("quantity", "Quantity"),
            ("allowedUntilDateTime", "Allowed Until Date Time"),
        ],
    ),
    (
        "Link",
        &[
            ("uri", "URI"),
            ("method", "Method"),
            ("headers", "Headers"),
            ("body", "Body"),
        ],
    ),
    ("LinkHeader", &[("key", "Key"), ("value", "Value")]),
    (
        "CollectionLinks",
        &[("self", "Self"), ("next", "Next"), ("previous", "Previous")],
    ),
    ("ResourceLinks", &[("self", "Self")]),
    (
        "SubscriptionLinks",
        &[
            ("self", "Self"),
            ("offer", "Offer"),
            ("product", "Product"),
            ("sku", "SKU"),
            ("availability", "Availability"),
            ("parentSubscription", "Parent Subscription"),
        ],
    ),
    (
        "OrderLinks",
        &[
            ("self", "Self"),
            ("provisioningStatus", "Provisioning Status"),
        ],
    ),
    (
        "OrderLineItemLinks",
        &[
            ("subscription", "Subscription"),
            ("provisioningStatus", "Provisioning Status"),
            ("sku", "SKU"),
        ],
    ),
    (
        "ResourceAttributes",
        &[("etag", "ETag"), ("objectType", "Object Type")],
    ),
    ("AuditRecordBatch", &[("value", "Records")]),
    (
        "AuditRecord",
        &[
            ("id", "Record ID"),
            ("partnerId", "Partner Tenant ID"),
            ("customerId", "Customer Tenant ID"),
            ("customerName", "Customer Name"),
            ("userPrincipalName", "User Principal Name"),
            ("applicationId", "Application ID"),
            ("resourceType", "Resource Type"),
            ("resourceOldValue", "Old Value"),
            ("resourceNewValue", "New Value"),
            ("operationType", "Operation Type"),
            ("operationDate", "Operation Date"),
            ("operationStatus", "Operation Status"),
            ("originalCorrelationId", "Original Correlation ID"),
            ("customizedData", "Operation Details"),
            ("attributes", "Attributes"),
        ],
    ),
    (
        "AuditRecordData",
        &[("key", "Detail Name"), ("value", "Detail Value")],
    ),
    ("ActivityTypeList", &[("value", "Activities")]),
    (
        "ActivityType",
        &[
            ("operationType", "Operation Type"),
            ("displayName", "Activity"),
        ],
    ),
    (
        "GatewayError",
        &[
            ("statusCode", "Status Code"),
            ("code", "Error Code"),
            ("message", "Message"),
            ("correlationId", "Correlation ID"),
        ],
    ),
    (
        "RateLimitError",
        &[("statusCode", "Status Code"), ("message", "Message")],
    ),
    (
        "PartnerCenterError",
        &[
            ("code", "Error Code"),
            ("description", "Description"),
            ("data", "Data"),
            ("source", "Source"),
            ("message", "Message"),
            ("errorName", "Error Name"),
            ("isRetryable", "Is Retryable"),
            ("parameters", "Parameters"),
            ("errorMessageExtended", "Extended Error Message"),
        ],
    ),
];

/// Properties the original connector shows first (`x-ms-visibility: important`), and the request fields a
/// maker must fill in.
pub const IMPORTANT: &[(&str, &str)] = &[
    ("CustomerSummary", "id"),
    ("CompanyProfileSummary", "tenantId"),
    ("CompanyProfileSummary", "companyName"),
    ("Customer", "id"),
    ("CompanyProfile", "tenantId"),
    ("CompanyProfile", "domain"),
    ("CompanyProfile", "companyName"),
    ("Subscription", "id"),
    ("Subscription", "offerId"),
    ("Order", "id"),
    ("Invoice", "id"),
    ("AgreementMetadata", "templateId"),
    ("AgreementMetadata", "agreementType"),
    ("NewAgreement", "templateId"),
    ("NewAgreement", "dateAgreed"),
    ("NewAgreementContact", "firstName"),
    ("NewAgreementContact", "lastName"),
    ("NewAgreementContact", "email"),
    ("AuditRecord", "customerId"),
    ("AuditRecord", "customerName"),
    ("AuditRecord", "operationType"),
    ("AuditRecord", "operationDate"),
];

/// The booleans the original connector lists as `enum: [true, false]`, which the designer offers as a choice. Only
/// the connector definition lists them (see [`super::connector`]): in the OpenAPI 3.1 document an enum says
/// nothing that `type: boolean` does not, and code generators refuse the `enum: [true, false, null]` a nullable
/// boolean would need.
pub const BOOLEAN_CHOICES: &[(&str, &str)] = &[
    ("Customer", "allowDelegatedAccess"),
    ("Subscription", "hasPurchasableAddons"),
    ("Subscription", "autoRenewEnabled"),
    ("Subscription", "isTrial"),
    ("Subscription", "isMicrosoftProduct"),
];

/// Properties a maker never needs to see. The twins' `nextLink` is what the Pagination setting follows
/// (`x-ms-pageable`); the originals' is for clients that page by hand, and hidden so that their dynamic content
/// stays the original connector's.
pub const INTERNAL: &[(&str, &str)] = &[
    ("CustomerCollection", "nextLink"),
    ("CustomerPage", "nextLink"),
    ("InvoiceCollection", "nextLink"),
    ("InvoicePage", "nextLink"),
];

/// Properties hidden from makers wherever Partner Center's answers carry them: `links` are requests to Partner
/// Center's own API, which a flow cannot make through the connector, and `attributes` is Partner Center's
/// bookkeeping (object type, version). They are documented all the same, so that a client sees every field.
pub const INTERNAL_EVERYWHERE: &[&str] = &["links", "attributes"];

/// The fields an invoice and each of its amendments share.
const INVOICE: &[(&str, &str)] = &[
    ("id", "ID"),
    ("invoiceDate", "Invoice Date"),
    ("billingPeriodStartDate", "Billing Period Start Date"),
    ("billingPeriodEndDate", "Billing Period End Date"),
    ("totalCharges", "Total Charges"),
    ("paidAmount", "Paid Amount"),
    ("currencyCode", "Currency Code"),
    ("currencySymbol", "Currency Symbol"),
    ("pdfDownloadLink", "PDF Download Link"),
    ("invoiceDetails", "invoiceDetails"),
    ("documentType", "Document Type"),
    ("invoiceType", "Invoice Type"),
    ("amendsOf", "Amends Of"),
    ("links", "Links"),
    ("attributes", "Attributes"),
];
