//! Listing (RFC 7644 §3.4.2): query parameters, and planning which filters the store can answer
//! efficiently. A filter is served when it is an indexed equality (`id`, `userName`, `externalId`
//! on Users; `id`, `displayName`, `externalId` on Groups), or an `and` with such a term (the rest
//! is evaluated on the few candidates), or an `or` of servable filters. Everything else is a 400
//! `invalidFilter`: a full scan per request would not hold at directory scale, and a wrong answer is
//! worse than a refusal.

use serde_json::{json, Value};

use super::filter::{self, CompValue, CompareOp, Filter};
use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lookup {
    Id(String),
    UserName(String),
    ExternalId(String),
    DisplayName(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Plain listing, paged by the store.
    All,
    /// Fetch these candidates, then keep those matching the whole filter.
    Lookups(Vec<Lookup>, Filter),
}

fn lookup(f: &Filter, kind: Kind) -> Option<Lookup> {
    let Filter::Compare {
        path,
        op: CompareOp::Eq,
        value: CompValue::Str(v),
    } = f
    else {
        return None;
    };
    let core = match kind {
        Kind::User => SCHEMA_USER,
        Kind::Group => SCHEMA_GROUP,
    };
    if path.sub.is_some() || path.urn.as_deref().is_some_and(|u| u != core) {
        return None;
    }
    match (kind, path.name.to_ascii_lowercase().as_str()) {
        (_, "id") => Some(Lookup::Id(v.clone())),
        (_, "externalid") => Some(Lookup::ExternalId(v.clone())),
        (Kind::User, "username") => Some(Lookup::UserName(v.clone())),
        (Kind::Group, "displayname") => Some(Lookup::DisplayName(v.clone())),
        _ => None,
    }
}

impl Lookup {
    /// Whether any resource can have this value: an id, externalId or displayName over its size
    /// limit, or a string that is not a valid userName, matches nothing, and is not looked up
    /// (it would be a DynamoDB key over its size limit, or find a user by another rule).
    pub fn can_match(&self) -> bool {
        match self {
            Lookup::Id(v) => v.len() <= MAX_ID_BYTES,
            Lookup::ExternalId(v) => v.len() <= MAX_EXTERNAL_ID_BYTES,
            Lookup::DisplayName(v) => v.len() <= MAX_DISPLAY_NAME_BYTES,
            Lookup::UserName(v) => user_name::UserName::parse(v).is_ok(),
        }
    }
}

/// Candidate lookups whose union contains every match of `f`, if the store can serve `f`.
fn candidates(f: &Filter, kind: Kind) -> Option<Vec<Lookup>> {
    if let Some(l) = lookup(f, kind) {
        return Some(vec![l]);
    }
    match f {
        Filter::And(a, b) => candidates(a, kind).or_else(|| candidates(b, kind)),
        Filter::Or(a, b) => {
            let mut l = candidates(a, kind)?;
            l.extend(candidates(b, kind)?);
            l.sort();
            l.dedup();
            Some(l)
        }
        _ => None,
    }
}

/// Most index lookups one filter may cost (an `or` of equalities).
pub const MAX_LOOKUPS: usize = 50;

pub fn plan(f: Option<&Filter>, kind: Kind) -> ScimResult<Plan> {
    let Some(f) = f else { return Ok(Plan::All) };
    match candidates(f, kind) {
        Some(l) if l.len() > MAX_LOOKUPS => Err(ScimError::new(
            ScimType::TooMany,
            format!("the filter needs {} lookups; at most {MAX_LOOKUPS} are served", l.len()),
        )),
        Some(mut l) => {
            l.retain(Lookup::can_match);
            Ok(Plan::Lookups(l, f.clone()))
        }
        None => Err(ScimError::new(
            ScimType::InvalidFilter,
            match kind {
                Kind::User => "this filter is not supported: filters must include an eq on id, userName or externalId (combined with and/or); see docs/scim.md",
                Kind::Group => "this filter is not supported: filters must include an eq on id, displayName or externalId (combined with and/or); see docs/scim.md",
            },
        )),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ListParams {
    pub filter: Option<Filter>,
    /// 1-based (RFC 7644 §3.4.2.4); values below 1 read as 1.
    pub start_index: usize,
    /// Clamped to [0, MAX_RESULTS]: the RFC lets us return fewer than asked.
    pub count: usize,
    pub exclude_members: bool,
}

pub fn params(query: &[(String, String)]) -> ScimResult<ListParams> {
    let mut p = ListParams {
        filter: None,
        start_index: 1,
        count: MAX_RESULTS,
        exclude_members: false,
    };
    for (k, v) in query {
        match k.as_str() {
            "filter" => {
                p.filter =
                    Some(filter::parse(v).map_err(|e| ScimError::new(ScimType::InvalidFilter, e))?)
            }
            "startIndex" => {
                let n: i64 = v.trim().parse().map_err(|_| {
                    ScimError::new(
                        ScimType::InvalidValue,
                        format!("startIndex must be an integer (got {v:?})"),
                    )
                })?;
                p.start_index = n.max(1) as usize;
            }
            "count" => {
                let n: i64 = v.trim().parse().map_err(|_| {
                    ScimError::new(
                        ScimType::InvalidValue,
                        format!("count must be an integer (got {v:?})"),
                    )
                })?;
                p.count = n.clamp(0, MAX_RESULTS as i64) as usize;
            }
            "sortBy" | "sortOrder" => {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    "sorting is not supported",
                ))
            }
            _ => {}
        }
    }
    // `attributes` / `excludedAttributes` are applied to the response (`attributes_param.rs`);
    // here they only tell whether members need reading at all.
    p.exclude_members = !super::attributes_param::Projection::from_query(query)?.wants("members");
    Ok(p)
}

/// A ListResponse (RFC 7644 §3.4.2): counts are JSON integers.
pub fn response(resources: Vec<Value>, total: u64, start_index: usize) -> Value {
    json!({
        "schemas": [SCHEMA_LIST],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }
    fn plan_of(f: &str, kind: Kind) -> ScimResult<Plan> {
        plan(Some(&filter::parse(f).unwrap()), kind)
    }

    #[test]
    fn okta_user_name_lookup_is_served_from_the_index() {
        let p = params(&q(&[
            ("filter", r#"userName eq "a@b.c""#),
            ("startIndex", "1"),
            ("count", "100"),
        ]))
        .unwrap();
        assert_eq!((p.start_index, p.count), (1, 100));
        match plan(p.filter.as_ref(), Kind::User).unwrap() {
            Plan::Lookups(l, _) => assert_eq!(l, vec![Lookup::UserName("a@b.c".into())]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn and_uses_its_indexed_side_and_or_needs_both_sides_indexed() {
        assert!(
            matches!(plan_of(r#"active eq true and externalId eq "x""#, Kind::User).unwrap(), Plan::Lookups(l, _) if l == vec![Lookup::ExternalId("x".into())])
        );
        assert!(
            matches!(plan_of(r#"userName eq "a" or userName eq "b""#, Kind::User).unwrap(), Plan::Lookups(l, _) if l.len() == 2)
        );
        assert!(matches!(
            plan_of(r#"displayName eq "Eng""#, Kind::Group).unwrap(),
            Plan::Lookups(..)
        ));
    }

    #[test]
    fn filters_the_store_cannot_serve_are_refused_not_answered_wrongly() {
        for f in [
            r#"userName sw "a""#,
            r#"userName eq "a" or title pr"#,
            r#"emails[type eq "work"].value eq "a@b.c""#,
            r#"not (userName eq "a")"#,
            r#"displayName eq "Eng""#,
            r#"name.familyName eq "x""#,
        ] {
            assert_eq!(
                plan_of(f, Kind::User).unwrap_err().scim_type,
                "invalidFilter",
                "{f}"
            );
        }
        assert_eq!(
            plan_of(r#"userName eq "a""#, Kind::Group)
                .unwrap_err()
                .scim_type,
            "invalidFilter"
        );
    }

    #[test]
    fn an_or_of_too_many_lookups_is_refused_as_too_many() {
        let f = (0..=MAX_LOOKUPS)
            .map(|i| format!(r#"userName eq "u{i}""#))
            .collect::<Vec<_>>()
            .join(" or ");
        assert_eq!(plan_of(&f, Kind::User).unwrap_err().scim_type, "tooMany");
        let ok = (0..MAX_LOOKUPS)
            .map(|i| format!(r#"userName eq "u{i}""#))
            .collect::<Vec<_>>()
            .join(" or ");
        assert!(plan_of(&ok, Kind::User).is_ok());
    }

    #[test]
    fn paging_parameters_are_clamped_or_refused_never_trusted() {
        let p = params(&q(&[("startIndex", "0"), ("count", "999999999999")])).unwrap();
        assert_eq!((p.start_index, p.count), (1, MAX_RESULTS));
        assert_eq!(params(&q(&[("count", "-5")])).unwrap().count, 0);
        assert_eq!(
            params(&q(&[("count", "lots")])).unwrap_err().scim_type,
            "invalidValue"
        );
        assert_eq!(
            params(&q(&[("count", "1e99")])).unwrap_err().scim_type,
            "invalidValue"
        );
        assert_eq!(
            params(&q(&[("filter", "userName eq")]))
                .unwrap_err()
                .scim_type,
            "invalidFilter"
        );
        assert!(
            params(&q(&[("excludedAttributes", "members")]))
                .unwrap()
                .exclude_members
        );
    }

    #[test]
    fn lookups_no_resource_can_match_are_not_made() {
        let long = "x".repeat(2048);
        for f in [
            format!(r#"userName eq "{long}""#),
            "userName eq \"\u{212A}elly@x\"".to_string(),
            format!(r#"externalId eq "{long}""#),
            format!(r#"id eq "{long}" or userName eq "ok@x""#),
        ] {
            match plan_of(&f, Kind::User).unwrap() {
                Plan::Lookups(l, _) => assert!(
                    l.iter()
                        .all(|l| matches!(l, Lookup::UserName(n) if n == "ok@x")),
                    "{f}: {l:?}"
                ),
                other => panic!("{other:?}"),
            }
        }
        match plan_of(&format!(r#"displayName eq "{long}""#), Kind::Group).unwrap() {
            Plan::Lookups(l, _) => assert!(l.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn list_responses_count_with_integers() {
        let r = response(vec![json!({"id":"a"})], 10, 3);
        assert!(
            r["totalResults"].is_u64() && r["startIndex"].is_u64() && r["itemsPerPage"].is_u64()
        );
        assert_eq!(r["itemsPerPage"], 1);
    }
}
