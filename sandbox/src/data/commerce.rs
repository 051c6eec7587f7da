//! Subscriptions and the orders that created them.

use std::sync::LazyLock;

use serde_json::{Value, json};

use super::super::demo;
use super::calendar::Date;
use super::{AS_OF, Customer, Rng, guid_from, hex_id, link, without_nulls};

impl Customer {
    /// The customer's subscriptions and the orders that created them, built
    /// together so that their ids agree.
    pub(crate) fn portfolio(&self) -> Portfolio {
        let subscriptions = if self.id == demo::SEED_CUSTOMER_ID {
            seed_subscriptions()
        } else {
            self.generated_subscriptions()
        };
        let orders = self.orders_for(&subscriptions);
        Portfolio {
            subscriptions,
            orders,
        }
    }

    fn order_ids(&self) -> Vec<String> {
        if self.id == demo::SEED_CUSTOMER_ID {
            return Vec::new();
        }
        let count = 1 + Rng::new(&format!("orders/{}", self.id)).below(3);
        (0..count)
            .map(|n| hex_id(&format!("order/{}/{n}", self.id), 12))
            .collect()
    }

    fn generated_subscriptions(&self) -> Vec<Value> {
        let mut rng = Rng::new(&format!("subscriptions/{}", self.id));
        let order_ids = self.order_ids();
        let mut subscriptions: Vec<Value> = (0..rng.below(5) as usize)
            .map(|n| {
                let order_id = &order_ids[n % order_ids.len()];
                generated_subscription(&self.id, n, order_id, &mut rng)
            })
            .collect();
        // The first active subscription that offers add-ons has one, bought in the same order.
        let parent = subscriptions
            .iter()
            .find(|s| s["hasPurchasableAddons"] == true && s["status"] == "active");
        if let Some(parent) = parent {
            let addon = add_on(&self.id, parent);
            subscriptions.push(addon);
        }
        subscriptions
    }

    fn orders_for(&self, subscriptions: &[Value]) -> Vec<Value> {
        let mut order_ids: Vec<String> = Vec::new();
        for subscription in subscriptions {
            let order_id = text(subscription, "orderId");
            if !order_ids.iter().any(|known| known == order_id) {
                order_ids.push(order_id.to_owned());
            }
        }
        for order_id in self.order_ids() {
            if !order_ids.contains(&order_id) {
                order_ids.push(order_id);
            }
        }
        order_ids
            .iter()
            .map(|order_id| {
                let lines: Vec<&Value> = subscriptions
                    .iter()
                    .filter(|subscription| text(subscription, "orderId") == order_id)
                    .collect();
                self.order(order_id, &lines)
            })
            .collect()
    }

    /// An order; one whose subscriptions are all gone is shown as cancelled.
    fn order(&self, order_id: &str, subscriptions: &[&Value]) -> Value {
        let mut rng = Rng::new(&format!("order-details/{order_id}"));
        let cancelled_line;
        let (status, lines): (&str, Vec<&Value>) = if subscriptions.is_empty() {
            let offer = rng.pick(&OFFERS);
            let created = AS_OF.add_days(-(60 + rng.below(600) as i64));
            cancelled_line = json!({
                "id": guid_from(&format!("cancelled-subscription/{order_id}")),
                "offerId": offer.offer_id(),
                "friendlyName": offer.name,
                "quantity": 1 + rng.below(10),
                "termDuration": "P1M",
                "billingCycle": "monthly",
                "promotionId": "",
                "commitmentEndDate": created.add_months(1).add_days(-1).midnight(),
                "creationDate": created.at(rng.below(86_400), rng.below(10_000_000)),
                "partnerId": demo::SEED_PARTNER_ID,
            });
            ("cancelled", vec![&cancelled_line])
        } else {
            ("completed", subscriptions.to_vec())
        };
        let self_uri = format!("{}/orders/{order_id}", self.self_uri());
        let line_items: Vec<Value> = lines
            .iter()
            .enumerate()
            .map(|(number, subscription)| {
                let subscription_id = text(subscription, "id");
                let term = text(subscription, "termDuration");
                without_nulls(json!({
                    "lineItemNumber": number,
                    "offerId": text(subscription, "offerId"),
                    "subscriptionId": subscription_id,
                    "parentSubscriptionId": subscription.get("parentSubscriptionId"),
                    "termDuration": term,
                    "promotionId": text(subscription, "promotionId"),
                    "customTermEndDate": if term.is_empty() { "" } else { text(subscription, "commitmentEndDate") },
                    "transactionType": "New",
                    "friendlyName": text(subscription, "friendlyName"),
                    "quantity": subscription["quantity"],
                    "partnerIdOnRecord": text(subscription, "partnerId"),
                    "links": {
                        "subscription": link(format!("{}/subscriptions/{subscription_id}", self.self_uri())),
                    },
                }))
            })
            .collect();
        json!({
            "id": order_id,
            "alternateId": order_id,
            "referenceCustomerId": self.id,
            "billingCycle": text(lines[0], "billingCycle"),
            "currencyCode": self.locale.currency_code,
            "currencySymbol": self.locale.currency_symbol,
            "lineItems": line_items,
            "creationDate": text(lines[0], "creationDate"),
            "status": status,
            "transactionType": "UserPurchase",
            "links": {
                "self": link(self_uri.clone()),
                "provisioningStatus": link(format!("{self_uri}/provisioningstatus")),
            },
            "attributes": { "objectType": "Order" },
        })
    }
}

