//! Deterministic fake Partner Center data.
//!
//! Everything is derived from SHA-256 of stable labels, so every sandbox
//! process (and every test) sees the same customers, subscriptions, orders and
//! invoices. Objects carry every field the original Power Platform connector
//! exposes, and some of those only Partner Center's own resources have (an
//! add-on's parent subscription, a credit note's amended invoice, a second
//! address line), so the gateway's response schemas are exercised in full.

mod calendar;
mod commerce;
mod customers;
mod invoices;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use calendar::Date;
pub(super) use customers::Customer;

/// Comfortably more than two pages at the maximum page size of 500.
pub(super) const CUSTOMER_COUNT: usize = 1250;
pub(super) const INVOICE_COUNT: usize = 50;

/// "Today" for the generated data, fixed so that dates never drift.
const AS_OF: Date = Date::ymd(2025, 6, 1);

pub(super) struct Dataset {
    customers: Vec<Customer>,
    by_id: HashMap<String, usize>,
    invoices: Vec<Value>,
}

impl Dataset {
    pub(super) fn generate() -> Self {
        let customers: Vec<Customer> = (0..CUSTOMER_COUNT).map(Customer::generate).collect();
        let by_id = customers
            .iter()
            .enumerate()
            .map(|(position, customer)| (customer.id.clone(), position))
            .collect();
        Self {
            customers,
            by_id,
            invoices: (0..INVOICE_COUNT).map(invoices::invoice).collect(),
        }
    }

    pub(super) fn customers(&self) -> &[Customer] {
        &self.customers
    }

    /// Looks a customer up by any GUID spelling.
    pub(super) fn customer(&self, id: &str) -> Option<&Customer> {
        let position = *self.by_id.get(&normalize_guid(id)?)?;
        self.customers.get(position)
    }

    pub(super) fn invoices(&self) -> &[Value] {
        &self.invoices
    }
}

/// Lower-case hyphenated form, or None when `raw` is not a GUID.
pub(super) fn normalize_guid(raw: &str) -> Option<String> {
    uuid::Uuid::try_parse(raw)
        .ok()
        .map(|guid| guid.hyphenated().to_string())
}

/// A random-looking but stable GUID for `label`.
pub(super) fn guid_from(label: &str) -> String {
    let digest = Sha256::digest(label.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

fn hex_id(label: &str, chars: usize) -> String {
    hex::encode(Sha256::digest(label.as_bytes()))[..chars].to_owned()
}

/// `value` without its null-valued keys, however deep: Partner Center leaves out what a resource does not
/// have, so an optional field is written as `Option` and dropped here when it is `None`.
fn without_nulls(mut value: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|_, v| !v.is_null());
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

/// A Partner Center link object.
pub(super) fn link(uri: impl Into<String>) -> Value {
    json!({ "uri": uri.into(), "method": "GET", "headers": [] })
}

/// splitmix64 seeded from a label: cheap, stable, good enough for fake data.
struct Rng(u64);

impl Rng {
    fn new(label: &str) -> Self {
        let digest = Sha256::digest(label.as_bytes());
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        Self(u64::from_le_bytes(seed))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn one_in(&mut self, odds: u64) -> bool {
        self.below(odds) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}
