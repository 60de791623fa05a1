//! The SCIM User resource (RFC 7643 §4.1, enterprise extension §4.3, our custom extension) mapped
//! to and from the store's [`User`]. `password` is dropped on the way in: we never sync passwords.

use serde_json::{json, Map, Value};

use super::filter::AttrPath;
use super::user_name::UserName;
use super::*;
use crate::model::User;

/// Core attributes we keep, with their kind: `s` string, `c` complex, `m` multi-valued complex.
const CORE: &[(&str, char)] = &[
    ("name", 'c'),
    ("displayName", 's'),
    ("nickName", 's'),
    ("profileUrl", 's'),
    ("title", 's'),
    ("userType", 's'),
    ("preferredLanguage", 's'),
    ("locale", 's'),
    ("timezone", 's'),
    ("emails", 'm'),
    ("phoneNumbers", 'm'),
    ("ims", 'm'),
    ("photos", 'm'),
    ("addresses", 'm'),
    ("entitlements", 'm'),
    ("roles", 'm'),
    ("x509Certificates", 'm'),
];
/// Handled as store fields rather than in `attributes`.
const TOP: &[&str] = &["userName", "externalId", "active"];
/// readOnly (RFC 7643 §4.1 / §3.1): ignored in bodies, refused as PATCH targets.
const READ_ONLY: &[&str] = &["id", "meta", "groups"];
const ENTERPRISE: &[&str] = &[
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
];
pub const EXTENSIONS: &[&str] = &[SCHEMA_ENTERPRISE_USER, SCHEMA_CUSTOM_USER];

/// What a POST or PUT body (or a patched resource) says about a user.
#[derive(Clone, Debug, PartialEq)]
pub struct UserInput {
    pub user_name: UserName,
    pub external_id: Option<String>,
    pub active: bool,
    pub attributes: Value,
}

fn canonical<'a>(list: &[&'a str], name: &str) -> Option<&'a str> {
    list.iter().copied().find(|c| c.eq_ignore_ascii_case(name))
}

/// Whether a PATCH may target `path` on a User: unknown attributes are `invalidPath`, readOnly
/// ones `mutability` (RFC 7644 §3.5.2).
pub fn check_path(path: &AttrPath) -> ScimResult<()> {
    let name = path.name.as_str();
    match path.urn.as_deref() {
        Some(SCHEMA_ENTERPRISE_USER) => canonical(ENTERPRISE, name).map(|_| ()),
        // Custom attributes are whatever the Okta admin maps.
        Some(SCHEMA_CUSTOM_USER) => Some(()),
        Some(u) if u != SCHEMA_USER => None,
        // The whole extension object (a bare extension URN as the path).
        None if canonical(EXTENSIONS, name).is_some() => Some(()),
        _ if canonical(READ_ONLY, name).is_some() => {
            return Err(ScimError::new(
                ScimType::Mutability,
                format!("{name} is read-only"),
            ))
        }
        _ if name.eq_ignore_ascii_case("password") => Some(()),
        _ => canonical(TOP, name)
            .or_else(|| {
                CORE.iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(name))
                    .map(|(c, _)| *c)
            })
            .map(|_| ()),
    }
    .ok_or_else(|| {
        ScimError::new(
            ScimType::InvalidPath,
            format!("unknown User attribute {:?}", path.name),
        )
    })
}

fn bad(detail: String) -> ScimError {
    ScimError::new(ScimType::InvalidValue, detail)
}

/// Reads a User from a request body (POST, PUT) or a patched resource. readOnly attributes and
/// `password` are dropped; unknown attributes are ignored (RFC 7644 §3.3).
pub fn from_scim(body: &Value) -> ScimResult<UserInput> {
    read(body, None)
}

/// Like [`from_scim`], for a PUT or PATCH of a stored user: a userName equal to the stored one is
/// kept even if it was stored before the current rules, so Okta can still update (deactivate)
/// such a user; a changed userName must follow the rules.
pub fn from_scim_over(body: &Value, stored_user_name: &str) -> ScimResult<UserInput> {
    read(body, Some(stored_user_name))
}

