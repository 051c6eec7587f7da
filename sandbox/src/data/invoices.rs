//! The partner's invoices.

use serde_json::{Value, json};

use super::calendar::Date;
use super::{INVOICE_COUNT, Rng, link, without_nulls};

/// Invoice `n` counting back from the newest; a monthly recurring invoice
/// with the odd one-time invoice and credit note mixed in. A credit note
/// amends the invoice before it (`amendsOf`), which lists it among its
/// `amendments`.
pub(super) fn invoice(n: usize) -> Value {
    let credit_note = |n: usize| n % 12 == 5;
    let mut rng = Rng::new(&format!("invoice/{n}"));
    let period_start = Date::ymd(2025, 5, 1).add_months(-(n as i64));
    let period_end = period_start.add_months(1).add_days(-1);
    let (document_type, invoice_type) = match n % 12 {
        5 => ("CreditNote", "OneTime"),
        3 | 9 => ("Invoice", "OneTime"),
        _ => ("Invoice", "Recurring"),
    };
    let id = invoice_id(n);
    let magnitude = (5_000 + rng.below(2_500_000)) as f64 / 100.0;
    let total = if document_type == "CreditNote" {
        -magnitude
    } else {
        magnitude
    };
    // The two newest invoices are still open; payments show as negative amounts.
    let paid = if n < 2 { 0.0 } else { -total };
    let detail = |line_item_type: &str, provider: &str| {
        let kind = if line_item_type == "usage_line_items" {
            "usagelineitems"
        } else {
            "billinglineitems"
        };
        json!({
            "invoiceLineItemType": line_item_type,
            "billingProvider": provider,
            "links": { "self": link(format!("/invoices/{id}/lineitems/{provider}/{kind}")) },
            "attributes": { "objectType": "InvoiceDetail" },
        })
    };
    let details = if invoice_type == "Recurring" {
        vec![
            detail("billing_line_items", "office"),
            detail("billing_line_items", "azure"),
            detail("usage_line_items", "azure"),
        ]
    } else {
        vec![detail("billing_line_items", "office")]
    };
    let amends_of = (credit_note(n) && n + 1 < INVOICE_COUNT).then(|| invoice_id(n + 1));
    let amendments = (n > 0 && credit_note(n - 1)).then(|| vec![invoice(n - 1)]);
    without_nulls(json!({
        "id": id,
        "invoiceDate": period_end.add_days(8).midnight(),
        "billingPeriodStartDate": period_start.midnight(),
        "billingPeriodEndDate": period_end.midnight(),
        "totalCharges": total,
        "paidAmount": paid,
        "currencyCode": "USD",
        "currencySymbol": "$",
        "pdfDownloadLink": format!("https://api.partnercenter.microsoft.com/v1/invoices/{id}/documents/statement"),
        "invoiceDetails": details,
        "amendments": amendments,
        "documentType": document_type,
        "amendsOf": amends_of,
        "invoiceType": invoice_type,
        "links": { "self": link(format!("/invoices/{id}")) },
        "attributes": { "objectType": "Invoice" },
    }))
}

fn invoice_id(n: usize) -> String {
    format!("G{:09}", 24_135 + (INVOICE_COUNT - n) * 2_731)
}
