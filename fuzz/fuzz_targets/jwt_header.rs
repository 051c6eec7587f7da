//! A bearer token's header is read (for its `kid`) before anything about the token is verified.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use partner_center_gateway::connection::bearer::parse_header;

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(data)
        && parse_header(raw).is_ok()
    {
        assert_eq!(
            raw.matches('.').count(),
            2,
            "a compact JWT has three parts: {raw:?}"
        );
    }
    // Random bytes are rarely base64 of JSON: feed them to the JSON side too, as the header of a token.
    let token = format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(data));
    if let Ok((alg, kid)) = parse_header(&token) {
        // What was read is what a header with those values says.
        let header = serde_json::json!({ "alg": alg, "kid": kid }).to_string();
        let again = format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header));
        assert_eq!(parse_header(&again).unwrap(), (alg, kid));
    }
});
