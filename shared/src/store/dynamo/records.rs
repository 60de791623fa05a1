//! The attributes of user and group items, mapped with serde_dynamo (as `orgs.rs` maps orgs).
//!
//! The attribute names and types are the ones the hand-written mapping used (`id`, `user_name`,
//! `external_id`, `active`, `doc`, `created_at`, `updated_at`, `version`; `display_name` for
//! groups), so items stored before this mapping read unchanged and no migration is needed
//! (docs/operations.md, "Upgrading"); the tests below hold the old shape as it was written. Keys,
//! index keys and `type` are added around the record by `users.rs` / `groups.rs`; reading ignores
//! them.

use serde::{Deserialize, Serialize};

use super::Item;
use crate::model::{Group, User};
use crate::store::{StoreError, StoreResult};

/// A user's own attributes. `doc` stays JSON text, not a DynamoDB map: a map would change the
/// stored shape, and DynamoDB caps map nesting at 32 levels where a SCIM document has no cap of
/// its own (the item's 400 KB limit still holds).
#[derive(Serialize, Deserialize)]
struct UserRecord {
    id: String,
    user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    active: bool,
    #[serde(with = "json_text")]
    doc: serde_json::Value,
    created_at: i64,
    updated_at: i64,
    version: u64,
}

/// A group's own attributes (its members are items of their own).
#[derive(Serialize, Deserialize)]
struct GroupRecord {
    id: String,
    display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    version: u64,
}

/// The attribute document as JSON text in a string attribute.
mod json_text {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &serde_json::Value, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<serde_json::Value, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(D::Error::custom)
    }
}

