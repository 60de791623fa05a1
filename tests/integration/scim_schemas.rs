//! Every resource we return agrees with what /Schemas and /ResourceTypes publish (RFC 7643 §7,
//! §8.7): each attribute is declared, with its type, multi-valuedness and sub-attributes; nothing
//! `returned: never` appears; everything `returned: always` does; `schemas` lists exactly the
//! schemas the resource uses.

use std::collections::HashMap;

use serde_json::{json, Value};
use shared::org::Reactivation;

use crate::scim::{Scim, CUSTOM, ENTERPRISE, GROUP, PATCH_OP, USER};

fn declared<'a>(attrs: &'a Value, name: &str) -> Option<&'a Value> {
    attrs.as_array()?.iter().find(|a| {
        a["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

fn check_value(where_: &str, def: &Value, v: &Value) {
    let kind = def["type"].as_str().unwrap();
    let ok = match kind {
        "string" | "reference" | "dateTime" | "binary" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64(),
        "decimal" => v.is_number(),
        "complex" => {
            let obj = v
                .as_object()
                .unwrap_or_else(|| panic!("{where_}: not an object: {v}"));
            for (k, sv) in obj {
                let sd = declared(&def["subAttributes"], k)
                    .unwrap_or_else(|| panic!("{where_}.{k} is not declared in /Schemas"));
                assert_ne!(sd["returned"], "never", "{where_}.{k} is returned: never");
                check_value(&format!("{where_}.{k}"), sd, sv);
            }
            true
        }
        other => panic!("{where_}: unknown type {other}"),
    };
    assert!(ok, "{where_}: {v} is not of type {kind}");
}

fn check_attrs(where_: &str, attrs: &Value, obj: &serde_json::Map<String, Value>, skip: &[&str]) {
    for (k, v) in obj {
        if skip.iter().any(|s| s.eq_ignore_ascii_case(k)) {
            continue;
        }
        let def = declared(attrs, k)
            .unwrap_or_else(|| panic!("{where_}: {k} is not declared in /Schemas"));
        assert_ne!(def["returned"], "never", "{where_}: {k} is returned: never");
        if def["multiValued"] == true {
            for (i, e) in v
                .as_array()
                .unwrap_or_else(|| panic!("{where_}.{k} is not a list"))
                .iter()
                .enumerate()
            {
                check_value(&format!("{where_}.{k}[{i}]"), def, e);
            }
        } else {
            check_value(&format!("{where_}.{k}"), def, v);
        }
    }
    for def in attrs.as_array().unwrap() {
        if def["returned"] == "always" {
            let n = def["name"].as_str().unwrap();
            assert!(
                obj.keys().any(|k| k.eq_ignore_ascii_case(n)),
                "{where_}: {n} is returned: always"
            );
        }
    }
}

/// Checks `r` against its resource type as published.
fn check_resource(r: &Value, types: &HashMap<String, Value>, schemas: &HashMap<String, Value>) {
    let rt = &types[r["meta"]["resourceType"]
        .as_str()
        .expect("meta.resourceType")];
    let core = rt["schema"].as_str().unwrap();
    let extensions: Vec<&str> = rt["schemaExtensions"]
        .as_array()
        .map(|a| a.iter().map(|e| e["schema"].as_str().unwrap()).collect())
        .unwrap_or_default();
    let obj = r.as_object().unwrap();
    let listed: Vec<&str> = r["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(listed.contains(&core), "{r}");
    for s in &listed {
        assert!(
            *s == core || extensions.contains(s),
            "{s} is not an extension of {core}"
        );
        assert!(
            *s == core || obj.contains_key(*s),
            "{s} is listed but absent: {r}"
        );
    }
    let mut skip = vec!["schemas", "meta"];
    skip.extend(extensions.iter().copied());
    check_attrs(core, &schemas[core]["attributes"], obj, &skip);
    for ext in &extensions {
        if let Some(e) = obj.get(*ext) {
            assert!(
                listed.contains(ext),
                "{ext} present but not in schemas: {r}"
            );
            // Our own extension holds whatever attributes the admin maps (docs/scim.md).
            if *ext != CUSTOM {
                check_attrs(
                    ext,
                    &schemas[*ext]["attributes"],
                    e.as_object().unwrap(),
                    &[],
                );
            }
        }
    }
}

#[tokio::test]
async fn every_resource_returned_agrees_with_the_published_schemas() {
    let s = Scim::new(Reactivation::Restore).await;
    let list = |v: Value| -> HashMap<String, Value> {
        v["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_str().unwrap().to_string(), r.clone()))
            .collect()
    };
    let schemas = list(s.call("GET", "/Schemas", None).await.body);
    let types = list(s.call("GET", "/ResourceTypes", None).await.body);
    assert!(
        schemas.contains_key(USER)
            && schemas.contains_key(GROUP)
            && schemas.contains_key(ENTERPRISE)
    );

    let full_user = json!({
        "schemas": [USER, ENTERPRISE, CUSTOM],
        "userName": "schema.walk@example.com",
        "externalId": "ext-1",
        "name": {"formatted": "S W", "givenName": "S", "familyName": "W", "middleName": "M", "honorificPrefix": "Dr", "honorificSuffix": "III"},
        "displayName": "S W", "nickName": "sw", "profileUrl": "https://example.com/sw", "title": "Eng",
        "userType": "Employee", "preferredLanguage": "en", "locale": "en-US", "timezone": "Europe/Paris",
        "active": true, "password": "never-returned",
        "emails": [{"value": "schema.walk@example.com", "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        "ims": [{"value": "sw", "type": "xmpp"}],
        "photos": [{"value": "https://example.com/sw.png", "type": "photo"}],
        "addresses": [{"streetAddress": "1 Main St", "locality": "Town", "postalCode": "1000", "country": "FR", "type": "work"}],
        "entitlements": [{"value": "e1"}], "roles": [{"value": "r1"}], "x509Certificates": [{"value": "MIIB"}],
        ENTERPRISE: {"employeeNumber": "7", "costCenter": "c", "organization": "o", "division": "d", "department": "R&D", "manager": "m-1"},
        CUSTOM: {"costCenterCode": "CC-9"}
    });
    let created = s.call("POST", "/Users", Some(full_user)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let uid = created.body["id"].as_str().unwrap().to_string();
    let group = s.create_group("Schema walkers", &[&uid]).await;
    let gid = group["id"].as_str().unwrap().to_string();
    let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Lead"}]});

    let mut answers = vec![created.body, group];
    answers.push(s.call("GET", &format!("/Users/{uid}"), None).await.body);
    answers.push(
        s.call("PATCH", &format!("/Users/{uid}"), Some(patch))
            .await
            .body,
    );
    answers.push(s.call("GET", &format!("/Groups/{gid}"), None).await.body);
    for page in [
        "/Users?count=10",
        "/Groups?count=10",
        "/Users?filter=userName%20eq%20%22schema.walk%40example.com%22",
    ] {
        let l = s.call("GET", page, None).await.body;
        answers.extend(l["Resources"].as_array().unwrap().iter().cloned());
    }
    assert!(answers.len() >= 8);
    for r in &answers {
        check_resource(r, &types, &schemas);
        assert!(!r.to_string().contains("never-returned"), "{r}");
    }
}
