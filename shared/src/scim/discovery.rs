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

fn attr(name: &str, kind: &str, multi: bool, required: bool, extra: Value) -> Value {
    let mut a = json!({
        "name": name, "type": kind, "multiValued": multi, "required": required,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none"
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

pub fn schemas(base: &str) -> Vec<Value> {
    let schema = |id: &str, name: &str, attributes: Vec<Value>| {
        json!({
            "schemas": [SCHEMA_SCHEMA], "id": id, "name": name, "attributes": attributes,
            "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") }
        })
    };
    let multi = |name: &str| {
        attr(
            name,
            "complex",
            true,
            false,
            json!({ "subAttributes": [sub("value"), sub("display"), sub("type"), attr("primary", "boolean", false, false, json!({}))] }),
        )
    };
    vec![
        schema(
            SCHEMA_USER,
            "User",
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
                sub("profileUrl"),
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
                multi("emails"),
                multi("phoneNumbers"),
                attr(
                    "groups",
                    "complex",
                    true,
                    false,
                    json!({ "mutability": "readOnly", "subAttributes": [sub("value"), sub("display")] }),
                ),
            ],
        ),
        schema(
            SCHEMA_GROUP,
            "Group",
            vec![
                attr("displayName", "string", false, true, json!({})),
                attr(
                    "members",
                    "complex",
                    true,
                    false,
                    json!({ "subAttributes": [sub("value"), sub("display")] }),
                ),
            ],
        ),
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
                    json!({ "subAttributes": [sub("value"), sub("displayName")] }),
                ),
            ],
        ),
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