pub(crate) struct Portfolio {
    pub(crate) subscriptions: Vec<Value>,
    pub(crate) orders: Vec<Value>,
}

fn text<'a>(object: &'a Value, key: &str) -> &'a str {
    object[key].as_str().unwrap_or_default()
}

#[derive(Clone, Copy)]
enum OfferKind {
    /// New-commerce license offers (product:sku:availability ids).
    Nce,
    Azure,
    /// Legacy license-based offers with GUID ids.
    Legacy,
}

struct Offer {
    id: &'static str,
    name: &'static str,
    kind: OfferKind,
}

impl Offer {
    fn offer_id(&self) -> &'static str {
        self.id
    }

    fn catalog_parts(&self) -> Option<(&'static str, &'static str, &'static str)> {
        let mut parts = self.id.split(':');
        Some((parts.next()?, parts.next()?, parts.next()?))
    }

    fn product_type(&self) -> Value {
        let id = match self.kind {
            OfferKind::Nce => "OnlineServicesNCE",
            OfferKind::Azure => "Azure",
            OfferKind::Legacy => "OnlineServices",
        };
        json!({ "id": id, "displayName": id })
    }
}

const OFFERS: [Offer; 9] = [
    Offer {
        id: "CFQ7TTC0LH18:0001:CFQ7TTC0P0WS",
        name: "Microsoft 365 Business Basic",
        kind: OfferKind::Nce,
    },
    Offer {
        id: "CFQ7TTC0LDPB:0001:CFQ7TTC0K5BF",
        name: "Microsoft 365 Business Standard",
        kind: OfferKind::Nce,
    },
    Offer {
        id: "CFQ7TTC0LCHC:0002:CFQ7TTC0KFN6",
        name: "Microsoft 365 E3",
        kind: OfferKind::Nce,
    },
    Offer {
        id: "CFQ7TTC0LH16:0001:CFQ7TTC0P1TK",
        name: "Exchange Online (Plan 1)",
        kind: OfferKind::Nce,
    },
    Offer {
        id: "CFQ7TTC0MM8R:0002:CFQ7TTC0NT8V",
        name: "Microsoft Teams Essentials",
        kind: OfferKind::Nce,
    },
    Offer {
        id: "CFQ7TTC0LH0R:0001:CFQ7TTC0P4G7",
        name: "Dynamics 365 Business Central Essentials",
        kind: OfferKind::Nce,
    },
    Offer {
        id: "DZH318Z0BPS6:0001:DZH318Z0BPS1",
        name: "Azure plan",
        kind: OfferKind::Azure,
    },
    Offer {
        id: "DB2E705F-B82A-4024-A3D5-D88E12F2DB35",
        name: "Intune Device",
        kind: OfferKind::Legacy,
    },
    Offer {
        id: "031C9E47-4802-4248-838E-778FB1D2CC05",
        name: "Office 365 Business Premium",
        kind: OfferKind::Legacy,
    },
];

