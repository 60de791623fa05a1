//! The JSON shapes of the management API (docs/api.md). One user shape whether SCIM pushed the
//! user or the first sign-in created it: both keep the same SCIM-shaped attribute document
//! (`saml::attributes` writes what SCIM would, RFC 7643 §4.1).

use serde_json::{json, Map, Value};

use crate::saml::attributes::ENTERPRISE;
use crate::store::{Group, User};

/// RFC 3339 UTC, as every time in this API.
pub fn rfc3339(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The primary email (RFC 7643 §4.1.2: `primary: true`, else the first).
pub fn primary_email(u: &User) -> Option<String> {
    let emails = u.attributes.get("emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e["primary"] == json!(true))
        .or_else(|| emails.first())
        .and_then(|e| e["value"].as_str())
        .map(str::to_string)
}

/// The org's mapped attributes: what is neither identity nor name (title, department,
/// customAttributes, ...), as stored.
fn mapped_attributes(u: &User) -> Value {
    let mut out = Map::new();
    if let Some(doc) = u.attributes.as_object() {
        for (k, v) in doc.iter().take(64) {
            match k.as_str() {
                "name" | "emails" | "displayName" | "userName" | "active" | "externalId"
                | "schemas" | "id" | "meta" | "groups" => {}
                ENTERPRISE => {
                    if let Some(ext) = v.as_object() {
                        for (ek, ev) in ext.iter().take(64) {
                            out.insert(ek.clone(), ev.clone());
                        }
                    }
                }
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

pub fn user_json(u: &User) -> Value {
    let name = &u.attributes["name"];
    json!({
        "id": u.id,
        "userName": u.user_name,
        "email": primary_email(u),
        "active": u.active,
        "name": {
            "givenName": name.get("givenName"),
            "familyName": name.get("familyName"),
            "formatted": name.get("formatted"),
        },
        "displayName": u.attributes.get("displayName"),
        "externalId": u.external_id,
        "attributes": mapped_attributes(u),
        "created": rfc3339(u.created_at),
        "updated": rfc3339(u.updated_at),
    })
}

pub fn group_json(g: &Group) -> Value {
    json!({
        "id": g.id,
        "displayName": g.display_name,
        "externalId": g.external_id,
        "created": rfc3339(g.created_at),
        "updated": rfc3339(g.updated_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        crate::saml::attributes::apply(
            &mut first_login,
            &[
                ("firstName".into(), vec!["Ada".into()]),
                ("lastName".into(), vec!["Lovelace".into()]),
                ("email".into(), vec!["ada@example.com".into()]),
                ("title".into(), vec!["Engineer".into()]),
                ("department".into(), vec!["R&D".into()]),
            ],
            &crate::saml::attributes::default_mapping(),
        );
        let a = user_json(&scim);
        let b = user_json(&user(first_login));
        assert_eq!(a, b);
        assert_eq!(a["email"], "ada@example.com");
        assert_eq!(a["attributes"]["department"], "R&D");
        assert_eq!(a["updated"], "1970-01-01T00:01:00Z");
    }
}
