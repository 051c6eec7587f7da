//! W3C Trace Context: the caller's `traceparent` (and `tracestate`) continued, or a new trace started, for each
//! call; the gateway's own span is the parent of its call to Partner Center and is named in the answer's
//! `traceparent`.
//!
//! Written by hand: the whole format is four dash-separated hex fields and a comma list, and the crates that parse
//! it (`opentelemetry`'s propagators) bring a tracing SDK the gateway does not run. The rules followed are those of
//! the W3C Trace Context Recommendation: a `traceparent` that does not parse, or whose IDs are all zeros, is
//! ignored and a new trace starts (never a 400: tracing must not break calls), and then `tracestate` is ignored
//! too; a `tracestate` that is not a well-formed list, or is longer than [`MAX_TRACESTATE`], is dropped.
//!
//! The context lives in a task-local for the duration of the call, as the correlation ID does.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

pub static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The longest `tracestate` passed on: the length the Recommendation asks every vendor to propagate.
pub const MAX_TRACESTATE: usize = 512;
const MAX_TRACESTATE_MEMBERS: usize = 32;

tokio::task_local! {
    static CURRENT: TraceContext;
}

/// One call's place in a trace: the trace it belongs to, the gateway's span in it, and what the caller said.
#[derive(Clone, Debug)]
pub struct TraceContext {
    trace_id: [u8; 16],
    /// The gateway's span: the parent of the call to Partner Center.
    span_id: [u8; 8],
    flags: u8,
    /// The caller's parent-id, when it sent a valid `traceparent`.
    caller_parent: Option<[u8; 8]>,
    tracestate: Option<HeaderValue>,
}

/// The trace context of the call being served, if any.
pub fn current() -> Option<TraceContext> {
    CURRENT.try_with(Clone::clone).ok()
}

impl TraceContext {
    /// The caller's trace continued with a span of ours, or a new trace when the caller sent none or one that is
    /// not valid.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let span_id = new_span_id();
        match single(headers, &TRACEPARENT).and_then(parse_traceparent) {
            Some((trace_id, parent_id, flags)) => TraceContext {
                trace_id,
                span_id,
                flags,
                caller_parent: Some(parent_id),
                tracestate: tracestate(headers),
            },
            None => TraceContext {
                trace_id: new_trace_id(),
                span_id,
                // A new trace is not sampled by the gateway, which records no spans itself.
                flags: 0,
                caller_parent: None,
                tracestate: None,
            },
        }
    }

    /// The trace-id as 32 lowercase hex digits, as logs and tracing back ends write it.
    pub fn trace_id(&self) -> String {
        hex::encode(self.trace_id)
    }

    /// The gateway's span-id as 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        hex::encode(self.span_id)
    }

    /// Whether this call continues a trace the caller started.
    pub fn continued(&self) -> bool {
        self.caller_parent.is_some()
    }

    /// `traceparent` naming the gateway's span: what Partner Center is sent and what the caller gets back.
    /// Written into a fixed buffer: it is made twice per call, and formatting the IDs through `String`s cost
    /// more than the rest of the trace context.
    pub fn traceparent(&self) -> HeaderValue {
        let mut text = *b"00-00000000000000000000000000000000-0000000000000000-00";
        hex::encode_to_slice(self.trace_id, &mut text[3..35]).expect("32 digits for 16 bytes");
        hex::encode_to_slice(self.span_id, &mut text[36..52]).expect("16 digits for 8 bytes");
        hex::encode_to_slice([self.flags], &mut text[53..55]).expect("2 digits for 1 byte");
        HeaderValue::from_bytes(&text).expect("hex digits and dashes are a valid header value")
    }

    /// The caller's `tracestate`, when it was well-formed, passed on unchanged (the gateway adds no entry).
    pub fn tracestate(&self) -> Option<&HeaderValue> {
        self.tracestate.as_ref()
    }
}

/// Runs `call` in trace context `context`: [`current`] gives it until `call` ends.
pub fn scope<F: Future>(
    context: TraceContext,
    call: F,
) -> tokio::task::futures::TaskLocalFuture<TraceContext, F> {
    CURRENT.scope(context, call)
}

/// The header's value when it is sent exactly once: two `traceparent`s cannot both be the parent.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    values
        .next()
        .is_none()
        .then(|| value.to_str().ok())
        .flatten()
}

/// `version-traceid-parentid-flags`. Version 00 is exactly 55 characters; a later version may append fields
/// after a dash, and is read as 00 (the Recommendation's forward compatibility); version ff is invalid.
fn parse_traceparent(value: &str) -> Option<([u8; 16], [u8; 8], u8)> {
    let value = value.trim_matches([' ', '\t']);
    let bytes = value.as_bytes();
    if bytes.len() < 55 {
        return None;
    }
    let version = lower_hex::<1>(&value[0..2])?[0];
    let extra_ok = match version {
        0xff => false,
        0x00 => bytes.len() == 55,
        _ => bytes.len() == 55 || bytes[55] == b'-',
    };
    if !extra_ok || bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
        return None;
    }
    let trace_id = lower_hex::<16>(&value[3..35])?;
    let parent_id = lower_hex::<8>(&value[36..52])?;
    let flags = lower_hex::<1>(&value[53..55])?[0];
    if trace_id == [0; 16] || parent_id == [0; 8] {
        return None;
    }
    // Version 00 defines only the sampled bit; the others are kept for the caller's tracer, as they arrived.
    Some((trace_id, parent_id, flags))
}