fn corrupt(e: serde_dynamo::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub(super) fn user_attributes(u: &User) -> StoreResult<Item> {
    let record = UserRecord {
        id: u.id.clone(),
        user_name: u.user_name.clone(),
        external_id: u.external_id.clone(),
        active: u.active,
        doc: u.attributes.clone(),
        created_at: u.created_at,
        updated_at: u.updated_at,
        version: u.version,
    };
    serde_dynamo::to_item(record).map_err(corrupt)
}

pub(super) fn user_from(item: &Item) -> StoreResult<User> {
    let r: UserRecord = serde_dynamo::from_item(item.clone()).map_err(corrupt)?;
    Ok(User {
        id: r.id,
        user_name: r.user_name,
        external_id: r.external_id,
        active: r.active,
        attributes: r.doc,
        created_at: r.created_at,
        updated_at: r.updated_at,
        version: r.version,
    })
}

pub(super) fn group_attributes(g: &Group) -> StoreResult<Item> {
    let record = GroupRecord {
        id: g.id.clone(),
        display_name: g.display_name.clone(),
        external_id: g.external_id.clone(),
        created_at: g.created_at,
        updated_at: g.updated_at,
        version: g.version,
    };
    serde_dynamo::to_item(record).map_err(corrupt)
}

pub(super) fn group_from(item: &Item) -> StoreResult<Group> {
    let r: GroupRecord = serde_dynamo::from_item(item.clone()).map_err(corrupt)?;
    Ok(Group {
        id: r.id,
        display_name: r.display_name,
        external_id: r.external_id,
        created_at: r.created_at,
        updated_at: r.updated_at,
        version: r.version,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::types::AttributeValue;

    use super::super::{groups, users};
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }
    fn n(v: i64) -> AttributeValue {
        AttributeValue::N(v.to_string())
    }

    /// A user item exactly as the hand-written mapping stored it before serde_dynamo.
    fn old_user_item() -> Item {
        HashMap::from([
            ("pk".into(), s("ORG#acme")),
            ("sk".into(), s("USER#u1")),
            ("gsi1pk".into(), s("ORG#acme#UN#ada@example.com")),
            ("gsi1sk".into(), s("u1")),
            ("gsi2pk".into(), s("ORG#acme#UEXT#ext-1")),
            ("gsi2sk".into(), s("u1")),
            ("external_id".into(), s("ext-1")),
            ("type".into(), s("user")),
            ("id".into(), s("u1")),
            ("user_name".into(), s("Ada@Example.com")),
            ("active".into(), AttributeValue::Bool(true)),
            (
                "doc".into(),
                s(
                    r#"{"name":{"givenName":"Ada"},"emails":[{"value":"ada@example.com","primary":true}]}"#,
                ),
            ),
            ("created_at".into(), n(100)),
            ("updated_at".into(), n(200)),
            ("version".into(), n(3)),
        ])
    }

    fn ada() -> User {
        User {
            id: "u1".into(),
            user_name: "Ada@Example.com".into(),
            external_id: Some("ext-1".into()),
            active: true,
            attributes: serde_json::json!({
                "name": {"givenName": "Ada"},
                "emails": [{"value": "ada@example.com", "primary": true}],
            }),
            created_at: 100,
            updated_at: 200,
            version: 3,
        }
    }

    #[test]
    fn a_user_item_stored_by_the_old_hand_mapping_reads_unchanged() {
        assert_eq!(user_from(&old_user_item()).unwrap(), ada());
        let mut no_external = old_user_item();
        for k in ["external_id", "gsi2pk", "gsi2sk"] {
            no_external.remove(k);
        }
        assert_eq!(user_from(&no_external).unwrap().external_id, None);
    }

    #[test]
    fn the_new_mapping_writes_every_attribute_the_old_one_wrote_with_the_same_types() {
        let written = users::user_item("acme", &ada()).unwrap();
        let old = old_user_item();
        let keys = |i: &Item| {
            let mut k: Vec<String> = i.keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&written), keys(&old));
        for (k, v) in &old {
            if k == "doc" {
                // Same document; key order inside the JSON text is not part of the shape.
                let text = |i: &Item| -> serde_json::Value {
                    serde_json::from_str(i[k].as_s().unwrap()).unwrap()
                };
                assert_eq!(text(&written), text(&old));
            } else {
                assert_eq!(&written[k], v, "{k}");
            }
        }
        let mut bare = ada();
        bare.external_id = None;
        let written = users::user_item("acme", &bare).unwrap();
        assert!(!written.contains_key("external_id") && !written.contains_key("gsi2pk"));
    }

    #[test]
    fn a_group_item_stored_by_the_old_hand_mapping_reads_unchanged_and_is_written_alike() {
        let old: Item = HashMap::from([
            ("pk".into(), s("ORG#acme")),
            ("sk".into(), s("GROUP#g1")),
            ("gsi1pk".into(), s("ORG#acme#GN#eng")),
            ("gsi1sk".into(), s("g1")),
            ("type".into(), s("group")),
            ("id".into(), s("g1")),
            ("display_name".into(), s("Eng")),
            ("created_at".into(), n(10)),
            ("updated_at".into(), n(20)),
            ("version".into(), n(2)),
        ]);
        let g = group_from(&old).unwrap();
        assert_eq!(
            g,
            Group {
                id: "g1".into(),
                display_name: "Eng".into(),
                external_id: None,
                created_at: 10,
                updated_at: 20,
                version: 2,
            }
        );
        let written = groups::group_item("acme", &g).unwrap();
        for k in [
            "type",
            "id",
            "display_name",
            "created_at",
            "updated_at",
            "version",
        ] {
            assert_eq!(written.get(k), old.get(k), "{k}");
        }
        assert!(!written.contains_key("external_id"));
    }

    #[test]
    fn an_item_whose_document_is_not_json_is_corrupt_not_a_panic() {
        let mut bad = old_user_item();
        bad.insert("doc".into(), s("{not json"));
        assert!(matches!(user_from(&bad), Err(StoreError::Corrupt(_))));
        bad.remove("active");
        assert!(matches!(user_from(&bad), Err(StoreError::Corrupt(_))));
    }
}
