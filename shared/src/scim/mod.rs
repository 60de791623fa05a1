//! SCIM 2.0 (RFC 7643 resources, RFC 7644 protocol): discovery, filter and PATCH-path grammars,
//! resource mapping, PATCH application and list planning. docs/scim.md describes the behaviour.

pub mod discovery;
pub mod filter;
pub mod group;
pub mod list;
pub mod patch;
pub mod path;
pub mod user;

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

/// A client error in a SCIM request: the RFC 7644 §3.12 `scimType` keyword and a detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimError {
    pub scim_type: &'static str,
    pub detail: String,
}

impl ScimError {
    pub fn new(scim_type: &'static str, detail: impl Into<String>) -> Self {
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
            "invalidSyntax",
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
                "invalidValue",
                format!("unknown schema {s:?}"),
            ));
        }
    }
    if found {
        Ok(())
    } else {
        Err(ScimError::new(
            "invalidSyntax",
            format!("schemas must include {schema:?}"),
        ))
    }
}
