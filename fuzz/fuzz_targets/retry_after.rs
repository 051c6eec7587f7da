//! Retry-After comes from Partner Center (or whatever answers in its place) and decides how long a call waits.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use partner_center_gateway::upstream::retry::parse_retry_after;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_retry_after(raw, SystemTime::now());
    // Delay-seconds of up to ten digits always parse, to exactly that many seconds.
    let trimmed = raw.trim();
    if !trimmed.is_empty() && trimmed.len() <= 10 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        assert_eq!(
            parsed,
            Some(Duration::from_secs(trimmed.parse().unwrap())),
            "{raw:?}"
        );
    }
});
