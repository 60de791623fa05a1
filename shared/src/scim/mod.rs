//! SCIM 2.0 (RFC 7643 resources, RFC 7644 protocol): discovery, filter and PATCH-path grammars,
//! resource mapping, PATCH application and list planning. docs/scim.md describes the behaviour.

pub mod discovery;
pub mod filter;
pub mod path;

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
