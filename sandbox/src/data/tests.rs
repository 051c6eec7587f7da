use serde_json::Value;

use super::calendar::Date;
use super::*;
use crate::demo;

#[test]
fn calendar_arithmetic() {
    assert_eq!(Date::ymd(1970, 1, 1), Date(0));
    assert_eq!(Date::ymd(2024, 3, 1).add_days(-1).iso(), "2024-02-29");
    assert_eq!(Date::ymd(2024, 1, 31).add_months(1).iso(), "2024-02-29");
    assert_eq!(
        Date::ymd(2024, 6, 5).add_months(1).add_days(-1).iso(),
        "2024-07-04"
    );
    assert_eq!(Date::ymd(2025, 5, 1).add_months(-49).iso(), "2021-04-01");
    assert_eq!(Date::ymd(2024, 12, 15).add_months(1).iso(), "2025-01-15");
}

#[test]
fn customers_are_unique_and_seed_first() {
    let dataset = Dataset::generate();
    assert_eq!(dataset.customers()[0].id, demo::SEED_CUSTOMER_ID);
    let ids: std::collections::HashSet<_> = dataset.customers().iter().map(|c| &c.id).collect();
    let domains: std::collections::HashSet<_> =
        dataset.customers().iter().map(|c| &c.domain).collect();
    assert_eq!(ids.len(), CUSTOMER_COUNT);
    assert_eq!(domains.len(), CUSTOMER_COUNT);
    assert!(
        dataset
            .customer(&demo::SEED_CUSTOMER_ID.to_uppercase())
            .is_some()
    );
}

#[test]
fn orders_reference_the_subscriptions() {
    let dataset = Dataset::generate();
    for customer in dataset.customers().iter().take(200) {
        let portfolio = customer.portfolio();
        assert!((1..=3).contains(&portfolio.orders.len()) || customer.id == demo::SEED_CUSTOMER_ID);
        let (add_ons, bought): (Vec<&Value>, Vec<&Value>) = portfolio
            .subscriptions
            .iter()
            .partition(|s| s.get("parentSubscriptionId").is_some());
        assert!(bought.len() <= 4);
        assert!(add_ons.len() <= 1);
        for add_on in add_ons {
            let parent = bought
                .iter()
                .find(|s| s["id"] == add_on["parentSubscriptionId"])
                .expect("an add-on's parent is the customer's");
            assert_eq!(parent["hasPurchasableAddons"], true);
            for same in ["orderId", "commitmentEndDate", "termDuration", "partnerId"] {
                assert_eq!(add_on[same], parent[same], "{same}");
            }
            assert_eq!(
                add_on["links"]["parentSubscription"]["uri"],
                parent["links"]["self"]["uri"]
            );
        }
        for subscription in &portfolio.subscriptions {
            let order = portfolio
                .orders
                .iter()
                .find(|order| order["id"] == subscription["orderId"])
                .expect("every subscription's order is listed");
            let line = order["lineItems"]
                .as_array()
                .unwrap()
                .iter()
                .find(|line| line["subscriptionId"] == subscription["id"])
                .expect("every subscription is a line of its order");
            assert_eq!(
                line.get("parentSubscriptionId"),
                subscription.get("parentSubscriptionId")
            );
        }
    }
}

#[test]
fn credit_notes_name_the_invoice_they_amend_and_it_lists_them() {
    let dataset = Dataset::generate();
    let invoices = dataset.invoices();
    let mut seen = 0;
    for (n, invoice) in invoices.iter().enumerate() {
        if invoice["documentType"] != "CreditNote" {
            assert!(invoice.get("amendsOf").is_none());
            continue;
        }
        let amended = &invoices[n + 1];
        assert_eq!(invoice["amendsOf"], amended["id"]);
        assert_eq!(amended["amendments"][0]["id"], invoice["id"]);
        seen += 1;
    }
    assert!(seen >= 4, "{seen} credit notes");
}

#[test]
fn some_addresses_have_a_second_line() {
    let dataset = Dataset::generate();
    let with_line2 = dataset
        .customers()
        .iter()
        .take(12)
        .filter(|c| {
            c.detail()["companyProfile"]["address"]
                .get("addressLine2")
                .is_some()
        })
        .count();
    assert!(
        (1..12).contains(&with_line2),
        "{with_line2} of the first 12"
    );
}
