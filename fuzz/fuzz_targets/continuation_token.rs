//! ContinuationToken comes back from a maker's nextLink and is forwarded as the MS-ContinuationToken header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use partner_center_gateway::domain::ContinuationToken;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(token) = ContinuationToken::parse(raw) else {
        return;
    };
    // Accepted means: forwarded unchanged, and a header value that cannot split or smuggle a header.
    assert_eq!(token.as_str(), raw);
    assert!(
        http::HeaderValue::from_str(token.as_str()).is_ok(),
        "{raw:?}"
    );
    assert!(!raw.contains(['\r', '\n', ' ', '\t']), "{raw:?}");
});
