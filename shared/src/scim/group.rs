//! The SCIM Group resource (RFC 7643 §4.2). Members are stored one item per member, so a PATCH is
//! turned into a [`GroupPatch`]: a rename and member additions/removals that cost O(changed).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::filter::{CompValue, CompareOp, Filter};
use super::patch::{Op, PatchOp};
use super::*;
use crate::model::Group;

#[derive(Clone, Debug, PartialEq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: Vec<String>,
}

/// The member ids of a `members` value, de-duplicated; at most [`MAX_VALUES`] (more is
/// `tooMany`: the ids are checked against the store before anything is written).
fn member_ids(v: &Value) -> ScimResult<Vec<String>> {
    let list: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        Value::Null => vec![],
        _ => {
            return Err(ScimError::new(
                ScimType::InvalidValue,
                "members must be a list",
            ))
        }
    };
    if list.len() > MAX_VALUES {
        return Err(too_many_members(list.len()));
    }
    let mut ids = Vec::with_capacity(list.len());
    for m in list {
        // RFC 7643 §4.2 allows Groups as members; we do not nest (a group's members are its
        // users, for sign-in claims and SCIM alike), and say so rather than mislabel the id.
        if super::filter::get_ci(m, "type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("Group"))
        {
            return Err(ScimError::new(
                ScimType::InvalidValue,
                "nested groups are not supported: every member must be a User (docs/scim.md)",
            ));
        }
        match super::filter::get_ci(m, "value").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => {
                check_len("a member value", id, MAX_ID_BYTES)?;
                ids.push(id.to_string())
            }
            _ => {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    "every member needs a string value (the user id)",
                ))
            }
        }
    }
    let mut out = Vec::with_capacity(ids.len());
    append_distinct(&mut out, ids, String::clone);
    Ok(out)
}

fn too_many_members(n: usize) -> ScimError {
    ScimError::new(
        ScimType::TooMany,
        format!("the request names {n} members; at most {MAX_VALUES} are accepted per request (send more in further PATCH requests)"),
    )
}

pub fn from_scim(body: &Value) -> ScimResult<GroupInput> {
    if !body.is_object() {
        return Err(ScimError::new(
            ScimType::InvalidSyntax,
            "the body must be a JSON object",
        ));
    }
    let display_name = match super::filter::get_ci(body, "displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            check_len("displayName", s.trim(), MAX_DISPLAY_NAME_BYTES)?;
            s.trim().to_string()
        }
        _ => {
            return Err(ScimError::new(
                ScimType::InvalidValue,
                "displayName is required and must be a non-empty string",
            ))
        }
    };
    let external_id = super::filter::get_ci(body, "externalId")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(e) = &external_id {
        check_len("externalId", e, MAX_EXTERNAL_ID_BYTES)?;
    }
    let members = member_ids(super::filter::get_ci(body, "members").unwrap_or(&Value::Null))?;
    Ok(GroupInput {
        display_name,
        external_id,
        members,
    })
}

/// Largest group whose members are rendered with `$ref` and `type`.
pub const MAX_MEMBERS_WITH_REF: usize = 20_000;

/// `members`: `None` when excluded (`excludedAttributes=members`). Each member is `{"value": id}`
/// only: a 50,000-member group is then ≈ 2.4 MB of JSON, within Lambda's 6 MB response limit
/// (with `$ref` and `type` it would not be).
pub fn to_scim(g: &Group, members: Option<&[String]>, base: &str) -> Value {
    let mut v = json!({
        "schemas": [SCHEMA_GROUP],
        "id": g.id,
        "displayName": g.display_name,
        "meta": {
            "resourceType": "Group",
            "created": timestamp(g.created_at),
            "lastModified": timestamp(g.updated_at),
            "location": format!("{base}/Groups/{}", g.id),
            "version": etag(g.version),
        }
    });
    if let Some(e) = &g.external_id {
        v["externalId"] = json!(e);
    }
    if let Some(ms) = members {
        // `$ref` and `type` (RFC 7643 §4.2) while the response stays well under Lambda's 6 MB:
        // a larger group lists `value` only (≈ 48 bytes a member instead of ≈ 190).
        v["members"] = if ms.len() <= MAX_MEMBERS_WITH_REF {
            ms.iter()
                .map(|id| json!({ "value": id, "$ref": format!("{base}/Users/{id}"), "type": "User" }))
                .collect()
        } else {
            ms.iter().map(|id| json!({ "value": id })).collect()
        };
    }
    v
}

