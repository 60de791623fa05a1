//! Fuzzes PATCH (RFC 7644 §3.5.2): the PatchOp message parser, then every operation applied to a
//! user and to a group resource. Bad input must come back as a `ScimError`, never a panic or a
//! hang. Seed with the PATCH bodies Okta sends (fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use shared::scim::filter::AttrPath;
use shared::scim::patch;
use shared::scim::ScimResult;

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223", "userName": "ada@example.com", "active": true,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "ada@example.com", "type": "work", "primary": true},
                   {"value": "ada@home.example", "type": "home"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engines"}
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba", "displayName": "Engineering",
        "members": [{"value": "2819c223", "display": "Ada"}, {"value": "902c246b"}]
    })
}

fn allow_all(_: &AttrPath) -> ScimResult<()> {
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(ops) = patch::parse(&body) else {
        return;
    };
    for mut resource in [user(), group()] {
        for op in &ops {
            if patch::apply(&mut resource, op, &allow_all).is_err() {
                break;
            }
        }
    }
});
