//! Paging for flows: Partner Center hands out the next page of customers as a continuation token in a header
//! and the next page of invoices as an offset, neither of which a Power Automate flow can follow on its own.
//! The gateway adds a `nextLink` (an absolute URL back to itself) to a page that has a successor, which is
//! what `x-ms-pageable` follows.
//!
//! The page is read once, borrowing what it can, and `nextLink` is spliced in before the closing brace: every
//! other byte of Partner Center's answer reaches the caller as it was sent.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};

/// What the gateway needs to know of a collection page.
#[derive(Deserialize, Default)]
pub struct Page<'a> {
    #[serde(borrow, default)]
    links: Option<Links<'a>>,
    #[serde(default)]
    items: ItemCount,
}

#[derive(Deserialize)]
struct Links<'a> {
    #[serde(borrow, default)]
    next: Option<NextLink<'a>>,
}

#[derive(Deserialize)]
struct NextLink<'a> {
    #[serde(borrow, default)]
    headers: Vec<Header<'a>>,
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    value: Cow<'a, str>,
}

/// Counts a JSON array's elements without keeping them.
#[derive(Default)]
struct ItemCount(u32);

impl<'de> Deserialize<'de> for ItemCount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> Visitor<'de> for Count {
            type Value = ItemCount;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ItemCount, A::Error> {
                let mut n = 0u32;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n = n.saturating_add(1);
                }
                Ok(ItemCount(n))
            }
        }
        d.deserialize_seq(Count)
    }
}

impl<'a> Page<'a> {
    /// Reads a page; this also checks that the whole body is JSON.
    pub fn parse(body: &'a [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    pub fn has_next(&self) -> bool {
        self.links.as_ref().is_some_and(|l| l.next.is_some())
    }

    pub fn items(&self) -> u32 {
        self.items.0
    }

    /// The `MS-ContinuationToken` Partner Center asks to be sent for the next page.
    pub fn continuation_token(&self) -> Option<&str> {
        let next = self.links.as_ref()?.next.as_ref()?;
        next.headers
            .iter()
            .find(|h| h.key.eq_ignore_ascii_case("MS-ContinuationToken"))
            .map(|h| h.value.as_ref())
    }
}

/// Returns `body` with `"nextLink": link` added as the top-level object's last member, or `None` when the body
/// is not an object.
pub fn with_next_link(body: &[u8], link: &str) -> Option<Bytes> {
    let end = body.iter().rposition(|b| !b.is_ascii_whitespace())?;
    if body[end] != b'}' {
        return None;
    }
    let empty = body[..end]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .is_some_and(|i| body[i] == b'{');
    let mut out = BytesMut::with_capacity(body.len() + link.len() + 16);
    out.put_slice(&body[..end]);
    out.put_slice(if empty {
        b"\"nextLink\":"
    } else {
        b",\"nextLink\":"
    });
    serde_json::to_writer((&mut out).writer(), link).ok()?;
    out.put_slice(&body[end..]);
    Some(out.freeze())
}

/// Appends `key=value` to a query string being built, percent-encoding the value.
pub fn push_query(url: &mut String, key: &str, value: &str) {
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(key);
    url.push('=');
    url.extend(form_urlencoded::byte_serialize(value.as_bytes()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_spliced_before_the_closing_brace() {
        let body = br#"{"totalCount":1,"items":[{"id":"x"}],"links":{"next":{"uri":"/customers?size=1&seekOperation=Next","method":"GET","headers":[{"key":"MS-ContinuationToken","value":"a+b\/c=="}]}}}  "#;
        let page = Page::parse(body).unwrap();
        assert!(page.has_next());
        assert_eq!(page.items(), 1);
        assert_eq!(page.continuation_token(), Some("a+b/c=="));
        let out = with_next_link(body, "http://gw/v1/customers?ContinuationToken=a%2Bb").unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            value["nextLink"],
            "http://gw/v1/customers?ContinuationToken=a%2Bb"
        );
        assert!(
            out.starts_with(&body[..body.len() - 4]),
            "the rest of the body is untouched"
        );
        assert_eq!(
            with_next_link(b"{ }", "l").unwrap(),
            Bytes::from_static(b"{ \"nextLink\":\"l\"}")
        );
        assert!(with_next_link(b"[1]", "l").is_none());
    }

    #[test]
    fn pages_without_next() {
        let page =
            Page::parse(br#"{"totalCount":0,"items":[],"links":{"self":{"uri":"/x"}}}"#).unwrap();
        assert!(!page.has_next());
        assert!(Page::parse(b"<html>").is_err());
        assert!(Page::parse(br#"{"items":[]} trailing"#).is_err());
    }

    #[test]
    fn query_values_are_encoded() {
        let mut url = "http://gw/v1/customers".to_owned();
        push_query(&mut url, "Size", "5");
        push_query(&mut url, "ContinuationToken", "a+b/c==&x");
        assert_eq!(
            url,
            "http://gw/v1/customers?Size=5&ContinuationToken=a%2Bb%2Fc%3D%3D%26x"
        );
    }
}