/// What a Group PATCH changes. Member changes are kept as a delta unless the whole list is
/// replaced, so adding k members to a 50,000-member group touches k items. Sets, so that k ids
/// cost O(k log k), not O(k²).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupPatch {
    pub display_name: Option<String>,
    /// `Some(None)`: remove the externalId.
    pub external_id: Option<Option<String>>,
    pub replace_members: Option<BTreeSet<String>>,
    pub add: BTreeSet<String>,
    pub remove: BTreeSet<String>,
    /// Member ids named so far, across operations (at most [`MAX_VALUES`]).
    named: usize,
}

impl GroupPatch {
    fn count(&mut self, n: usize) -> ScimResult<()> {
        self.named += n;
        if self.named > MAX_VALUES {
            return Err(too_many_members(self.named));
        }
        Ok(())
    }
    fn add(&mut self, ids: Vec<String>) -> ScimResult<()> {
        self.count(ids.len())?;
        for id in ids {
            self.remove.remove(&id);
            match &mut self.replace_members {
                Some(all) => all.insert(id),
                None => self.add.insert(id),
            };
        }
        Ok(())
    }
    fn remove(&mut self, ids: Vec<String>) -> ScimResult<()> {
        self.count(ids.len())?;
        for id in ids {
            self.add.remove(&id);
            match &mut self.replace_members {
                Some(all) => all.remove(&id),
                None => self.remove.insert(id),
            };
        }
        Ok(())
    }
    pub fn touches_group_item(&self) -> bool {
        self.display_name.is_some() || self.external_id.is_some()
    }
}

/// The ids a member filter selects: `value eq "id"`, possibly or-ed. Anything else would need the
/// whole member list read and is refused.
fn ids_of_filter(f: &Filter, out: &mut Vec<String>) -> ScimResult<()> {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(id),
        } if path.name.eq_ignore_ascii_case("value") && path.sub.is_none() => {
            out.push(id.clone());
            Ok(())
        }
        Filter::Or(a, b) => {
            ids_of_filter(a, out)?;
            ids_of_filter(b, out)
        }
        _ => Err(ScimError::new(
            ScimType::InvalidFilter,
            "member filters must be of the form members[value eq \"<user id>\"]",
        )),
    }
}

fn set_string(field: &mut Option<String>, name: &str, v: &Value, max: usize) -> ScimResult<()> {
    match v {
        Value::String(s) if !s.trim().is_empty() => {
            check_len(name, s.trim(), max)?;
            *field = Some(s.trim().to_string());
            Ok(())
        }
        _ => Err(ScimError::new(
            ScimType::InvalidValue,
            format!("{name} must be a non-empty string"),
        )),
    }
}