/// `N` bytes from exactly `2N` lowercase hex digits (the Recommendation refuses uppercase).
fn lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// The `tracestate` headers joined as one list, when the list is well-formed and short enough to pass on.
fn tracestate(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut joined = String::new();
    for value in headers.get_all(&TRACESTATE) {
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(value.to_str().ok()?);
    }
    if joined.trim().is_empty() || joined.len() > MAX_TRACESTATE || !well_formed(&joined) {
        return None;
    }
    HeaderValue::try_from(joined).ok()
}

/// `list-member *( OWS "," OWS list-member )`, empty members allowed, at most 32 members, no key twice.
fn well_formed(list: &str) -> bool {
    let mut keys = Vec::new();
    for member in list.split(',') {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let Some((key, value)) = member.split_once('=') else {
            return false;
        };
        if !is_key(key) || !is_value(value) || keys.contains(&key) {
            return false;
        }
        keys.push(key);
    }
    keys.len() <= MAX_TRACESTATE_MEMBERS
}

/// A simple key (`lcalpha 0*255keychar`), or a multi-tenant one (`tenant@system`).
fn is_key(key: &str) -> bool {
    let keychar = |b: u8| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/');
    let part = |s: &str, max: usize, first_digit_ok: bool| {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= max
            && (b[0].is_ascii_lowercase() || (first_digit_ok && b[0].is_ascii_digit()))
            && b.iter().all(|&c| keychar(c))
    };
    match key.split_once('@') {
        None => part(key, 256, false),
        Some((tenant, system)) => part(tenant, 241, true) && part(system, 14, false),
    }
}

/// `0*255(chr) nblk-chr`: printable ASCII but `,` and `=`, not ending in a space.
fn is_value(value: &str) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && b.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
        && b[b.len() - 1] != b' '
}

fn new_trace_id() -> [u8; 16] {
    loop {
        let id: [u8; 16] = rand::random();
        if id != [0; 16] {
            return id;
        }
    }
}

fn new_span_id() -> [u8; 8] {
    loop {
        let id: [u8; 8] = rand::random();
        if id != [0; 8] {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(pairs: &[(&HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append((*name).clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_valid_traceparent_is_continued_with_a_span_of_ours() {
        let context = TraceContext::from_headers(&headers(&[(&TRACEPARENT, VALID)]));
        assert!(context.continued());
        assert_eq!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(context.span_id(), "00f067aa0ba902b7");
        let sent = context.traceparent();
        let sent = sent.to_str().unwrap();
        assert!(sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(sent.ends_with("-01"));
        assert_eq!(sent.len(), 55);
    }

    #[test]
    fn what_the_recommendation_refuses_starts_a_new_trace() {
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "",
        ] {
            let context = TraceContext::from_headers(&headers(&[
                (&TRACEPARENT, bad),
                (&TRACESTATE, "congo=t61rcWkgMzE"),
            ]));
            assert!(!context.continued(), "{bad:?} was believed");
            assert_ne!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
            assert_ne!(context.trace_id(), "0".repeat(32));
            assert!(context.tracestate().is_none(), "{bad:?} kept tracestate");
        }
    }

    #[test]
    fn a_later_version_is_read_as_00_and_two_traceparents_are_none() {
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-adds";
        assert!(TraceContext::from_headers(&headers(&[(&TRACEPARENT, later)])).continued());
        let two = headers(&[(&TRACEPARENT, VALID), (&TRACEPARENT, VALID)]);
        assert!(!TraceContext::from_headers(&two).continued());
    }

    #[test]
    fn tracestate_passes_when_well_formed_and_short() {
        let with = |state: &[&str]| {
            let mut pairs = vec![(&TRACEPARENT, VALID)];
            pairs.extend(state.iter().map(|s| (&TRACESTATE, *s)));
            TraceContext::from_headers(&headers(&pairs))
                .tracestate()
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            with(&["rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"]).as_deref(),
            Some("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE")
        );
        assert_eq!(
            with(&["rojo=1", "tenant@vendor=x"]).as_deref(),
            Some("rojo=1,tenant@vendor=x")
        );
        for bad in [
            "Rojo=1",
            "rojo",
            "rojo=a,b",
            "rojo=1,rojo=2",
            "rojo=a\tb",
            "=1",
        ] {
            assert_eq!(with(&[bad]), None, "{bad:?} passed");
        }
        let long = format!("a={}", "x".repeat(MAX_TRACESTATE));
        assert_eq!(with(&[&long]), None);
        let many = (0..33)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(with(&[&many]), None);
    }
}
