//! PATCH (RFC 7644 §3.5.2): parsing the PatchOp message and applying its operations to a resource's
//! JSON. Both shapes Okta and others send are accepted: a `path` with a value, and no path with a
//! value object whose keys are attribute paths. Operation names are matched case-insensitively
//! (some clients send `Replace`).

use serde_json::{Map, Value};

use super::filter::{get_ci, parse_attr_path, AttrPath};
use super::path::{self, PatchPath};
use super::*;

pub const SCHEMA_PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// More operations than any real client sends in one request.
const MAX_OPS: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Remove,
    Replace,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PatchOp {
    pub op: Op,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

pub fn parse(body: &Value) -> ScimResult<Vec<PatchOp>> {
    check_schemas(body, SCHEMA_PATCH_OP, &[])?;
    let ops = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::new(ScimType::InvalidSyntax, "Operations must be an array"))?;
    if ops.is_empty() {
        return Err(ScimError::new(
            ScimType::InvalidSyntax,
            "Operations is empty",
        ));
    }
    if ops.len() > MAX_OPS {
        return Err(ScimError::new(
            ScimType::TooMany,
            format!("more than {MAX_OPS} operations"),
        ));
    }
    // Checked before any operation is applied, so the work of a request (de-duplication, member
    // checks) stays bounded whatever the body holds.
    let values: usize = ops
        .iter()
        .filter_map(|o| get_ci(o, "value"))
        .map(values_in)
        .sum();
    if values > MAX_VALUES {
        return Err(ScimError::new(
            ScimType::TooMany,
            format!(
                "the operations carry {values} values; at most {MAX_VALUES} are accepted per request"
            ),
        ));
    }
    ops.iter()
        .map(|o| {
            let op = match get_ci(o, "op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
            {
                Some(s) if s == "add" => Op::Add,
                Some(s) if s == "remove" => Op::Remove,
                Some(s) if s == "replace" => Op::Replace,
                _ => {
                    return Err(ScimError::new(
                        ScimType::InvalidSyntax,
                        "op must be add, remove or replace",
                    ))
                }
            };
            let path = match get_ci(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => {
                    Some(path::parse(p).map_err(|e| ScimError::new(ScimType::InvalidPath, e))?)
                }
                Some(_) => {
                    return Err(ScimError::new(
                        ScimType::InvalidPath,
                        "path must be a string",
                    ))
                }
            };
            let value = get_ci(o, "value").cloned();
            match (op, &path, &value) {
                (Op::Remove, None, _) => Err(ScimError::new(
                    ScimType::NoTarget,
                    "remove needs a path (RFC 7644 §3.5.2.2)",
                )),
                (Op::Add | Op::Replace, _, None) => Err(ScimError::new(
                    ScimType::InvalidValue,
                    "add and replace need a value",
                )),
                (Op::Add | Op::Replace, None, Some(v)) if !v.is_object() => Err(ScimError::new(
                    ScimType::InvalidValue,
                    "without a path, value must be an object",
                )),
                _ => Ok(PatchOp { op, path, value }),
            }
        })
        .collect()
}

/// How many elements of multi-valued attributes `v` holds, at any depth.
fn values_in(v: &Value) -> usize {
    match v {
        Value::Array(a) => a.len() + a.iter().map(values_in).sum::<usize>(),
        Value::Object(o) => o.values().map(values_in).sum(),
        _ => 0,
    }
}

/// A value's identity for de-duplication: its JSON text. serde_json's maps are sorted (no
/// `preserve_order`), so equal values have equal texts.
fn identity(v: &Value) -> String {
    v.to_string()
}

/// The `(path, value)` pairs a path-less value object stands for: each key is an attribute path
/// (`active`, `name.givenName`, a URN-qualified attribute, or an extension URN whose object holds
/// that schema's attributes).
pub fn expand_value_object(value: &Value) -> ScimResult<Vec<(AttrPath, Value)>> {
    let mut out = Vec::new();
    for (k, v) in value.as_object().into_iter().flatten() {
        if k.eq_ignore_ascii_case("schemas") || k.eq_ignore_ascii_case("meta") {
            continue;
        }
        if let Some(urn) = super::user::EXTENSIONS
            .iter()
            .find(|u| u.eq_ignore_ascii_case(k))
        {
            for (ek, ev) in v.as_object().into_iter().flatten() {
                let p = parse_attr_path(&format!("{urn}:{ek}"))
                    .map_err(|e| ScimError::new(ScimType::InvalidPath, e))?;
                out.push((p, ev.clone()));
            }
            continue;
        }
        out.push((
            parse_attr_path(k).map_err(|e| ScimError::new(ScimType::InvalidPath, e))?,
            v.clone(),
        ));
    }
    Ok(out)
}

/// Applies one operation to `resource`. `check` vets every targeted attribute first.
pub fn apply(
    resource: &mut Value,
    op: &PatchOp,
    check: &dyn Fn(&AttrPath) -> ScimResult<()>,
) -> ScimResult<()> {
    match &op.path {
        None => {
            for (p, v) in expand_value_object(op.value.as_ref().unwrap_or(&Value::Null))? {
                // The resource's own id may be echoed in the value object (Okta's group rename).
                if p.name == "id" && p.urn.is_none() && resource.get("id") == Some(&v) {
                    continue;
                }
                check(&p)?;
                let pp = PatchPath {
                    attr: p,
                    filter: None,
                    sub: None,
                };
                apply_path(resource, op.op, &pp, Some(&v))?;
            }
            Ok(())
        }
        Some(p) => {
            check(&p.attr)?;
            apply_path(resource, op.op, p, op.value.as_ref())
        }
    }
}

fn container<'a>(
    resource: &'a mut Value,
    urn: Option<&str>,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    let root = resource.as_object_mut()?;
    match urn {
        Some(u) if u != SCHEMA_USER && u != SCHEMA_GROUP => {
            if create && !root.contains_key(u) {
                root.insert(u.to_string(), Value::Object(Map::new()));
            }
            root.get_mut(u)?.as_object_mut()
        }
        _ => Some(root),
    }
}

