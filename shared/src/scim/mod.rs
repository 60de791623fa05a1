//! SCIM 2.0 (RFC 7643 resources, RFC 7644 protocol): discovery, filter and PATCH-path grammars,
//! resource mapping, PATCH application and list planning. docs/scim.md describes the behaviour.

pub mod attributes_param;
pub mod discovery;
pub mod filter;
pub mod group;
pub mod list;
pub mod patch;
pub mod path;
pub mod rate_limit;
pub mod user;
/// userNames are a rule of the model (stored keys depend on it); SCIM parses them with it.
pub use crate::model::user_name;

pub const SCHEMA_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const SCHEMA_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const SCHEMA_ENTERPRISE_USER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Our extension for custom attributes an Okta admin maps (docs/okta-setup.md).
pub const SCHEMA_CUSTOM_USER: &str = "urn:ietf:params:scim:schemas:extension:okta-sso:2.0:User";
pub const SCHEMA_LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SCHEMA_SPC: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const SCHEMA_RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Largest page we serve (advertised as `filter.maxResults`).
pub const MAX_RESULTS: usize = 200;

/// Most multi-valued attribute values one request may carry (PATCH values, group members):
/// more is 400 `tooMany` (RFC 7644 §3.12). Bounds the work a request can ask for (member checks
/// are one BatchGetItem per 100 ids); clients send larger changes in several requests.
pub const MAX_VALUES: usize = 1000;
/// Size limits of the other indexed strings, in bytes of UTF-8 (userName: `user_name::MAX_BYTES`).
/// They are parts of DynamoDB index keys (partition keys ≤ 2048 bytes, sort keys ≤ 1024): longer
/// is 400 `invalidValue`, never a 500 from the database. Okta's externalIds are 20 characters;
/// its group names at most 255 characters (≤ 1020 bytes).
pub const MAX_EXTERNAL_ID_BYTES: usize = 512;
pub const MAX_DISPLAY_NAME_BYTES: usize = 1024;
/// Resource ids are our UUIDs (36 bytes); anything much longer names no resource.
pub const MAX_ID_BYTES: usize = 128;

/// Appends the items of `new` whose key is in neither `existing` nor earlier in `new`: one key
/// per item and a hash set, so O(existing + new) — never a `Vec::contains` per item.
pub fn append_distinct<T, K: std::hash::Hash + Eq>(
    existing: &mut Vec<T>,
    new: impl IntoIterator<Item = T>,
    mut key: impl FnMut(&T) -> K,
) {
    let mut seen: std::collections::HashSet<K> = existing.iter().map(&mut key).collect();
    for item in new {
        if seen.insert(key(&item)) {
            existing.push(item);
        }
    }
}

/// Refuses an indexed string over its byte limit.
pub fn check_len(attribute: &str, value: &str, max: usize) -> ScimResult<()> {
    if value.len() > max {
        return Err(ScimError::new(
            ScimType::InvalidValue,
            format!(
                "{attribute} is {} bytes long; at most {max} are accepted",
                value.len()
            ),
        ));
    }
    Ok(())
}

/// The `scimType` keywords of RFC 7644 §3.12 (Table 9): the only values a SCIM error's
/// `scimType` may carry, so a typo is a compile error rather than a keyword no client knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScimType {
    /// The filter syntax is invalid or names an unsupported filter (§3.4.2.2).
    InvalidFilter,
    /// The query or request would return or touch more than the server accepts.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The request tried to change an immutable or read-only attribute.
    Mutability,
    /// The request body is not a SCIM message of the expected shape.
    InvalidSyntax,
    /// The `path` attribute is invalid or malformed (§3.5.2).
    InvalidPath,
    /// The `path` matched no attribute or sub-attribute (§3.5.2).
    NoTarget,
    /// A required value is missing, or a value is incompatible with its attribute.
    InvalidValue,
    /// The SCIM protocol version is not supported (§3.13).
    InvalidVers,
    /// The request carries sensitive information in its URI (§7.5.2).
    Sensitive,
}

impl ScimType {
    /// The keyword as RFC 7644 §3.12 spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and logs compare with the keyword as written in the RFC.
impl PartialEq<&str> for ScimType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A client error in a SCIM request: the RFC 7644 §3.12 `scimType` keyword and a detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimError {
    pub scim_type: ScimType,
    pub detail: String,
}

impl ScimError {
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError {
            scim_type,
            detail: detail.into(),
        }
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

/// `W/"{version}"`: the weak ETag of a resource (RFC 7644 §3.14).
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// RFC 3339 UTC timestamp of epoch seconds, for `meta.created` / `meta.lastModified`.
pub fn timestamp(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Checks that a request body declares `schema` among its `schemas` and nothing unknown.
pub fn check_schemas(body: &serde_json::Value, schema: &str, allowed: &[&str]) -> ScimResult<()> {
    let Some(list) = body.get("schemas").and_then(|s| s.as_array()) else {
        return Err(ScimError::new(
            ScimType::InvalidSyntax,
            format!("the request must list its schemas (expected {schema:?})"),
        ));
    };
    let mut found = false;
    for s in list {
        let s = s.as_str().unwrap_or_default();
        if s.eq_ignore_ascii_case(schema) {
            found = true;
        } else if !allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) {
            return Err(ScimError::new(
                ScimType::InvalidValue,
                format!("unknown schema {s:?}"),
            ));
        }
    }
    if found {
        Ok(())
    } else {
        Err(ScimError::new(
            ScimType::InvalidSyntax,
            format!("schemas must include {schema:?}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_distinct_computes_one_key_per_item_and_keeps_first_occurrences() {
        let mut existing: Vec<u32> = (0..1000).collect();
        let new: Vec<u32> = (500..1500).chain(500..1500).collect();
        let mut keys = 0usize;
        append_distinct(&mut existing, new, |x| {
            keys += 1;
            *x
        });
        assert_eq!(existing, (0..1500).collect::<Vec<_>>());
        // Linear: 1,000 existing + 2,000 new items, one key each (a quadratic scan would
        // compare ≈ 2.5 million pairs).
        assert_eq!(keys, 3000);
    }
}
