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
        assert!(portfolio.subscriptions.len() <= 4);
        for subscription in &portfolio.subscriptions {
            let order = portfolio
                .orders
                .iter()
                .find(|order| order["id"] == subscription["orderId"])
                .expect("every subscription's order is listed");
            assert!(
                order["lineItems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|line| line["subscriptionId"] == subscription["id"])
            );
        }
    }
}