/// The existing key matching `name` case-insensitively, or `name` itself.
fn key_of(map: &Map<String, Value>, name: &str) -> String {
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

fn merge(target: &mut Value, value: &Value) {
    match (target.as_object_mut(), value.as_object()) {
        (Some(t), Some(v)) => {
            for (k, x) in v {
                let key = key_of(t, k);
                t.insert(key, x.clone());
            }
        }
        _ => *target = value.clone(),
    }
}

fn apply_path(
    resource: &mut Value,
    op: Op,
    p: &PatchPath,
    value: Option<&Value>,
) -> ScimResult<()> {
    let create = op != Op::Remove;
    let Some(map) = container(resource, p.attr.urn.as_deref(), create) else {
        return Ok(()); // removing from an absent extension: nothing to do
    };
    let key = key_of(map, &p.attr.name);
    let value = value.cloned().unwrap_or(Value::Null);
    let Some(filter) = &p.filter else {
        // No value filter: the attribute itself, or one sub-attribute of a complex attribute.
        if let Some(sub) = &p.attr.sub {
            let parent = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
            let Some(obj) = parent.as_object_mut() else {
                return Err(ScimError::new(
                    ScimType::InvalidPath,
                    format!("{} is not complex", p.attr.name),
                ));
            };
            let sk = key_of(obj, sub);
            match op {
                Op::Remove => {
                    obj.remove(&sk);
                }
                _ => {
                    obj.insert(sk, value);
                }
            }
            return Ok(());
        }
        match op {
            Op::Remove => {
                map.remove(&key);
            }
            Op::Add => match (map.get_mut(&key), value) {
                // Adding to a multi-valued attribute appends the values not already there.
                (Some(Value::Array(existing)), Value::Array(new)) => {
                    append_distinct(existing, new, identity)
                }
                (Some(t @ Value::Object(_)), v @ Value::Object(_)) => merge(t, &v),
                (_, v) => {
                    map.insert(key, v);
                }
            },
            Op::Replace => match (map.get_mut(&key), value) {
                // Replacing a complex attribute replaces the sub-attributes given (§3.5.2.3).
                (Some(t @ Value::Object(_)), v @ Value::Object(_)) => merge(t, &v),
                (_, v) => {
                    map.insert(key, v);
                }
            },
        }
        return Ok(());
    };
    // A value filter selects elements of a multi-valued attribute.
    let Some(Value::Array(items)) = map.get_mut(&key) else {
        return match op {
            Op::Remove => Ok(()),
            _ => Err(ScimError::new(
                ScimType::NoTarget,
                format!("no {} value matches the filter", p.attr.name),
            )),
        };
    };
    let hits: Vec<usize> = (0..items.len())
        .filter(|i| filter.matches(&items[*i]))
        .collect();
    if hits.is_empty() && op != Op::Remove {
        return Err(ScimError::new(
            ScimType::NoTarget,
            format!("no {} value matches the filter", p.attr.name),
        ));
    }
    match (op, &p.sub) {
        (Op::Remove, None) => {
            let mut i = 0;
            items.retain(|_| {
                let keep = !hits.contains(&i);
                i += 1;
                keep
            });
        }
        (Op::Remove, Some(sub)) => {
            for i in hits {
                if let Some(o) = items[i].as_object_mut() {
                    let sk = key_of(o, sub);
                    o.remove(&sk);
                }
            }
        }
        (_, Some(sub)) => {
            for i in hits {
                if let Some(o) = items[i].as_object_mut() {
                    let sk = key_of(o, sub);
                    o.insert(sk, value.clone());
                }
            }
        }
        (_, None) => {
            for i in hits {
                merge(&mut items[i], &value);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(list: Value) -> Vec<PatchOp> {
        parse(&json!({"schemas": [SCHEMA_PATCH_OP], "Operations": list})).unwrap()
    }
    fn run(resource: Value, list: Value) -> ScimResult<Value> {
        let mut r = resource;
        for op in ops(list) {
            apply(&mut r, &op, &super::super::user::check_path)?;
        }
        Ok(r)
    }

    #[test]
    fn okta_deactivation_without_a_path_sets_active_false() {
        let r = run(
            json!({"userName":"a","active":true}),
            json!([{"op":"replace","value":{"active":false}}]),
        )
        .unwrap();
        assert_eq!(r["active"], false);
    }

    #[test]
    fn capitalized_ops_and_plain_paths_are_accepted() {
        let r = run(
            json!({"userName":"a","active":false}),
            json!([{"op":"Replace","path":"active","value":true}]),
        )
        .unwrap();
        assert_eq!(r["active"], true);
    }

    #[test]
    fn sub_attribute_and_extension_paths_update_only_their_target() {
        let r = run(
            json!({"userName":"a","name":{"givenName":"A","familyName":"B"}}),
            json!([
                {"op":"replace","path":"name.givenName","value":"C"},
                {"op":"add","path": format!("{SCHEMA_ENTERPRISE_USER}:department"),"value":"Ops"},
                {"op":"replace","value":{"name.familyName":"D", SCHEMA_ENTERPRISE_USER: {"employeeNumber":"7"}}}
            ]),
        )
        .unwrap();
        assert_eq!(r["name"], json!({"givenName":"C","familyName":"D"}));
        assert_eq!(
            r[SCHEMA_ENTERPRISE_USER],
            json!({"department":"Ops","employeeNumber":"7"})
        );
    }

    #[test]
    fn filtered_paths_select_elements_of_multi_valued_attributes() {
        let user = json!({"userName":"a","emails":[{"type":"work","value":"a@w"},{"type":"home","value":"a@h"}]});
        let r = run(
            user.clone(),
            json!([{"op":"replace","path":"emails[type eq \"work\"].value","value":"b@w"}]),
        )
        .unwrap();
        assert_eq!(r["emails"][0]["value"], "b@w");
        assert_eq!(r["emails"][1]["value"], "a@h");
        let r = run(
            user.clone(),
            json!([{"op":"remove","path":"emails[type eq \"home\"]"}]),
        )
        .unwrap();
        assert_eq!(r["emails"], json!([{"type":"work","value":"a@w"}]));
        let e = run(
            user,
            json!([{"op":"replace","path":"emails[type eq \"other\"].value","value":"x"}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, "noTarget");
    }

    #[test]
    fn add_appends_to_multi_valued_attributes_without_duplicates() {
        let r = run(
            json!({"userName":"a","phoneNumbers":[{"value":"1"}]}),
            json!([{"op":"add","path":"phoneNumbers","value":[{"value":"1"},{"value":"2"}]}]),
        )
        .unwrap();
        assert_eq!(r["phoneNumbers"], json!([{"value":"1"},{"value":"2"}]));
    }

    #[test]
    fn added_values_equal_in_any_key_order_are_added_once() {
        let r = run(
            json!({"userName":"a","emails":[{"type":"work","value":"a@w"}]}),
            json!([{"op":"add","path":"emails","value":[
                {"value":"a@w","type":"work"},
                {"value":"b@w","type":"home"},
                {"type":"home","value":"b@w"}
            ]}]),
        )
        .unwrap();
        assert_eq!(
            r["emails"],
            json!([{"type":"work","value":"a@w"},{"type":"home","value":"b@w"}])
        );
    }

    #[test]
    fn more_than_a_thousand_values_in_one_request_are_too_many() {
        let body = |n: usize, ops: usize| {
            let list: Vec<Value> = (0..ops)
                .map(|o| {
                    let vals: Vec<Value> = (0..n)
                        .map(|i| json!({"value": format!("{o}-{i}")}))
                        .collect();
                    json!({"op":"add","path":"emails","value": vals})
                })
                .collect();
            json!({"schemas": [SCHEMA_PATCH_OP], "Operations": list})
        };
        assert!(parse(&body(MAX_VALUES, 1)).is_ok());
        assert_eq!(
            parse(&body(MAX_VALUES + 1, 1)).unwrap_err().scim_type,
            "tooMany"
        );
        // Per request, not per operation.
        assert_eq!(parse(&body(501, 2)).unwrap_err().scim_type, "tooMany");
    }

    #[test]
    fn bad_operations_name_their_rfc_error_type() {
        let parse_err = |list: Value| {
            parse(&json!({"schemas": [SCHEMA_PATCH_OP], "Operations": list}))
                .unwrap_err()
                .scim_type
        };
        assert_eq!(parse_err(json!([{"op":"remove"}])), "noTarget");
        assert_eq!(
            parse_err(json!([{"op":"move","path":"a"}])),
            "invalidSyntax"
        );
        assert_eq!(
            parse_err(json!([{"op":"replace","path":"members[","value":1}])),
            "invalidPath"
        );
        assert_eq!(
            parse_err(json!([{"op":"replace","value":false}])),
            "invalidValue"
        );
        assert_eq!(parse_err(json!([])), "invalidSyntax");
        assert_eq!(
            parse(&json!({"Operations": []})).unwrap_err().scim_type,
            "invalidSyntax"
        );
        let e = run(
            json!({"userName":"a"}),
            json!([{"op":"replace","path":"favoriteColor","value":"red"}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, "invalidPath");
        let e = run(
            json!({"userName":"a"}),
            json!([{"op":"add","path":"groups","value":[{"value":"g"}]}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, "mutability");
    }
}
