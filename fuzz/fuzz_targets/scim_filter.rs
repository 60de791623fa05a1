//! Fuzzes the SCIM filter parser (RFC 7644 §3.4.2.2) and, for filters that parse, evaluation
//! against a user resource. Bad input must come back as an error string, never a panic or a hang.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use shared::scim::filter;

fn resource() -> &'static Value {
    static R: OnceLock<Value> = OnceLock::new();
    R.get_or_init(|| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223", "externalId": "00u1", "userName": "ada@example.com", "active": true,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "meta": {"resourceType": "User", "created": "2026-01-15T12:00:00Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engines"}
        })
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(f) = filter::parse(s) {
            let _ = f.matches(resource());
        }
    }
});