/// Where a user whose `active` was removed by PATCH keeps that fact. RFC 7644 §3.5.2.2: a removed
/// single-valued attribute is unassigned. The store keeps `active` as a boolean, so the user is
/// stored inactive (an unassigned administrative status grants no access: sessions are ended and
/// sign-in refused, RFC 7643 §4.1.1 leaves its meaning to us) and this key, which no SCIM
/// attribute can have (`#` is not an ATTRNAME character, RFC 7644 §3.10), leaves `active` out of
/// the resource until a client assigns it again.
const ACTIVE_UNASSIGNED: &str = "#activeUnassigned";

/// Like [`from_scim_over`], for the resource a PATCH produced: an `active` the operations removed
/// is unassigned (see [`ACTIVE_UNASSIGNED`]), not defaulted to true as on a create.
pub fn from_patched(resource: &Value, stored_user_name: &str) -> ScimResult<UserInput> {
    let mut input = read(resource, Some(stored_user_name))?;
    if super::filter::get_ci(resource, "active").is_none() {
        input.active = false;
        if let Some(m) = input.attributes.as_object_mut() {
            m.insert(ACTIVE_UNASSIGNED.into(), Value::Bool(true));
        }
    }
    Ok(input)
}

fn parse_user_name(s: &str, stored: Option<&str>) -> ScimResult<UserName> {
    match UserName::parse(s) {
        Ok(n) => Ok(n),
        Err(_) if stored == Some(s) => Ok(UserName::stored(s)),
        Err(e) => Err(bad(e.to_string())),
    }
}

fn read(body: &Value, stored: Option<&str>) -> ScimResult<UserInput> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::new(ScimType::InvalidSyntax, "the body must be a JSON object"))?;
    let mut attributes = Map::new();
    let mut user_name = None;
    let mut external_id = None;
    let mut active = true;
    for (k, v) in obj {
        if let Some(t) = canonical(TOP, k) {
            match (t, v) {
                // Taken as sent or refused, never trimmed (`user_name.rs`).
                ("userName", Value::String(s)) => user_name = Some(parse_user_name(s, stored)?),
                ("externalId", Value::String(s)) => {
                    check_len("externalId", s, MAX_EXTERNAL_ID_BYTES)?;
                    external_id = Some(s.clone())
                }
                ("externalId", Value::Null) => {}
                ("active", Value::Bool(b)) => active = *b,
                // Some clients send booleans as strings ("True"): accept them, nothing else.
                ("active", Value::String(s)) if s.eq_ignore_ascii_case("true") => active = true,
                ("active", Value::String(s)) if s.eq_ignore_ascii_case("false") => active = false,
                _ => return Err(bad(format!("{t} has an invalid value"))),
            }
        } else if let Some((c, kind)) = CORE.iter().find(|(c, _)| c.eq_ignore_ascii_case(k)) {
            let ok = match (kind, v) {
                (_, Value::Null) => continue,
                ('s', Value::String(_)) | ('c', Value::Object(_)) => true,
                ('m', Value::Array(a)) => a.iter().all(Value::is_object),
                _ => false,
            };
            if !ok {
                return Err(bad(format!("{c} has an invalid value")));
            }
            attributes.insert(c.to_string(), v.clone());
        } else if let Some(urn) = canonical(EXTENSIONS, k) {
            let ext = v
                .as_object()
                .ok_or_else(|| bad(format!("{urn} must be an object")))?;
            let mut kept = Map::new();
            for (ek, ev) in ext {
                // Some clients repeat `schemas` inside an extension's object: not an attribute.
                if ev.is_null() || ek.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                let name = if urn == SCHEMA_ENTERPRISE_USER {
                    canonical(ENTERPRISE, ek)
                        .ok_or_else(|| bad(format!("unknown enterprise attribute {ek:?}")))?
                } else {
                    ek.as_str()
                };
                let value = match (urn, name, ev) {
                    // RFC 7643 §4.3: manager is complex (`value` = the manager's id). Entra sends
                    // the id as a plain string (its "Known issues" page): stored as {"value"}.
                    (SCHEMA_ENTERPRISE_USER, "manager", Value::String(id)) => {
                        json!({ "value": id })
                    }
                    (SCHEMA_ENTERPRISE_USER, "manager", Value::Object(_)) => ev.clone(),
                    (SCHEMA_ENTERPRISE_USER, "manager", _) => {
                        return Err(bad("manager must be an object or an id".into()))
                    }
                    (SCHEMA_ENTERPRISE_USER, _, Value::String(_)) | (SCHEMA_CUSTOM_USER, _, _) => {
                        ev.clone()
                    }
                    _ => return Err(bad(format!("{name} must be a string"))),
                };
                kept.insert(name.to_string(), value);
            }
            // Kept even when empty: the client sent the extension, so the resource has it
            // (RFC 7643 §3: `schemas` lists the extensions a resource carries).
            attributes.insert(urn.to_string(), Value::Object(kept));
        }
        // password (never stored), schemas, readOnly and unknown attributes are dropped.
    }
    let user_name = user_name
        .ok_or_else(|| bad("userName is required and must be a non-empty string".into()))?;
    Ok(UserInput {
        user_name,
        external_id,
        active,
        attributes: Value::Object(attributes),
    })
}

