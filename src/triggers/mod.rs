//! Polling triggers over Partner Center's activity log (`GET /v1/auditrecords`): which records each trigger
//! delivers, and where it is in the log.
//!
//! A trigger keeps no state of its own: the state (its filter, the latest `operationDate` it has read and the
//! records it has read at that instant, and the rest of a query Partner Center is still paging) travels in the
//! `Location` URL of each answer, signed by the gateway ([`state`]), so that any replica can answer the next
//! poll and a restart loses nothing.
//!
//! Each page is read oldest first (Partner Center documents no order: the gateway sorts it by `operationDate`,
//! then ID), and pages follow each other oldest first. A record is new when it is later than the cursor, or at the cursor's instant
//! and not yet read: so a record is never delivered twice, nor skipped when several share an instant across two
//! polls or two pages. Only the records at the cursor's instant are remembered, at most [`MAX_SEEN`]; past that
//! (more records stamped with one 100-nanosecond instant than any partner makes), the oldest are forgotten
//! while the query is paged, and the cursor steps past the instant once the query is read to the end or has to
//! be asked again from the cursor.

pub mod state;

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::{ContinuationToken, CustomerTenantId};
pub use state::{Continuation, Signer, State};

/// The most record IDs a state remembers at one instant: 8 bytes each (about 11 characters of URL), so the
/// largest state, with a continuation token of [`state::MAX_TOKEN`], is 2,804 characters.
pub const MAX_SEEN: usize = 128;

/// Partner Center keeps 90 days of activity, and one query covers at most 30.
pub const RETENTION_DAYS: i64 = 90;
pub const WINDOW_DAYS: i64 = 30;

/// What answering a poll needs: the key states are signed with, and the pace (settings `[triggers]`).
pub struct Triggers {
    pub signer: Signer,
    /// Audit records asked of Partner Center per poll.
    pub page_size: u32,
    /// The `Retry-After` of a poll that read the log to its end.
    pub poll_interval_secs: u64,
    /// How far behind now a poll reads.
    pub lag: time::Duration,
}

/// The four triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    CustomerAdded = 1,
    OrderCreated = 2,
    SubscriptionChanged = 3,
    ActivityRecorded = 4,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Self> {
        [
            Kind::CustomerAdded,
            Kind::OrderCreated,
            Kind::SubscriptionChanged,
            Kind::ActivityRecorded,
        ]
        .into_iter()
        .find(|k| *k as u8 == byte)
    }

    /// Whether a record of `operation_type` is one this trigger delivers (its customer aside).
    fn wants(self, filter: &Filter, operation_type: &str) -> bool {
        match self {
            Kind::CustomerAdded => operation_type == "add_customer",
            Kind::OrderCreated => operation_type == "create_order",
            Kind::SubscriptionChanged => SUBSCRIPTION_CHANGES.contains(&operation_type),
            Kind::ActivityRecorded => filter
                .operation_type
                .and_then(|i| OPERATION_TYPES.get(usize::from(i)))
                .is_some_and(|known| known.name == operation_type),
        }
    }
}

/// What a subscription's change is logged as: an update (its seats, its auto-renewal, its status), an upgrade to
/// another offer, a trial converted to a paid subscription.
pub const SUBSCRIPTION_CHANGES: [&str; 3] = [
    "update_subscription",
    "upgrade_subscription",
    "convert_trial_subscription",
];

/// An activity a maker can pick for "When an activity is recorded": Partner Center's `operationType` and its
/// display names.
pub struct OperationType {
    pub name: &'static str,
    pub en_us: &'static str,
    pub pt_br: &'static str,
}

