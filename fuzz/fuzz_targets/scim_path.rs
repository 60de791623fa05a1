//! Fuzzes the SCIM PATCH path parser (RFC 7644 §3.5.2: `attrPath / valuePath [subAttr]`).
//! Bad input must come back as an error string, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::scim::path;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = path::parse(s);
    }
});
