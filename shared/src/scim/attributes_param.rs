//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes a response carries.
//! They apply to every operation that returns resources — GET, list, `.search` (§3.4.3) and the
//! write responses of POST/PUT/PATCH (§3.9) — and never remove an attribute whose schema says
//! `returned: always` (`id`, and `schemas`, which is not an attribute but names what the resource
//! holds). `returned: never` (`password`) is never in a response to begin with.

use serde_json::{Map, Value};

use super::filter::{get_ci, parse_attr_path};
use super::*;

/// Returned whatever the client asks (RFC 7643 §3.1: `id` is `returned: always`).
const ALWAYS: &[&str] = &["id", "schemas"];
/// Most names one parameter may list: more than any schema has attributes.
const MAX_NAMES: usize = 100;

/// One name of `attributes` / `excludedAttributes`, in attribute notation (§3.10): a core
/// attribute, `name.givenName`, `urn:…:enterprise:2.0:User:department`, or a whole extension
/// (`urn:…:enterprise:2.0:User`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Name {
    /// The extension object holding the attribute (`None`: the resource's top level).
    urn: Option<&'static str>,
    /// `None` with an `urn`: the whole extension.
    attr: Option<String>,
    sub: Option<String>,
}

fn parse_name(raw: &str) -> ScimResult<Name> {
    let raw = raw.trim();
    if let Some(urn) = user::EXTENSIONS
        .iter()
        .find(|u| u.eq_ignore_ascii_case(raw))
    {
        return Ok(Name {
            urn: Some(urn),
            attr: None,
            sub: None,
        });
    }
    let p = parse_attr_path(raw).map_err(|e| ScimError::new(ScimType::InvalidValue, e))?;
    // Core URNs qualify top-level attributes; extension URNs name the object they live in.
    let urn = p
        .urn
        .as_deref()
        .and_then(|u| user::EXTENSIONS.iter().copied().find(|e| *e == u));
    Ok(Name {
        urn,
        attr: Some(p.name),
        sub: p.sub,
    })
}

/// What a response carries: everything by default, only `include`d attributes, or all but the
/// `exclude`d ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Projection {
    include: Option<Vec<Name>>,
    exclude: Vec<Name>,
}

fn parse_list<'a>(names: impl Iterator<Item = &'a str>) -> ScimResult<Vec<Name>> {
    let names: Vec<&str> = names.filter(|n| !n.trim().is_empty()).collect();
    if names.len() > MAX_NAMES {
        return Err(ScimError::new(
            ScimType::TooMany,
            format!("at most {MAX_NAMES} attribute names are accepted"),
        ));
    }
    names.into_iter().map(parse_name).collect()
}

impl Projection {
    /// From the query string (comma-separated names).
    pub fn from_query(pairs: &[(String, String)]) -> ScimResult<Projection> {
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        Self::build(
            get("attributes")
                .map(|v| parse_list(v.split(',')))
                .transpose()?,
            get("excludedAttributes")
                .map(|v| parse_list(v.split(',')))
                .transpose()?,
        )
    }

    /// From a SearchRequest body (§3.4.3: arrays of strings; a comma-separated string is taken
    /// too, as some clients send one).
    pub fn from_search(body: &Value) -> ScimResult<Projection> {
        let list = |k: &str| -> ScimResult<Option<Vec<Name>>> {
            match get_ci(body, k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => parse_list(s.split(',')).map(Some),
                Some(Value::Array(a)) => {
                    let names: Option<Vec<&str>> = a.iter().map(Value::as_str).collect();
                    let names = names.ok_or_else(|| {
                        ScimError::new(ScimType::InvalidValue, format!("{k} must list strings"))
                    })?;
                    parse_list(names.into_iter()).map(Some)
                }
                Some(_) => Err(ScimError::new(
                    ScimType::InvalidValue,
                    format!("{k} must list strings"),
                )),
            }
        };
        Self::build(list("attributes")?, list("excludedAttributes")?)
    }

    fn build(include: Option<Vec<Name>>, exclude: Option<Vec<Name>>) -> ScimResult<Projection> {
        match (include, exclude) {
            // §3.4.2.5: the two parameters are mutually exclusive.
            (Some(i), Some(e)) if !i.is_empty() && !e.is_empty() => Err(ScimError::new(
                ScimType::InvalidValue,
                "attributes and excludedAttributes are mutually exclusive (RFC 7644 §3.4.2.5)",
            )),
            (i, e) => Ok(Projection {
                include: i.filter(|i| !i.is_empty()),
                exclude: e.unwrap_or_default(),
            }),
        }
    }

    /// Whether the response is the whole default representation.
    pub fn is_all(&self) -> bool {
        self.include.is_none() && self.exclude.is_empty()
    }