/// The activities offered, in the order the designer lists them. The position is what a state carries, so
/// entries are only ever appended.
pub const OPERATION_TYPES: &[OperationType] = &[
    OperationType {
        name: "add_customer",
        en_us: "Customer added",
        pt_br: "Cliente adicionado",
    },
    OperationType {
        name: "update_customer_qualification",
        en_us: "Customer qualification updated",
        pt_br: "Qualificação do cliente atualizada",
    },
    OperationType {
        name: "update_customer_spending_budget",
        en_us: "Customer spending budget updated",
        pt_br: "Orçamento de gastos do cliente atualizado",
    },
    OperationType {
        name: "create_order",
        en_us: "Order created",
        pt_br: "Pedido criado",
    },
    OperationType {
        name: "update_order",
        en_us: "Order updated",
        pt_br: "Pedido atualizado",
    },
    OperationType {
        name: "create_subscription",
        en_us: "Subscription created",
        pt_br: "Assinatura criada",
    },
    OperationType {
        name: "update_subscription",
        en_us: "Subscription updated",
        pt_br: "Assinatura atualizada",
    },
    OperationType {
        name: "upgrade_subscription",
        en_us: "Subscription upgraded",
        pt_br: "Assinatura atualizada para outra oferta",
    },
    OperationType {
        name: "convert_trial_subscription",
        en_us: "Trial subscription converted",
        pt_br: "Assinatura de avaliação convertida",
    },
    OperationType {
        name: "add_customer_user",
        en_us: "Customer user added",
        pt_br: "Usuário do cliente adicionado",
    },
    OperationType {
        name: "remove_customer_user",
        en_us: "Customer user removed",
        pt_br: "Usuário do cliente removido",
    },
    OperationType {
        name: "update_customer_user_licenses",
        en_us: "Customer user licenses updated",
        pt_br: "Licenças do usuário do cliente atualizadas",
    },
    OperationType {
        name: "create_customer_agreement",
        en_us: "Customer agreement confirmed",
        pt_br: "Contrato do cliente confirmado",
    },
];

/// The position of `name` in [`OPERATION_TYPES`].
pub fn operation_type(name: &str) -> Option<u8> {
    OPERATION_TYPES
        .iter()
        .position(|known| known.name == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// What a trigger was asked to watch, fixed at its first poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub customer: Option<CustomerTenantId>,
    /// A position in [`OPERATION_TYPES`].
    pub operation_type: Option<u8>,
}

/// 8 bytes of a record ID's SHA-256: an ID's length is Partner Center's business, a state's is ours.
pub type SeenId = [u8; 8];

/// The latest `operationDate` read (nanoseconds since 1970) and the records read at that instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub seen: Vec<SeenId>,
}

impl Cursor {
    pub fn starting(at: OffsetDateTime) -> Self {
        Self {
            at: nanos(at),
            seen: Vec::new(),
        }
    }

    /// Whether a record at `at` with `id` is new; either way it counts as read from now on.
    fn read(&mut self, at: i64, id: SeenId) -> bool {
        if at < self.at {
            return false;
        }
        if at == self.at {
            if self.seen.contains(&id) {
                return false;
            }
            self.seen.push(id);
            return true;
        }
        self.at = at;
        self.seen = vec![id];
        true
    }
}

pub fn nanos(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

pub fn instant(nanos: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The fields of an audit record a trigger reads; the record itself reaches the flow as Partner Center wrote it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordFields<'a> {
    #[serde(borrow, default)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    operation_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    operation_date: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    customer_id: Option<std::borrow::Cow<'a, str>>,
}

/// One page of the log, read by a trigger: the records to deliver and the state after them.
pub struct Reading<'a> {
    pub delivered: Vec<&'a RawValue>,
    /// Records whose date could not be read, skipped.
    pub unreadable: usize,
    /// Whether Partner Center has more records for the query: the next poll is to come at once, for the
    /// next page (the state carries the token) or for the query asked again from the cursor (it could not).
    pub more: bool,
}

/// A record of a page, with the fields it is read by.
struct Entry<'a, 'p> {
    at: i64,
    digest: SeenId,
    fields: RecordFields<'p>,
    item: &'a RawValue,
}

