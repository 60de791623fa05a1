//! Discovery endpoints (RFC 7644 §4): what Okta reads to learn what we support.

use serde_json::{json, Value};

use super::*;

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SPC],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with the organization's SCIM bearer token (ssoctl org rotate-scim-token)",
            "primary": true
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig") }
    })
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [SCHEMA_RESOURCE_TYPE],
            "id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
            "schema": SCHEMA_USER,
            "schemaExtensions": [
                { "schema": SCHEMA_ENTERPRISE_USER, "required": false },
                { "schema": SCHEMA_CUSTOM_USER, "required": false }
            ],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") }
        }),
        json!({
            "schemas": [SCHEMA_RESOURCE_TYPE],
            "id": "Group", "name": "Group", "endpoint": "/Groups", "description": "Group",
            "schema": SCHEMA_GROUP,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") }
        }),
    ]
}

/// One attribute definition (RFC 7643 §7). Defaults: single-valued, optional, readWrite,
/// returned by default, not unique, caseExact false (the RFC's defaults, §2.2).
fn attr(name: &str, kind: &str, multi: bool, required: bool, extra: Value) -> Value {
    let mut a = json!({
        "name": name, "type": kind, "multiValued": multi, "required": required,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": name,
    });
    if let (Some(a), Some(extra)) = (a.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            a.insert(k.clone(), v.clone());
        }
    }
    a
}

fn sub(name: &str) -> Value {
    attr(name, "string", false, false, json!({}))
}

fn with(mut a: Value, extra: Value) -> Value {
    if let (Some(a), Some(extra)) = (a.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            a.insert(k.clone(), v.clone());
        }
    }
    a
}

/// A multi-valued complex attribute with RFC 7643 §2.4's sub-attributes (`value`, `display`,
/// `type`, `primary`), plus `extra` ones.
fn multi(name: &str, types: &[&str], extra: Vec<Value>) -> Value {
    let mut subs = vec![
        sub("value"),
        sub("display"),
        with(sub("type"), json!({ "canonicalValues": types })),
        attr("primary", "boolean", false, false, json!({})),
    ];
    subs.extend(extra);
    attr(
        name,
        "complex",
        true,
        false,
        json!({ "subAttributes": subs }),
    )
}

/// The User schema: every core attribute we store (`user.rs`'s CORE and TOP), RFC 7643 §4.1 and
/// §8.7.1.
fn user_attributes() -> Vec<Value> {
    let read_only = json!({ "mutability": "readOnly" });
    vec![
        attr(
            "userName",
            "string",
            false,
            true,
            json!({ "uniqueness": "server" }),
        ),
        attr(
            "name",
            "complex",
            false,
            false,
            json!({ "subAttributes": [sub("formatted"), sub("familyName"), sub("givenName"), sub("middleName"), sub("honorificPrefix"), sub("honorificSuffix")] }),
        ),
        sub("displayName"),
        sub("nickName"),
        attr(
            "profileUrl",
            "reference",
            false,
            false,
            json!({ "referenceTypes": ["external"] }),
        ),
        sub("title"),
        sub("userType"),
        sub("preferredLanguage"),
        sub("locale"),
        sub("timezone"),
        attr("active", "boolean", false, false, json!({})),
        attr(
            "password",
            "string",
            false,
            false,
            json!({ "mutability": "writeOnly", "returned": "never" }),
        ),
        multi("emails", &["work", "home", "other"], vec![]),
        multi(
            "phoneNumbers",
            &["work", "home", "mobile", "fax", "pager", "other"],
            vec![],
        ),
        multi(
            "ims",
            &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            vec![],
        ),
        multi("photos", &["photo", "thumbnail"], vec![]),
        multi(
            "addresses",
            &["work", "home", "other"],
            vec![
                sub("formatted"),
                sub("streetAddress"),
                sub("locality"),
                sub("region"),
                sub("postalCode"),
                sub("country"),
            ],
        ),
        multi("entitlements", &[], vec![]),
        multi("roles", &[], vec![]),
        multi("x509Certificates", &[], vec![]),
        attr(
            "groups",
            "complex",
            true,
            false,
            json!({ "mutability": "readOnly", "subAttributes": [
                with(sub("value"), read_only.clone()),
                with(attr("$ref", "reference", false, false, json!({ "referenceTypes": ["Group"] })), read_only.clone()),
                with(sub("display"), read_only.clone()),
                with(sub("type"), json!({ "mutability": "readOnly", "canonicalValues": ["direct"] })),
            ] }),
        ),
    ]
}

