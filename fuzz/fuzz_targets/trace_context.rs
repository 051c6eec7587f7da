//! traceparent and tracestate come from any caller, before authentication, on every call.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use partner_center_gateway::trace_context::{MAX_TRACESTATE, TRACEPARENT, TRACESTATE, TraceContext};

fuzz_target!(|data: &[u8]| {
    // The first line is the traceparent, the rest the tracestate, each only if it is a header value at all.
    let (parent, state) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(parent) {
        headers.insert(TRACEPARENT.clone(), value);
    }
    if let Ok(value) = HeaderValue::from_bytes(state) {
        headers.insert(TRACESTATE.clone(), value);
    }
    let context = TraceContext::from_headers(&headers);
    // Whatever came in, what goes out is a valid version-00 traceparent with non-zero IDs.
    let sent = context.traceparent();
    let sent = sent.to_str().unwrap();
    let parts: Vec<_> = sent.split('-').collect();
    assert_eq!(parts.len(), 4, "{sent}");
    assert_eq!(parts[0], "00");
    assert!(parts[1].len() == 32 && parts[1] != "0".repeat(32), "{sent}");
    assert!(parts[2].len() == 16 && parts[2] != "0".repeat(16), "{sent}");
    assert_eq!(parts[3].len(), 2);
    // A continued trace keeps the caller's trace-id; a tracestate passes only with one, and short.
    if context.continued() {
        let caller = std::str::from_utf8(parent).unwrap().trim_matches([' ', '\t']);
        assert_eq!(&caller[3..35], parts[1]);
    }
    if let Some(state) = context.tracestate() {
        assert!(context.continued());
        assert!(state.len() <= MAX_TRACESTATE);
    }
});