    /// Whether top-level attribute `name` (e.g. `members`, `groups`) may appear in the response:
    /// when it may not, it need not be read.
    pub fn wants(&self, name: &str) -> bool {
        let whole = |n: &Name| {
            n.urn.is_none()
                && n.sub.is_none()
                && n.attr
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(name))
        };
        let part = |n: &Name| {
            n.urn.is_none()
                && n.attr
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(name))
        };
        match &self.include {
            Some(i) => i.iter().any(part),
            None => !self.exclude.iter().any(whole),
        }
    }

    /// Applies the projection to one resource's JSON.
    pub fn apply(&self, resource: &mut Value) {
        let Some(obj) = resource.as_object_mut() else {
            return;
        };
        if let Some(include) = &self.include {
            let mut kept = Map::new();
            for k in ALWAYS {
                if let Some((key, v)) = obj.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)) {
                    kept.insert(key.clone(), v.clone());
                }
            }
            for n in include {
                copy(obj, &mut kept, n);
            }
            *obj = kept;
        }
        for n in &self.exclude {
            remove(obj, n);
        }
        // An extension left empty is not in the resource any more (RFC 7643 §3: `schemas` lists
        // the extensions present), and `schemas` keeps the core schema.
        let ext_present: Vec<&str> = user::EXTENSIONS
            .iter()
            .copied()
            .filter(|u| {
                obj.get(*u)
                    .is_some_and(|e| e.as_object().is_none_or(|m| !m.is_empty()))
            })
            .collect();
        for u in user::EXTENSIONS {
            if !ext_present.contains(u) {
                obj.remove(*u);
            }
        }
        if let Some(Value::Array(schemas)) = obj.get_mut("schemas") {
            schemas.retain(|s| {
                s.as_str()
                    .is_none_or(|s| !user::EXTENSIONS.contains(&s) || ext_present.contains(&s))
            });
        }
    }

    /// Applies it to a resource or to every resource of a ListResponse.
    pub fn apply_to_body(&self, body: &mut Value) {
        if body.get("Resources").is_some() {
            if let Some(Value::Array(rs)) = body.get_mut("Resources") {
                for r in rs {
                    self.apply(r);
                }
            }
        } else {
            self.apply(body);
        }
    }
}

fn key_ci(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// The object holding `n`'s attribute (the resource, or its extension object).
fn holder<'a>(obj: &'a Map<String, Value>, n: &Name) -> Option<&'a Map<String, Value>> {
    match n.urn {
        None => Some(obj),
        Some(u) => obj.get(u)?.as_object(),
    }
}

fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, n: &Name) {
    let Some(attr) = &n.attr else {
        // A whole extension.
        if let (Some(u), Some(v)) = (n.urn, n.urn.and_then(|u| from.get(u))) {
            to.insert(u.to_string(), v.clone());
        }
        return;
    };
    let Some(src) = holder(from, n) else { return };
    let Some(key) = key_ci(src, attr) else { return };
    let value = match (&n.sub, &src[&key]) {
        (None, v) => v.clone(),
        (Some(sub), Value::Object(o)) => match key_ci(o, sub) {
            Some(sk) => merge_into(to_target(to, n.urn).and_then(|t| t.get(&key)), &sk, &o[&sk]),
            None => return,
        },
        // A sub-attribute of each value of a multi-valued attribute.
        (Some(sub), Value::Array(items)) => Value::Array(
            items
                .iter()
                .filter_map(|i| {
                    let o = i.as_object()?;
                    let sk = key_ci(o, sub)?;
                    let mut m = Map::new();
                    m.insert(sk.clone(), o[&sk].clone());
                    Some(Value::Object(m))
                })
                .collect(),
        ),
        (Some(_), _) => return,
    };
    if let Some(t) = to_target(to, n.urn) {
        t.insert(key, value);
    }
}

/// `existing` (an object already copied) with one more sub-attribute.
fn merge_into(existing: Option<&Value>, sub: &str, v: &Value) -> Value {
    let mut m = existing
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    m.insert(sub.to_string(), v.clone());
    Value::Object(m)
}

fn to_target<'a>(
    to: &'a mut Map<String, Value>,
    urn: Option<&str>,
) -> Option<&'a mut Map<String, Value>> {
    match urn {
        None => Some(to),
        Some(u) => {
            let e = to
                .entry(u.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            e.as_object_mut()
        }
    }
}

