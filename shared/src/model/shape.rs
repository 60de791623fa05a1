//! The JSON shapes of the management API (docs/api.md). One user shape whether SCIM pushed the
//! user or the first sign-in created it: both keep the same SCIM-shaped attribute document
//! (`saml::attributes` writes what SCIM would, RFC 7643 §4.1).

use serde_json::{json, Map, Value};

use super::{Group, User};

/// The SCIM enterprise extension (RFC 7643 §4.3), as `saml::attributes` writes it.
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

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