/// Term and billing cycle combinations sold for license offers.
const TERMS: [(&str, i64, &str, i64); 4] = [
    ("P1M", 1, "monthly", 1),
    ("P1Y", 12, "monthly", 1),
    ("P1Y", 12, "annual", 12),
    ("P3Y", 36, "annual", 12),
];

/// Several resellers of record, the seed partner most often.
const PARTNER_IDS: [&str; 4] = [
    demo::SEED_PARTNER_ID,
    demo::SEED_PARTNER_ID,
    "6101255",
    "5270021",
];

const PROMOTIONS: [&str; 2] = [
    "39NFJQT1Q5KV:0002:39NFJQT1Q5KW",
    "39NFJQT1Q5KV:0001:39NFJQT1Q5KX",
];

const FRIENDLY_SUFFIXES: [&str; 4] = ["", " - Sales", " - Finance", " - Field staff"];

/// Azure plan subscriptions have no commitment end; Partner Center reports this date.
const OPEN_ENDED: &str = "9999-12-14T00:00:00Z";

fn generated_subscription(customer_id: &str, n: usize, order_id: &str, rng: &mut Rng) -> Value {
    let offer = rng.pick(&OFFERS);
    let id = guid_from(&format!("subscription/{customer_id}/{n}"));
    let created = AS_OF.add_days(-(30 + rng.below(870) as i64));
    let created_at = (rng.below(86_400), rng.below(10_000_000));
    let start = created;
    let auto_renew = !rng.one_in(6);
    let is_trial = rng.one_in(15);

    let (term, cycle, quantity, unit_type, billing_type, commitment_end, cycle_end) =
        if let OfferKind::Azure = offer.kind {
            let cycle_end = AS_OF.add_months(1).add_days(-1);
            ("", "monthly", 1, "Usage-based", "usage", None, cycle_end)
        } else {
            let (term, term_months, cycle, cycle_months) = *rng.pick(&TERMS);
            // Auto-renewing subscriptions roll into a new term until one covers AS_OF.
            let mut terms = 1;
            while auto_renew && start.add_months(term_months * terms).add_days(-1) < AS_OF {
                terms += 1;
            }
            let commitment_end = start.add_months(term_months * terms).add_days(-1);
            let mut cycles = 1;
            while start.add_months(cycle_months * cycles).add_days(-1) < AS_OF.min(commitment_end) {
                cycles += 1;
            }
            let cycle_end = start
                .add_months(cycle_months * cycles)
                .add_days(-1)
                .min(commitment_end);
            let quantity = 1 + rng.below(300);
            (
                term,
                cycle,
                quantity,
                "Licenses",
                "license",
                Some(commitment_end),
                cycle_end,
            )
        };
    let status = match commitment_end {
        Some(end) if end < AS_OF => "expired",
        _ if rng.one_in(12) => "suspended",
        _ => "active",
    };

    let self_link = link(format!("/customers/{customer_id}/subscriptions/{id}"));
    let links = match offer.catalog_parts() {
        Some((product, sku, availability)) => json!({
            "product": link(format!("/products/{product}?country=US")),
            "sku": link(format!("/products/{product}/skus/{sku}?country=US")),
            "availability": link(format!(
                "/products/{product}/skus/{sku}/availabilities/{availability}?country=US"
            )),
            "self": self_link,
        }),
        None => json!({
            "offer": link(format!("/offers/{}?country=US", offer.id)),
            "self": self_link,
        }),
    };
    let promotion = if matches!(offer.kind, OfferKind::Nce) && rng.one_in(6) {
        *rng.pick(&PROMOTIONS)
    } else {
        ""
    };

    json!({
        "id": id,
        "offerId": offer.offer_id(),
        "offerName": offer.name,
        "friendlyName": format!("{}{}", offer.name, rng.pick(&FRIENDLY_SUFFIXES)),
        "productType": offer.product_type(),
        "quantity": quantity,
        "unitType": unit_type,
        "hasPurchasableAddons": matches!(offer.kind, OfferKind::Nce) && rng.one_in(3),
        "creationDate": created.at(created_at.0, created_at.1),
        "effectiveStartDate": start.midnight(),
        "commitmentEndDate": commitment_end.map_or_else(|| OPEN_ENDED.to_owned(), Date::midnight),
        "commitmentEndDateTime": commitment_end.map_or_else(|| OPEN_ENDED.to_owned(), Date::end_of_day),
        "cancellationAllowedUntilDate": created.add_days(7).at(created_at.0, created_at.1),
        "billingCycleEndDate": cycle_end.midnight(),
        "billingCycleEndDateTime": cycle_end.end_of_day(),
        "status": status,
        "autoRenewEnabled": auto_renew,
        "isTrial": is_trial,
        "billingType": billing_type,
        "billingCycle": cycle,
        "termDuration": term,
        "renewalTermDuration": if auto_renew { term } else { "" },
        "isMicrosoftProduct": true,
        "partnerId": rng.pick(&PARTNER_IDS),
        "attentionNeeded": status == "suspended",
        "actionTaken": false,
        "contractType": "subscription",
        "publisherName": "Microsoft Corporation",
        "promotionId": promotion,
        "orderId": order_id,
        "links": links,
        "attributes": { "objectType": "Subscription" },
    })
}

