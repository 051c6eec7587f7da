//! CustomerTenantID arrives in the path of every customer operation and goes into Partner Center's path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use partner_center_gateway::domain::CustomerTenantId;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(id) = CustomerTenantId::parse(raw) else {
        return;
    };
    // Accepted means: the very GUID the maker gave, in the one form Partner Center is sent.
    let canonical = id.to_string();
    assert_eq!(canonical, raw.to_ascii_lowercase());
    assert_eq!(canonical.len(), 36);
    for (i, b) in canonical.bytes().enumerate() {
        match i {
            8 | 13 | 18 | 23 => assert_eq!(b, b'-', "{canonical}"),
            _ => assert!(matches!(b, b'0'..=b'9' | b'a'..=b'f'), "{canonical}"),
        }
    }
    assert_eq!(CustomerTenantId::parse(&canonical).unwrap(), id);
});