/// The resource without `groups` and `meta`: what PATCH operates on.
pub fn patchable(u: &User) -> Value {
    let mut v = match &u.attributes {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    v.insert("userName".into(), json!(u.user_name));
    if v.remove(ACTIVE_UNASSIGNED).is_none() {
        v.insert("active".into(), json!(u.active));
    }
    if let Some(e) = &u.external_id {
        v.insert("externalId".into(), json!(e));
    }
    Value::Object(v)
}

/// The full SCIM representation. `groups` are (id, displayName) pairs; `None` leaves the
/// attribute out (unfiltered list pages, see docs/scim.md).
pub fn to_scim(u: &User, groups: Option<&[(String, String)]>, base: &str) -> Value {
    let mut v = patchable(u);
    let mut schemas = vec![json!(SCHEMA_USER)];
    for ext in EXTENSIONS {
        if v.get(*ext).is_some() {
            schemas.push(json!(ext));
        }
    }
    if let Some(m) = v.as_object_mut() {
        m.insert("schemas".into(), Value::Array(schemas));
        m.insert("id".into(), json!(u.id));
        if let Some(gs) = groups {
            let list: Vec<Value> = gs
                .iter()
                .map(|(id, name)| {
                    json!({"value": id, "display": name, "$ref": format!("{base}/Groups/{id}"), "type": "direct"})
                })
                .collect();
            m.insert("groups".into(), Value::Array(list));
        }
        m.insert(
            "meta".into(),
            json!({
                "resourceType": "User",
                "created": timestamp(u.created_at),
                "lastModified": timestamp(u.updated_at),
                "location": format!("{base}/Users/{}", u.id),
                "version": etag(u.version),
            }),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn okta_body() -> Value {
        json!({
            "schemas": [SCHEMA_USER, SCHEMA_ENTERPRISE_USER],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": true,
            "title": "Engineer",
            SCHEMA_ENTERPRISE_USER: {"department": "R&D", "employeeNumber": "42", "manager": {"value": "m1"}},
            SCHEMA_CUSTOM_USER: {"costCenterCode": "CC-9"}
        })
    }

    #[test]
    fn okta_create_body_is_read_without_its_password() {
        let u = from_scim(&okta_body()).unwrap();
        assert_eq!(u.user_name.as_str(), "test.user@okta.local");
        assert_eq!(u.external_id.as_deref(), Some("00ujl29u0le5T6Aj10h7"));
        assert!(u.active);
        assert!(!u.attributes.to_string().contains("1mz050nq"));
        assert!(u.attributes.get("groups").is_none());
        assert_eq!(u.attributes[SCHEMA_ENTERPRISE_USER]["department"], "R&D");
        assert_eq!(u.attributes[SCHEMA_CUSTOM_USER]["costCenterCode"], "CC-9");
    }

    #[test]
    fn the_resource_round_trips_extensions_and_never_has_a_password() {
        let input = from_scim(&okta_body()).unwrap();
        let user = User {
            id: "u1".into(),
            user_name: input.user_name.into_string(),
            external_id: input.external_id,
            active: input.active,
            attributes: input.attributes,
            created_at: 0,
            updated_at: 60,
            version: 3,
        };
        let r = to_scim(&user, Some(&[("g1".into(), "Eng".into())]), "https://b");
        assert_eq!(r["id"], "u1");
        assert_eq!(r["name"]["givenName"], "Test");
        assert_eq!(r["title"], "Engineer");
        assert_eq!(r[SCHEMA_ENTERPRISE_USER]["manager"]["value"], "m1");
        assert_eq!(r["groups"][0]["display"], "Eng");
        assert_eq!(r["meta"]["version"], "W/\"3\"");
        assert_eq!(r["meta"]["lastModified"], "1970-01-01T00:01:00Z");
        assert!(r["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(SCHEMA_CUSTOM_USER)));
        assert!(r.get("password").is_none());
        assert_eq!(from_scim(&r).unwrap().attributes, user.attributes);
    }

    #[test]
    fn missing_or_mistyped_attributes_are_invalid_values() {
        for body in [
            json!({"name": {}}),
            json!({"userName": ""}),
            json!({"userName": 5}),
            json!({"userName": "a", "active": "maybe"}),
            json!({"userName": "a", "emails": "a@b"}),
            json!({"userName": "a", "name": "x"}),
            json!({"userName": "a", SCHEMA_ENTERPRISE_USER: {"nope": 1}}),
        ] {
            assert_eq!(
                from_scim(&body).unwrap_err().scim_type,
                "invalidValue",
                "{body}"
            );
        }
        assert_eq!(
            from_scim(&json!([1])).unwrap_err().scim_type,
            "invalidSyntax"
        );
    }

    #[test]
    fn an_entra_manager_sent_as_a_plain_id_is_stored_as_a_complex_value() {
        let body = json!({"userName": "a@b", SCHEMA_ENTERPRISE_USER: {"manager": "m-42"}});
        let u = from_scim(&body).unwrap();
        assert_eq!(
            u.attributes[SCHEMA_ENTERPRISE_USER]["manager"],
            json!({"value": "m-42"})
        );
        let body = json!({"userName": "a@b", SCHEMA_ENTERPRISE_USER: {"manager": 7}});
        assert_eq!(from_scim(&body).unwrap_err().scim_type, "invalidValue");
    }

    #[test]
    fn a_patch_that_removes_active_leaves_it_unassigned_and_the_user_without_access() {
        let input = from_patched(&json!({"userName": "a@b"}), "a@b").unwrap();
        assert!(!input.active);
        let user = User {
            id: "u1".into(),
            user_name: "a@b".into(),
            external_id: None,
            active: input.active,
            attributes: input.attributes,
            created_at: 0,
            updated_at: 0,
            version: 1,
        };
        let r = to_scim(&user, None, "https://b");
        assert!(r.get("active").is_none(), "{r}");
        assert!(!r.to_string().contains('#'), "{r}");
        // Assigned again, it is an ordinary attribute.
        let mut p = patchable(&user);
        p["active"] = json!(true);
        let again = from_patched(&p, "a@b").unwrap();
        assert!(again.active && again.attributes.as_object().unwrap().is_empty());
    }

    #[test]
    fn patch_targets_are_checked_against_the_schema() {
        let p = |s: &str| super::super::filter::parse_attr_path(s).unwrap();
        assert!(check_path(&p("name.givenName")).is_ok());
        assert!(check_path(&p(&format!("{SCHEMA_ENTERPRISE_USER}:department"))).is_ok());
        assert!(check_path(&p(&format!("{SCHEMA_CUSTOM_USER}:anything"))).is_ok());
        let whole = super::super::path::parse(SCHEMA_ENTERPRISE_USER)
            .unwrap()
            .attr;
        assert!(check_path(&whole).is_ok());
        assert_eq!(
            check_path(&p("favoriteColor")).unwrap_err().scim_type,
            "invalidPath"
        );
        assert_eq!(
            check_path(&p("groups")).unwrap_err().scim_type,
            "mutability"
        );
        assert_eq!(check_path(&p("id")).unwrap_err().scim_type, "mutability");
    }
}
