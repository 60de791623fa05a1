//! Profile attributes from the assertion, through the organization's mapping, into the user's
//! SCIM-shaped attribute document (the same shape SCIM provisioning writes, RFC 7643 §4.1/§4.3).
//!
//! A mapping entry is `SAML attribute name → target`. Targets: `givenName`, `familyName`,
//! `displayName`, `email`, `title`, `department`; any other target is a custom attribute, kept
//! under `customAttributes.<target>`. Attributes the mapping does not name are ignored.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Okta's default attribute statements (kept with the organization that stores the mapping).
pub use crate::model::org::default_attribute_mapping as default_mapping;

/// Sets `doc[path[0]][path[1]]... = value`, turning non-objects on the way into objects.
fn set(doc: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = doc;
    for key in parents {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(m) = cur else {
            return;
        };
        cur = m
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    if let Value::Object(m) = cur {
        m.insert(last.to_string(), value);
    }
}

/// Writes the mapped attributes into `doc`; returns whether anything changed.
pub fn apply(
    doc: &mut Value,
    assertion: &[(String, Vec<String>)],
    mapping: &BTreeMap<String, String>,
) -> bool {
    let before = doc.clone();
    for (name, values) in assertion {
        let Some(target) = mapping.get(name) else {
            continue;
        };
        // Empty values are "not sent", not "erase": Okta sends empty elements for unset fields.
        let Some(first) = values.iter().find(|v| !v.is_empty()).cloned() else {
            continue;
        };
        match target.as_str() {
            "givenName" => set(doc, &["name", "givenName"], json!(first)),
            "familyName" => set(doc, &["name", "familyName"], json!(first)),
            "displayName" => set(doc, &["displayName"], json!(first)),
            "title" => set(doc, &["title"], json!(first)),
            "department" => set(doc, &[ENTERPRISE, "department"], json!(first)),
            "email" => set(
                doc,
                &["emails"],
                json!([{ "value": first, "type": "work", "primary": true }]),
            ),
            custom => {
                let value = if values.len() > 1 {
                    json!(values)
                } else {
                    json!(first)
                };
                set(doc, &["customAttributes", custom], value)
            }
        }
    }
    *doc != before
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn okta_default_attributes_land_in_the_scim_profile() {
        let mut doc = json!({});
        let changed = apply(
            &mut doc,
            &attrs(&[
                ("firstName", &["Ada"]),
                ("lastName", &["Lovelace"]),
                ("email", &["ada@example.com"]),
                ("title", &["Analyst"]),
                ("department", &["Engines"]),
                ("unmapped", &["x"]),
            ]),
            &default_mapping(),
        );
        assert!(changed);
        assert_eq!(doc["name"]["givenName"], "Ada");
        assert_eq!(doc["name"]["familyName"], "Lovelace");
        assert_eq!(doc["emails"][0]["value"], "ada@example.com");
        assert_eq!(doc["title"], "Analyst");
        assert_eq!(doc[ENTERPRISE]["department"], "Engines");
        assert!(doc.get("unmapped").is_none());
    }

    #[test]
    fn custom_attribute_names_become_custom_attributes() {
        let mut mapping = default_mapping();
        mapping.insert("costCenter".into(), "costCenter".into());
        let mut doc = json!({"userName": "x"});
        apply(&mut doc, &attrs(&[("costCenter", &["42"])]), &mapping);
        assert_eq!(doc["customAttributes"]["costCenter"], "42");
        assert_eq!(doc["userName"], "x");
    }

    #[test]
    fn unchanged_profiles_report_no_change() {
        let mut doc = json!({"name": {"givenName": "Ada"}});
        assert!(!apply(
            &mut doc,
            &attrs(&[("firstName", &["Ada"]), ("lastName", &[""])]),
            &default_mapping()
        ));
    }
}

#[cfg(test)]
mod api_shape_tests {
    use super::ENTERPRISE;
    use crate::model::shape::user_json;
    use crate::model::User;
    use serde_json::{json, Value};

    fn user(attributes: Value) -> User {
        User {
            id: "u1".into(),
            user_name: "ada@example.com".into(),
            external_id: Some("00u1".into()),
            active: true,
            attributes,
            created_at: 0,
            updated_at: 60,
            version: 1,
        }
    }

    #[test]
    fn scim_pushed_and_first_login_users_have_the_same_shape() {
        let scim = user(json!({
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "other@example.com"}, {"value": "ada@example.com", "primary": true}],
            "title": "Engineer",
            ENTERPRISE: {"department": "R&D"},
        }));
        let mut first_login = json!({});
        super::apply(
            &mut first_login,
            &[
                ("firstName".into(), vec!["Ada".into()]),
                ("lastName".into(), vec!["Lovelace".into()]),
                ("email".into(), vec!["ada@example.com".into()]),
                ("title".into(), vec!["Engineer".into()]),
                ("department".into(), vec!["R&D".into()]),
            ],
            &super::default_mapping(),
        );
        let a = user_json(&scim);
        let b = user_json(&user(first_login));
        assert_eq!(a, b);
        assert_eq!(a["email"], "ada@example.com");
        assert_eq!(a["attributes"]["department"], "R&D");
        assert_eq!(a["updated"], "1970-01-01T00:01:00Z");
    }
}
