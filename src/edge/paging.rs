//! Paging for flows: Partner Center hands out the next page of customers as a continuation token in a header
//! and the next page of invoices as an offset, neither of which a Power Automate flow can follow on its own.
//! The gateway adds a `nextLink` (an absolute URL back to itself) to a page that has a successor.
//!
//! A page reaches the caller in one of two shapes ([`PageShape`]). The original operations answer Partner
//! Center's page as it is, its list in `items` (the name flows built on the original connector read), with
//! `nextLink` spliced in before the closing brace: every other byte of Partner Center's answer reaches the
//! caller as it was sent. Their paged twins answer `{"value": [...], "nextLink": "..."}`, the only shape the
//! platform's Pagination setting (`x-ms-pageable`) follows: Logic Apps refuses a page without a `value` array
//! (`InvalidPageResponse`), and Power Platform's connector schema allows `x-ms-pageable` no other item name.
//! The twin's `value` is the bytes of Partner Center's `items` array, borrowed, never re-parsed into values.
//!
//! The page is read once, borrowing what it can.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// What a page looks like to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageShape {
    /// Partner Center's page unchanged, `items` and all, plus `nextLink`: the original connector's operations.
    Items,
    /// `{"value": [...the items...], "nextLink": "..."}`: the twins made for the platform's paging.
    Value,
}

/// An operation that pages: where its `nextLink`s lead (its own path, so the next page has the same shape) and
/// the shape of its pages.
#[derive(Debug, Clone, Copy)]
pub struct Listing {
    pub path: &'static str,
    pub shape: PageShape,
}

/// What the gateway needs to know of a collection page.
#[derive(Deserialize, Default)]
pub struct Page<'a> {
    #[serde(borrow, default)]
    links: Option<Links<'a>>,
    /// The list exactly as Partner Center wrote it.
    #[serde(borrow, default)]
    items: Option<&'a RawValue>,
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
    /// Reads a page; this also checks that the whole body is JSON and that `items`, if any, is an array.
    pub fn parse(body: &'a [u8]) -> Result<Self, serde_json::Error> {
        let page: Self = serde_json::from_slice(body)?;
        if page
            .items
            .is_some_and(|items| !items.get().starts_with('['))
        {
            return Err(serde::de::Error::custom("items is not an array"));
        }
        Ok(page)
    }

    pub fn has_next(&self) -> bool {
        self.links.as_ref().is_some_and(|l| l.next.is_some())
    }

    /// How many items the page holds. The array was checked when the page was read; counting skims its bytes
    /// again and keeps nothing.
    pub fn items(&self) -> u32 {
        self.items
            .and_then(|items| serde_json::from_str::<ItemCount>(items.get()).ok())
            .map_or(0, |count| count.0)
    }

    /// The page in the twins' shape: `{"value":[...],"nextLink":"..."}`, the items' bytes as Partner Center sent
    /// them (an empty list when it sent none), and `nextLink` only when there is a next page.
    pub fn value_page(&self, next_link: Option<&str>) -> Bytes {
        let items = self.items.map_or("[]", RawValue::get);
        let mut out = BytesMut::with_capacity(items.len() + next_link.map_or(0, str::len) + 32);
        out.put_slice(b"{\"value\":");
        out.put_slice(items.as_bytes());
        if let Some(link) = next_link {
            out.put_slice(b",\"nextLink\":");
            push_json_string(&mut out, link);
        }
        out.put_slice(b"}");
        out.freeze()
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
    push_json_string(&mut out, link);
    out.put_slice(&body[end..]);
    Some(out.freeze())
}

fn push_json_string(out: &mut BytesMut, text: &str) {
    serde_json::to_writer(out.writer(), text)
        .expect("a string serializes, and memory takes every write");
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
    fn the_twins_page_carries_the_items_bytes_in_value() {
        let body =
            br#"{"totalCount":2,"items":[ {"id":"a","n":1.50} ,{"id":"\u00e9"}],"links":{}}"#;
        let page = Page::parse(body).unwrap();
        assert_eq!(page.items(), 2);
        let out = page.value_page(Some("http://gw/v1/paged/invoices?Offset=2"));
        assert_eq!(
            out,
            Bytes::from_static(
                br#"{"value":[ {"id":"a","n":1.50} ,{"id":"\u00e9"}],"nextLink":"http://gw/v1/paged/invoices?Offset=2"}"#
            )
        );
        assert_eq!(
            Page::parse(b"{}").unwrap().value_page(None),
            Bytes::from_static(br#"{"value":[]}"#)
        );
        assert!(Page::parse(br#"{"items":{"id":"a"}}"#).is_err());
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