/// Reads a page's records against `state`, moving its cursor. `next` is Partner Center's continuation token
/// when it says more pages follow (an empty one when its next link has none), and `end` the query's end: the
/// cursor moves there once the last page is read.
pub fn read_page<'a>(
    state: &mut State,
    items: &[&'a RawValue],
    next: Option<&str>,
    end: i64,
) -> Reading<'a> {
    let mut unreadable = 0;
    let mut entries = Vec::with_capacity(items.len());
    for item in items {
        let Ok(fields) = serde_json::from_str::<RecordFields>(item.get()) else {
            unreadable += 1;
            continue;
        };
        let Some(at) = fields
            .operation_date
            .as_deref()
            .and_then(|d| OffsetDateTime::parse(d, &Rfc3339).ok())
        else {
            unreadable += 1;
            continue;
        };
        // A record without an ID is known by its bytes.
        let digest = match &fields.id {
            Some(id) => Sha256::digest(id.as_bytes()),
            None => Sha256::digest(item.get().as_bytes()),
        };
        entries.push(Entry {
            at: nanos(at),
            digest: digest[..8].try_into().expect("a digest has 32 bytes"),
            fields,
            item,
        });
    }
    // The cursor only moves forward: a page listed in another order than oldest first would lose its older
    // records. Partner Center documents no order, so each page is read by date (then ID, for a stable order).
    entries.sort_by(|a, b| (a.at, &a.fields.id).cmp(&(b.at, &b.fields.id)));

    let before = state.cursor.clone();
    let mut delivered = Vec::new();
    for entry in entries {
        if !state.cursor.read(entry.at, entry.digest) {
            continue;
        }
        let fields = &entry.fields;
        let operation = fields.operation_type.as_deref().unwrap_or_default();
        let customer_matches = state.filter.customer.is_none_or(|wanted| {
            fields
                .customer_id
                .as_deref()
                .and_then(|c| CustomerTenantId::parse(c).ok())
                == Some(wanted)
        });
        if state.kind.wants(&state.filter, operation) && customer_matches {
            delivered.push(entry.item);
        }
    }
    // Carried only when Partner Center will take it back as sent and it keeps the state short.
    let carried = next
        .filter(|token| token.len() <= state::MAX_TOKEN && ContinuationToken::parse(token).is_ok());
    state.continuation = carried.map(|token| Continuation {
        token: token.to_owned(),
        end_nanos: end,
    });
    // More pages that this state cannot reach: the cursor stays at the last record read, and the next poll asks
    // again from there (a new query, from that instant).
    let ask_again = next.is_some() && carried.is_none();
    if ask_again && state.cursor == before {
        // Nothing on this page was new (more records at one instant than a page holds), and a new query from the
        // cursor would answer this same page: step past the instant rather than ask for it for ever.
        tracing::warn!(
            "an activity page without a usable continuation token held nothing new; its instant is skipped"
        );
        state.cursor = Cursor {
            at: state.cursor.at.saturating_add(1),
            seen: Vec::new(),
        };
    }
    if next.is_none() && end > state.cursor.at {
        // The whole query is read: nothing up to its end is left, so the next one starts there.
        state.cursor = Cursor {
            at: end,
            seen: Vec::new(),
        };
    }
    if state.cursor.seen.len() > MAX_SEEN {
        if state.continuation.is_some() {
            // The pages still to come are new anyway; only a query started again at the cursor rereads these.
            let excess = state.cursor.seen.len() - MAX_SEEN;
            state.cursor.seen.drain(..excess);
        } else {
            // A query from this instant would deliver again the records no longer remembered.
            state.cursor = Cursor {
                at: state.cursor.at.saturating_add(1),
                seen: Vec::new(),
            };
        }
    }
    Reading {
        delivered,
        unreadable,
        more: next.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, op: &str, at: &str, customer: &str) -> Box<RawValue> {
        RawValue::from_string(format!(
            r#"{{"id":"{id}","operationType":"{op}","operationDate":"{at}","customerId":"{customer}"}}"#
        ))
        .unwrap()
    }

    const C1: &str = "c501c3c4-d776-40ef-9ecf-9cefb59442c1";
    const C2: &str = "00000000-1111-4222-8333-444444444444";

    fn ids(reading: &Reading) -> Vec<String> {
        reading
            .delivered
            .iter()
            .map(|r| serde_json::from_str::<serde_json::Value>(r.get()).unwrap()["id"].to_string())
            .collect()
    }

    fn start(kind: Kind, filter: Filter, at: &str) -> State {
        State {
            kind,
            filter,
            cursor: Cursor::starting(OffsetDateTime::parse(at, &Rfc3339).unwrap()),
            continuation: None,
        }
    }

    #[test]
    fn records_at_one_instant_across_pages_and_polls_are_each_delivered_once() {
        let t = "2026-01-01T10:00:00.5Z";
        let end = nanos(OffsetDateTime::parse("2026-01-01T10:00:01Z", &Rfc3339).unwrap());
        let mut state = start(
            Kind::CustomerAdded,
            Filter::default(),
            "2026-01-01T10:00:00Z",
        );
        let (a, b) = (
            record("a", "add_customer", t, C1),
            record("b", "add_customer", t, C2),
        );
        let first = read_page(&mut state, &[&a], Some("next"), end);
        assert_eq!(ids(&first), ["\"a\""]);
        assert!(state.continuation.is_some());
        // The next page, or the same query asked again from the cursor: a is not delivered again.
        let mut again = state.clone();
        let second = read_page(&mut state, &[&b], None, end);
        assert_eq!(ids(&second), ["\"b\""]);
        assert_eq!(
            state.cursor,
            Cursor {
                at: end,
                seen: vec![]
            }
        );
        let restarted = read_page(&mut again, &[&a, &b], None, end);
        assert_eq!(ids(&restarted), ["\"b\""]);
        assert!(
            read_page(&mut state, &[&a, &b], None, end)
                .delivered
                .is_empty()
        );
    }

    #[test]
    fn filters_pick_the_trigger_s_records_and_the_rest_still_move_the_cursor() {
        let end = nanos(OffsetDateTime::parse("2026-01-01T11:00:00Z", &Rfc3339).unwrap());
        let records = [
            record("1", "create_order", "2026-01-01T10:00:01Z", C1),
            record("2", "create_order", "2026-01-01T10:00:02Z", C2),
            record("3", "update_subscription", "2026-01-01T10:00:03Z", C1),
            record(
                "4",
                "convert_trial_subscription",
                "2026-01-01T10:00:04Z",
                C1,
            ),
            record("5", "add_customer_user", "2026-01-01T10:00:05Z", C1),
        ];
        let page: Vec<&RawValue> = records.iter().map(|r| r.as_ref()).collect();
        let at = "2026-01-01T10:00:00Z";
        let for_c1 = Filter {
            customer: Some(CustomerTenantId::parse(C1).unwrap()),
            operation_type: None,
        };
        let mut orders = start(Kind::OrderCreated, for_c1.clone(), at);
        assert_eq!(ids(&read_page(&mut orders, &page, None, end)), ["\"1\""]);
        let mut changes = start(Kind::SubscriptionChanged, Filter::default(), at);
        assert_eq!(
            ids(&read_page(&mut changes, &page, None, end)),
            ["\"3\"", "\"4\""]
        );
        let mut users = start(
            Kind::ActivityRecorded,
            Filter {
                operation_type: operation_type("add_customer_user"),
                ..for_c1
            },
            at,
        );
        assert_eq!(ids(&read_page(&mut users, &page, None, end)), ["\"5\""]);
        assert_eq!(users.cursor.at, end);
    }

    #[test]
    fn the_ids_remembered_at_one_instant_are_bounded() {
        let t = "2026-01-01T10:00:00.5Z";
        let end = nanos(OffsetDateTime::parse("2026-01-01T10:00:00.5Z", &Rfc3339).unwrap());
        let records: Vec<Box<RawValue>> = (0..MAX_SEEN + 5)
            .map(|i| record(&i.to_string(), "add_customer", t, C1))
            .collect();
        let page: Vec<&RawValue> = records.iter().map(|r| r.as_ref()).collect();
        let mut paging = start(
            Kind::CustomerAdded,
            Filter::default(),
            "2026-01-01T10:00:00Z",
        );
        let reading = read_page(&mut paging, &page, Some("more"), end + 10);
        assert_eq!(reading.delivered.len(), MAX_SEEN + 5);
        assert_eq!(paging.cursor.seen.len(), MAX_SEEN);
        let mut done = start(
            Kind::CustomerAdded,
            Filter::default(),
            "2026-01-01T10:00:00Z",
        );
        read_page(&mut done, &page, None, end);
        assert_eq!(
            done.cursor,
            Cursor {
                at: end + 1,
                seen: vec![]
            }
        );
    }

    #[test]
    fn records_at_one_instant_remembered_while_paging_are_not_delivered_again_from_the_cursor() {
        let t = "2026-01-01T10:00:00.5Z";
        let end = nanos(OffsetDateTime::parse("2026-01-01T10:00:01Z", &Rfc3339).unwrap());
        // More records at one instant than a page of 100 holds, fewer than a state remembers.
        let records: Vec<Box<RawValue>> = (0..=100)
            .map(|i| record(&format!("{i:03}"), "add_customer", t, C1))
            .collect();
        let page: Vec<&RawValue> = records.iter().map(|r| r.as_ref()).collect();
        let mut state = start(
            Kind::CustomerAdded,
            Filter::default(),
            "2026-01-01T10:00:00Z",
        );
        // A first page of 100, more to come; then Partner Center forgets the query, and the next poll reads it
        // again from the cursor.
        let first = read_page(&mut state, &page[..100], Some("more"), end);
        assert_eq!(first.delivered.len(), 100);
        state.continuation = None;
        let again = read_page(&mut state, &page, None, end);
        assert_eq!(ids(&again), ["\"100\""]);
    }

    #[test]
    fn a_token_too_long_to_carry_keeps_the_cursor_at_the_last_record_read() {
        let (t1, t2) = ("2026-01-01T10:00:00.5Z", "2026-01-01T10:00:00.7Z");
        let end = nanos(OffsetDateTime::parse("2026-01-01T10:00:01Z", &Rfc3339).unwrap());
        let (a, b, c) = (
            record("a", "add_customer", t1, C1),
            record("b", "add_customer", t2, C1),
            record("c", "add_customer", t2, C1),
        );
        let mut state = start(
            Kind::CustomerAdded,
            Filter::default(),
            "2026-01-01T10:00:00Z",
        );
        for next in [
            "t".repeat(state::MAX_TOKEN + 1),
            " ".into(),
            "caf\u{e9}".into(),
        ] {
            let mut state = state.clone();
            let reading = read_page(&mut state, &[&a, &b], Some(&next), end);
            assert_eq!(ids(&reading), ["\"a\"", "\"b\""]);
            assert!(reading.more, "{next}");
            assert_eq!(state.continuation, None);
            assert_eq!(
                state.cursor.at,
                nanos(OffsetDateTime::parse(t2, &Rfc3339).unwrap())
            );
            // Asked again from the cursor: only what the first page did not hold.
            assert_eq!(ids(&read_page(&mut state, &[&b, &c], None, end)), ["\"c\""]);
        }
        // One record a page at one instant, and no token to carry: the same first page again moves nothing, so
        // the cursor steps past that instant rather than asking for it for ever.
        let first = read_page(&mut state, &[&b], Some(" "), end);
        assert_eq!(first.delivered.len(), 1);
        let stuck = read_page(&mut state, &[&b], Some(" "), end);
        assert!(stuck.delivered.is_empty());
        assert!(state.cursor.at > nanos(OffsetDateTime::parse(t2, &Rfc3339).unwrap()));
    }
}