/// Attributes of every resource (RFC 7643 §3.1), listed in each resource schema so that a client
/// checking a response against /Schemas finds them: `id` is always returned, all are readOnly
/// except `externalId`.
fn common_attributes() -> Vec<Value> {
    vec![
        attr(
            "id",
            "string",
            false,
            false,
            json!({ "mutability": "readOnly", "returned": "always", "uniqueness": "server", "caseExact": true }),
        ),
        attr(
            "externalId",
            "string",
            false,
            false,
            json!({ "caseExact": true }),
        ),
    ]
}

pub fn schemas(base: &str) -> Vec<Value> {
    let schema = |id: &str, name: &str, attributes: Vec<Value>| {
        json!({
            "schemas": [SCHEMA_SCHEMA], "id": id, "name": name, "description": name, "attributes": attributes,
            "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") }
        })
    };
    let mut user = common_attributes();
    user.extend(user_attributes());
    let mut group = common_attributes();
    group.extend([
        attr("displayName", "string", false, true, json!({})),
        // RFC 7643 §4.2 / §8.7.1: members are Users only here; a member of type Group is refused
        // with 400 (nested groups are not supported, docs/scim.md).
        attr(
            "members",
            "complex",
            true,
            false,
            json!({ "subAttributes": [
                with(sub("value"), json!({ "mutability": "immutable", "caseExact": true })),
                attr("$ref", "reference", false, false, json!({ "mutability": "immutable", "referenceTypes": ["User"] })),
                with(sub("display"), json!({ "mutability": "readOnly" })),
                with(sub("type"), json!({ "mutability": "immutable", "canonicalValues": ["User"] })),
            ] }),
        ),
    ]);
    vec![
        schema(SCHEMA_USER, "User", user),
        schema(SCHEMA_GROUP, "Group", group),
        schema(
            SCHEMA_ENTERPRISE_USER,
            "EnterpriseUser",
            vec![
                sub("employeeNumber"),
                sub("costCenter"),
                sub("organization"),
                sub("division"),
                sub("department"),
                attr(
                    "manager",
                    "complex",
                    false,
                    false,
                    json!({ "subAttributes": [
                        sub("value"),
                        attr("$ref", "reference", false, false, json!({ "referenceTypes": ["User"] })),
                        with(sub("displayName"), json!({ "mutability": "readOnly" })),
                    ] }),
                ),
            ],
        ),
        // Attributes an Okta admin maps are strings of any name (docs/okta-setup.md): the schema
        // lists none, and every one is kept.
        schema(SCHEMA_CUSTOM_USER, "CustomUser", vec![]),
    ]
}

/// A ListResponse of everything (discovery lists are small and unpaged).
pub fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [SCHEMA_LIST],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_provider_config_advertises_bearer_tokens_patch_and_filter_without_bulk() {
        let spc = service_provider_config("https://x/orgs/acme/scim/v2");
        assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(spc["patch"]["supported"], true);
        assert_eq!(spc["bulk"]["supported"], false);
        assert_eq!(spc["filter"]["maxResults"], MAX_RESULTS);
    }

    #[test]
    fn every_resource_type_schema_is_served_by_schemas() {
        let base = "https://x/orgs/acme/scim/v2";
        let ids: Vec<String> = schemas(base)
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        for rt in resource_types(base) {
            assert!(ids.contains(&rt["schema"].as_str().unwrap().to_string()));
            for ext in rt["schemaExtensions"].as_array().into_iter().flatten() {
                assert!(ids.contains(&ext["schema"].as_str().unwrap().to_string()));
            }
        }
    }

    #[test]
    fn list_counts_are_integers() {
        let l = list(resource_types("b"));
        assert_eq!(l["totalResults"], 2);
        assert!(l["itemsPerPage"].is_u64());
    }
}