fn remove(obj: &mut Map<String, Value>, n: &Name) {
    let Some(attr) = &n.attr else {
        if let Some(u) = n.urn {
            obj.remove(u);
        }
        return;
    };
    let holder = match n.urn {
        None => Some(obj),
        Some(u) => obj.get_mut(u).and_then(Value::as_object_mut),
    };
    let Some(h) = holder else { return };
    let Some(key) = key_ci(h, attr) else { return };
    if n.urn.is_none() && ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&key)) {
        return;
    }
    match &n.sub {
        None => {
            h.remove(&key);
        }
        Some(sub) => match h.get_mut(&key) {
            Some(Value::Object(o)) => {
                if let Some(sk) = key_ci(o, sub) {
                    o.remove(&sk);
                }
            }
            Some(Value::Array(items)) => {
                for i in items.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(sk) = key_ci(i, sub) {
                        i.remove(&sk);
                    }
                }
            }
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(k: &str, v: &str) -> Vec<(String, String)> {
        vec![(k.to_string(), v.to_string())]
    }
    fn user() -> Value {
        json!({
            "schemas": [SCHEMA_USER, SCHEMA_ENTERPRISE_USER],
            "id": "u1",
            "userName": "a@b",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@w", "type": "work"}],
            "active": true,
            SCHEMA_ENTERPRISE_USER: {"department": "R&D", "employeeNumber": "7"},
            "meta": {"resourceType": "User"}
        })
    }

    #[test]
    fn excluded_attributes_are_removed_but_id_and_schemas_stay() {
        let p = Projection::from_query(&q("excludedAttributes", "name,ID,schemas,emails.type"))
            .unwrap();
        let mut u = user();
        p.apply(&mut u);
        assert!(u.get("name").is_none(), "{u}");
        assert_eq!(u["id"], "u1");
        assert!(u["schemas"].is_array());
        assert_eq!(u["emails"], json!([{"value": "a@w"}]));
        assert_eq!(u["userName"], "a@b");
    }

    #[test]
    fn attributes_keep_only_what_is_named_plus_what_is_always_returned() {
        let p = Projection::from_query(&q(
            "attributes",
            &format!("userName,name.givenName,{SCHEMA_ENTERPRISE_USER}:department"),
        ))
        .unwrap();
        let mut u = user();
        p.apply(&mut u);
        assert_eq!(
            u,
            json!({
                "schemas": [SCHEMA_USER, SCHEMA_ENTERPRISE_USER],
                "id": "u1",
                "userName": "a@b",
                "name": {"givenName": "A"},
                SCHEMA_ENTERPRISE_USER: {"department": "R&D"}
            })
        );
    }

    #[test]
    fn a_whole_extension_can_be_named_and_an_emptied_one_leaves_schemas() {
        let mut u = user();
        Projection::from_query(&q("excludedAttributes", SCHEMA_ENTERPRISE_USER))
            .unwrap()
            .apply(&mut u);
        assert!(u.get(SCHEMA_ENTERPRISE_USER).is_none());
        assert_eq!(u["schemas"], json!([SCHEMA_USER]));
        let mut u = user();
        Projection::from_query(&q("attributes", SCHEMA_ENTERPRISE_USER))
            .unwrap()
            .apply(&mut u);
        assert_eq!(u[SCHEMA_ENTERPRISE_USER]["employeeNumber"], "7");
        assert!(u.get("userName").is_none());
    }

    #[test]
    fn list_responses_are_projected_resource_by_resource() {
        let mut body =
            json!({"schemas": [SCHEMA_LIST], "totalResults": 2, "Resources": [user(), user()]});
        Projection::from_query(&q("attributes", "userName"))
            .unwrap()
            .apply_to_body(&mut body);
        for r in body["Resources"].as_array().unwrap() {
            assert_eq!(r.as_object().unwrap().len(), 3, "{r}");
        }
        assert_eq!(body["totalResults"], 2);
    }

    #[test]
    fn wants_tells_whether_an_attribute_needs_reading() {
        let p = |k, v| Projection::from_query(&q(k, v)).unwrap();
        assert!(!p("excludedAttributes", "members").wants("members"));
        assert!(p("excludedAttributes", "members.display").wants("members"));
        assert!(!p("attributes", "displayName").wants("members"));
        assert!(p("attributes", "members.value").wants("members"));
        assert!(Projection::default().wants("members"));
    }

    #[test]
    fn both_parameters_at_once_or_bad_names_are_refused() {
        let both = vec![
            ("attributes".to_string(), "userName".to_string()),
            ("excludedAttributes".to_string(), "name".to_string()),
        ];
        assert_eq!(
            Projection::from_query(&both).unwrap_err().scim_type,
            "invalidValue"
        );
        assert!(Projection::from_query(&q("attributes", "urn:nope:x")).is_err());
        let many = vec!["a"; MAX_NAMES + 1].join(",");
        assert_eq!(
            Projection::from_query(&q("attributes", &many))
                .unwrap_err()
                .scim_type,
            "tooMany"
        );
        let search = json!({"attributes": ["userName"], "excludedAttributes": 3});
        assert!(Projection::from_search(&search).is_err());
        assert!(
            Projection::from_search(&json!({"attributes": ["userName"]}))
                .unwrap()
                .wants("userName")
        );
    }
}