pub fn plan_patch(ops: &[PatchOp], group_id: &str) -> ScimResult<GroupPatch> {
    let mut plan = GroupPatch::default();
    for op in ops {
        let value = op.value.clone().unwrap_or(Value::Null);
        // Path-less: a value object of attributes (Okta's rename sends {id, displayName}).
        let targets: Vec<(String, Option<Filter>, Value)> = match &op.path {
            None => {
                let mut t = Vec::new();
                for (k, v) in value.as_object().into_iter().flatten() {
                    match k.to_ascii_lowercase().as_str() {
                        "schemas" | "meta" => {}
                        "id" if v.as_str() == Some(group_id) => {}
                        _ => t.push((k.clone(), None, v.clone())),
                    }
                }
                t
            }
            Some(p) => {
                if p.attr.urn.as_deref().is_some_and(|u| u != SCHEMA_GROUP)
                    || p.attr.sub.is_some()
                    || p.sub.is_some()
                {
                    return Err(ScimError::new(
                        ScimType::InvalidPath,
                        "unknown Group attribute path",
                    ));
                }
                vec![(p.attr.name.clone(), p.filter.clone(), value)]
            }
        };
        for (name, filter, v) in targets {
            match (name.to_ascii_lowercase().as_str(), op.op) {
                ("displayname", Op::Add | Op::Replace) => set_string(
                    &mut plan.display_name,
                    "displayName",
                    &v,
                    MAX_DISPLAY_NAME_BYTES,
                )?,
                ("externalid", Op::Add | Op::Replace) => {
                    let mut e = None;
                    set_string(&mut e, "externalId", &v, MAX_EXTERNAL_ID_BYTES)?;
                    plan.external_id = Some(e);
                }
                // externalId is optional (RFC 7643 §3.1): removing it unassigns it.
                ("externalid", Op::Remove) if filter.is_none() => plan.external_id = Some(None),
                ("members", Op::Add) if filter.is_none() => plan.add(member_ids(&v)?)?,
                ("members", Op::Replace) if filter.is_none() => {
                    plan.replace_members = Some(BTreeSet::new());
                    plan.add.clear();
                    plan.remove.clear();
                    plan.add(member_ids(&v)?)?;
                }
                ("members", Op::Remove) => match &filter {
                    Some(f) => {
                        let mut ids = Vec::new();
                        ids_of_filter(f, &mut ids)?;
                        plan.remove(ids)?;
                    }
                    // `remove members` with a value list removes those (Azure's shape); without
                    // one, every member (RFC 7644 §3.5.2.2).
                    None if !v.is_null() => plan.remove(member_ids(&v)?)?,
                    None => {
                        plan.replace_members = Some(BTreeSet::new());
                        plan.add.clear();
                        plan.remove.clear();
                    }
                },
                ("id" | "meta", _) => {
                    return Err(ScimError::new(
                        ScimType::Mutability,
                        format!("{name} is read-only"),
                    ))
                }
                ("displayname", Op::Remove) => {
                    return Err(ScimError::new(
                        ScimType::Mutability,
                        "displayName is required",
                    ))
                }
                ("members" | "externalid", _) => {
                    return Err(ScimError::new(
                        ScimType::InvalidPath,
                        format!("unsupported {name} operation"),
                    ))
                }
                _ => {
                    return Err(ScimError::new(
                        ScimType::InvalidPath,
                        format!("unknown Group attribute {name:?}"),
                    ))
                }
            }
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::patch::{self, SCHEMA_PATCH_OP};

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn plan(list: Value) -> ScimResult<GroupPatch> {
        let ops = patch::parse(&json!({"schemas": [SCHEMA_PATCH_OP], "Operations": list}))?;
        plan_patch(&ops, "g1")
    }

    #[test]
    fn a_member_of_type_group_is_refused_as_nested_groups_are_not_supported() {
        let body = json!({"displayName": "Eng", "members": [{"value": "g2", "type": "Group"}]});
        let e = from_scim(&body).unwrap_err();
        assert_eq!(e.scim_type, "invalidValue");
        assert!(e.detail.contains("nested groups"), "{}", e.detail);
        let e =
            plan(json!([{"op":"add","path":"members","value":[{"value":"g2","type":"group"}]}]))
                .unwrap_err();
        assert!(e.detail.contains("nested groups"), "{}", e.detail);
        assert!(from_scim(
            &json!({"displayName": "Eng", "members": [{"value": "u1", "type": "User"}]})
        )
        .is_ok());
    }

    #[test]
    fn okta_rename_with_the_group_id_in_the_value_renames() {
        let p = plan(json!([{"op":"replace","value":{"id":"g1","displayName":"New"}}])).unwrap();
        assert_eq!(p.display_name.as_deref(), Some("New"));
        assert!(p.add.is_empty() && p.remove.is_empty() && p.replace_members.is_none());
    }

    #[test]
    fn okta_member_add_and_filtered_remove_become_deltas() {
        let p = plan(json!([
            {"op":"add","path":"members","value":[{"value":"u1","display":"a"},{"value":"u2"}]},
            {"op":"remove","path":"members[value eq \"u3\"]"},
            {"op":"remove","path":"members[value eq \"u2\"]"}
        ]))
        .unwrap();
        assert_eq!(p.add, set(&["u1"]));
        assert_eq!(p.remove, set(&["u2", "u3"]));
        assert!(!p.touches_group_item());
    }

    #[test]
    fn replacing_members_replaces_the_whole_list() {
        let p = plan(json!([{"op":"replace","path":"members","value":[{"value":"u9"}]}])).unwrap();
        assert_eq!(p.replace_members, Some(set(&["u9"])));
        let p = plan(json!([{"op":"remove","path":"members"}])).unwrap();
        assert_eq!(p.replace_members, Some(BTreeSet::new()));
    }

    #[test]
    fn unsupported_group_operations_are_refused_with_their_rfc_type() {
        let t = |v: Value| plan(v).unwrap_err().scim_type;
        assert_eq!(
            t(json!([{"op":"remove","path":"members[display eq \"x\"]"}])),
            "invalidFilter"
        );
        assert_eq!(
            t(json!([{"op":"replace","path":"color","value":"x"}])),
            "invalidPath"
        );
        assert_eq!(
            t(json!([{"op":"replace","value":{"id":"other"}}])),
            "mutability"
        );
        assert_eq!(
            t(json!([{"op":"add","path":"members","value":[{"display":"x"}]}])),
            "invalidValue"
        );
        assert_eq!(
            t(json!([{"op":"replace","path":"displayName","value":""}])),
            "invalidValue"
        );
    }

    #[test]
    fn more_than_a_thousand_members_per_request_are_too_many() {
        let members = |n: usize| -> Vec<Value> {
            (0..n).map(|i| json!({"value": format!("u{i}")})).collect()
        };
        let body = json!({"schemas":[SCHEMA_GROUP],"displayName":"Eng","members": members(MAX_VALUES + 1)});
        assert_eq!(from_scim(&body).unwrap_err().scim_type, "tooMany");
        let ok =
            json!({"schemas":[SCHEMA_GROUP],"displayName":"Eng","members": members(MAX_VALUES)});
        assert_eq!(from_scim(&ok).unwrap().members.len(), MAX_VALUES);
        // Member ids named by filters count too, across operations.
        let or_ids = |from: usize| {
            (from..from + 150)
                .map(|i| format!("value eq \"u{i}\""))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        let ops: Vec<Value> = (0..7)
            .map(|k| json!({"op":"remove","path": format!("members[{}]", or_ids(k * 150))}))
            .collect();
        assert_eq!(plan(Value::Array(ops)).unwrap_err().scim_type, "tooMany");
    }

    #[test]
    fn oversized_names_and_member_ids_are_invalid_values() {
        let long = "x".repeat(MAX_DISPLAY_NAME_BYTES + 1);
        assert_eq!(
            from_scim(&json!({"displayName": long}))
                .unwrap_err()
                .scim_type,
            "invalidValue"
        );
        let ext = "x".repeat(MAX_EXTERNAL_ID_BYTES + 1);
        assert_eq!(
            from_scim(&json!({"displayName": "a", "externalId": ext}))
                .unwrap_err()
                .scim_type,
            "invalidValue"
        );
        assert_eq!(
            plan(json!([{"op":"replace","path":"displayName","value": long}]))
                .unwrap_err()
                .scim_type,
            "invalidValue"
        );
        let id = "u".repeat(MAX_ID_BYTES + 1);
        assert_eq!(
            plan(json!([{"op":"add","path":"members","value":[{"value": id}]}]))
                .unwrap_err()
                .scim_type,
            "invalidValue"
        );
    }

    #[test]
    fn group_bodies_need_a_display_name_and_member_ids() {
        let g = from_scim(&json!({"schemas":[SCHEMA_GROUP],"displayName":"Eng","members":[{"value":"u1"},{"value":"u1"}]})).unwrap();
        assert_eq!(
            (g.display_name.as_str(), g.members),
            ("Eng", vec!["u1".to_string()])
        );
        assert_eq!(
            from_scim(&json!({"members":[]})).unwrap_err().scim_type,
            "invalidValue"
        );
    }
}