/// The add-on sold beside new-commerce license offers.
const ADD_ON: Offer = Offer {
    id: "CFQ7TTC0QH9K:0001:CFQ7TTC0QH9M",
    name: "Microsoft Teams Phone Standard",
    kind: OfferKind::Nce,
};

/// An add-on of `parent`: its own subscription, on the parent's term (an add-on ends with its parent) and
/// order, with `parentSubscriptionId` and a `parentSubscription` link.
fn add_on(customer_id: &str, parent: &Value) -> Value {
    let parent_id = text(parent, "id");
    let mut rng = Rng::new(&format!("add-on/{parent_id}"));
    let id = guid_from(&format!("add-on-subscription/{parent_id}"));
    let (product, sku, availability) = ADD_ON.catalog_parts().expect("a catalog offer id");
    let parent_quantity = parent["quantity"].as_u64().unwrap_or(1);
    let same = |key: &str| parent[key].clone();
    json!({
        "id": id,
        "offerId": ADD_ON.offer_id(),
        "offerName": ADD_ON.name,
        "friendlyName": ADD_ON.name,
        "productType": ADD_ON.product_type(),
        "quantity": 1 + rng.below(parent_quantity),
        "unitType": "Licenses",
        "parentSubscriptionId": parent_id,
        "hasPurchasableAddons": false,
        "creationDate": same("creationDate"),
        "effectiveStartDate": same("effectiveStartDate"),
        "commitmentEndDate": same("commitmentEndDate"),
        "commitmentEndDateTime": same("commitmentEndDateTime"),
        "cancellationAllowedUntilDate": same("cancellationAllowedUntilDate"),
        "billingCycleEndDate": same("billingCycleEndDate"),
        "billingCycleEndDateTime": same("billingCycleEndDateTime"),
        "status": "active",
        "autoRenewEnabled": same("autoRenewEnabled"),
        "isTrial": false,
        "billingType": "license",
        "billingCycle": same("billingCycle"),
        "termDuration": same("termDuration"),
        "renewalTermDuration": same("renewalTermDuration"),
        "isMicrosoftProduct": true,
        "partnerId": same("partnerId"),
        "attentionNeeded": false,
        "actionTaken": false,
        "contractType": "subscription",
        "publisherName": "Microsoft Corporation",
        "promotionId": "",
        "orderId": same("orderId"),
        "links": {
            "product": link(format!("/products/{product}?country=US")),
            "sku": link(format!("/products/{product}/skus/{sku}?country=US")),
            "availability": link(format!(
                "/products/{product}/skus/{sku}/availabilities/{availability}?country=US"
            )),
            "parentSubscription": link(format!("/customers/{customer_id}/subscriptions/{parent_id}")),
            "self": link(format!("/customers/{customer_id}/subscriptions/{id}")),
        },
        "attributes": { "objectType": "Subscription" },
    })
}

/// The two subscriptions of Microsoft's "subscriptions by partner MPN id"
/// sample, verbatim.
fn seed_subscriptions() -> Vec<Value> {
    static SEED: LazyLock<Vec<Value>> = LazyLock::new(|| {
        serde_json::from_str(include_str!("seed_subscriptions.json"))
            .expect("seed_subscriptions.json is a JSON array")
    });
    SEED.clone()
}
