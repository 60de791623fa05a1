//! Key layout of the single table. Every partition key starts with `ORG#{org}#` or is `ORG#{org}`,
//! so no query can cross organizations. Org names are `[a-z0-9-]` (see `org::validate_org_name`)
//! and ids are UUIDs, so `#` can only appear in the last, free-text component of a key.
//!
//! | item                | pk                              | sk                 | gsi1pk / gsi1sk                      | gsi2pk / gsi2sk |
//! |---------------------|---------------------------------|--------------------|--------------------------------------|-----------------|
//! | organization        | `ORG#{org}`                     | `ORG`              | `ORGS` / `{org}`                     |                 |
//! | user                | `ORG#{org}`                     | `USER#{id}`        | `ORG#{org}#UN#{lower userName}` / id | `ORG#{org}#UEXT#{externalId}` / id |
//! | userName claim      | `ORG#{org}`                     | `UN#{lower userName}` |                                   |                 |
//! | group               | `ORG#{org}`                     | `GROUP#{id}`       | `ORG#{org}#GN#{lower displayName}` / id | `ORG#{org}#GEXT#{externalId}` / id |
//! | membership          | `ORG#{org}#GROUP#{gid}`         | `MEMBER#{uid}`     | `ORG#{org}#MEMBEROF#{uid}` / gid     |                 |
//! | resource counter    | `ORG#{org}`                     | `COUNT#{USER,GROUP}` |                                    |                 |
//! | paging cursor       | `ORG#{org}#PAGE#{kind}#{start}` | `PAGE`             |                                      |                 |
//! | retired user        | `ORG#{org}`                     | `RETIRED#{id}`     |                                      |                 |
//! | session             | `ORG#{org}#SESSION#{hash}`      | `SESSION`          | `ORG#{org}#USESS#{uid}` / hash       | `ORG#{org}#SIGNIN#{sign-in id}` / hash |
//! | AuthnRequest ID     | `ORG#{org}#AUTHNREQ#{id}`       | `AUTHNREQ`         |                                      |                 |
//! | seen assertion ID   | `ORG#{org}#ASSERTION#{id}`      | `ASSERTION`        |                                      |                 |
//!
//! Sessions and SAML IDs get partitions of their own so sign-in traffic spreads across partitions.

pub const TTL_ATTR: &str = "expires_at";

pub fn org_pk(org: &str) -> String {
    format!("ORG#{org}")
}
pub const ORG_SK: &str = "ORG";
pub const ORGS_INDEX_PK: &str = "ORGS";

pub fn user_sk(id: &str) -> String {
    format!("USER#{id}")
}
pub const USER_SK_PREFIX: &str = "USER#";

/// Case-insensitive form of a userName or group displayName (RFC 7643 §4.1.1 / §4.2:
/// caseExact=false): ASCII letters fold, nothing else (the rule and why: `scim/user_name.rs`).
/// Applied to stored strings too, so items written before a rule change keep findable keys only
/// after `DynamoStore::rekey_folded_names` (docs/scim.md, "User names").
pub fn fold(name: &str) -> String {
    crate::model::user_name::fold(name)
}
pub fn user_name_claim_sk(user_name: &str) -> String {
    format!("UN#{}", fold(user_name))
}
pub fn user_name_index_pk(org: &str, user_name: &str) -> String {
    format!("ORG#{org}#UN#{}", fold(user_name))
}
pub fn user_external_index_pk(org: &str, external_id: &str) -> String {
    format!("ORG#{org}#UEXT#{external_id}")
}

pub fn group_sk(id: &str) -> String {
    format!("GROUP#{id}")
}
pub fn group_name_index_pk(org: &str, display_name: &str) -> String {
    format!("ORG#{org}#GN#{}", fold(display_name))
}
pub fn group_external_index_pk(org: &str, external_id: &str) -> String {
    format!("ORG#{org}#GEXT#{external_id}")
}
pub fn members_pk(org: &str, group_id: &str) -> String {
    format!("ORG#{org}#GROUP#{group_id}")
}
pub fn member_sk(user_id: &str) -> String {
    format!("MEMBER#{user_id}")
}
pub const MEMBER_SK_PREFIX: &str = "MEMBER#";
pub fn member_of_index_pk(org: &str, user_id: &str) -> String {
    format!("ORG#{org}#MEMBEROF#{user_id}")
}

pub fn session_pk(org: &str, token_hash: &str) -> String {
    format!("ORG#{org}#SESSION#{token_hash}")
}
pub const SESSION_SK: &str = "SESSION";
pub fn user_sessions_index_pk(org: &str, user_id: &str) -> String {
    format!("ORG#{org}#USESS#{user_id}")
}

/// Every session one sign-in opened (browser + code exchange), so logout ends them together.
pub fn sign_in_sessions_index_pk(org: &str, sign_in_id: &str) -> String {
    format!("ORG#{org}#SIGNIN#{sign_in_id}")
}

pub fn authn_request_pk(org: &str, id: &str) -> String {
    format!("ORG#{org}#AUTHNREQ#{id}")
}
pub const AUTHN_REQUEST_SK: &str = "AUTHNREQ";
pub fn assertion_pk(org: &str, id: &str) -> String {
    format!("ORG#{org}#ASSERTION#{id}")
}
pub const ASSERTION_SK: &str = "ASSERTION";

/// Per-org count of users or groups, maintained in the transactions that create and delete them,
/// so `totalResults` costs one GetItem.
pub fn counter_sk(kind: &str) -> String {
    format!("COUNT#{kind}")
}
/// Where a listing walk left off: the DynamoDB key after item `start - 1` (1-based SCIM
/// startIndex), so the next page continues without skipping (docs/scim.md, "Paging").
pub fn page_cursor_pk(org: &str, kind: &str, start: usize) -> String {
    format!("ORG#{org}#PAGE#{kind}#{start}")
}
pub const PAGE_CURSOR_SK: &str = "PAGE";
pub fn retired_user_sk(id: &str) -> String {
    format!("RETIRED#{id}")
}
pub const GROUP_SK_PREFIX: &str = "GROUP#";

// ---- OpenID Connect provider (store/oidc.rs) -------------------------------------------------
//
// | item                  | pk                              | sk        | gsi1pk / gsi1sk                       |
// |-----------------------|---------------------------------|-----------|---------------------------------------|
// | app client            | `APP#{client_id}`               | `APP`     | `APPS` / client_id                    |
// | authorization request | `ORG#{org}#OIDCREQ#{authn id}`  | `OIDCREQ` |                                       |
// | grant (access token)  | `ORG#{org}#GRANT#{token hash}`  | `GRANT`   | `ORG#{org}#USESS#{uid}` / token hash  |
// | back-channel notice   | `ORG#{org}#BCL#{token hash}`    | `BCL`     | `BCLQUEUE` / `{queued at}#{org}#{hash}` |
//
// App clients are deployment-level (one SaaS app serves every org), the only keys not under an
// org. Grants share the user's session index partition, so everything that ends a user's sessions
// (SCIM deactivation, deletion) finds their grants too.

pub fn app_client_pk(client_id: &str) -> String {
    format!("APP#{client_id}")
}
pub const APP_CLIENT_SK: &str = "APP";
pub const APP_CLIENTS_INDEX_PK: &str = "APPS";

pub fn oidc_request_pk(org: &str, id: &str) -> String {
    format!("ORG#{org}#OIDCREQ#{id}")
}
pub const OIDC_REQUEST_SK: &str = "OIDCREQ";

pub fn grant_pk(org: &str, token_hash: &str) -> String {
    format!("ORG#{org}#GRANT#{token_hash}")
}
pub const GRANT_SK: &str = "GRANT";
/// The `type` attribute of grant items, which share the user-session index with sessions.
pub const GRANT_TYPE: &str = "oidc_grant";

pub fn logout_notice_pk(org: &str, token_hash: &str) -> String {
    format!("ORG#{org}#BCL#{token_hash}")
}
pub const LOGOUT_NOTICE_SK: &str = "BCL";
pub const LOGOUT_QUEUE_INDEX_PK: &str = "BCLQUEUE";
/// The `type` attribute of notices: the DynamoDB Stream filter of template.yaml matches on it.
pub const LOGOUT_NOTICE_TYPE: &str = "backchannel_logout";

// ---- SCIM rate limit (scim/rate_limit.rs) ---------------------------------------------------

/// How long a window's counter is kept (DynamoDB TTL): long after its second, so that a deleted
/// counter can never be re-created for a window still in use.
pub const WINDOW_TTL_SECONDS: i64 = 120;

/// The key of the counter of `org` for the second `now` (epoch seconds).
pub fn scim_rate_window_pk(org: &str, now: i64) -> String {
    format!("ORG#{org}#RATE#SCIM#{now}")
}

#[cfg(test)]
mod rate_window_tests {
    use super::*;

    #[test]
    fn rate_counters_are_per_organization_and_per_second() {
        assert_ne!(scim_rate_window_pk("a", 10), scim_rate_window_pk("b", 10));
        assert_ne!(scim_rate_window_pk("a", 10), scim_rate_window_pk("a", 11));
        assert!(scim_rate_window_pk("acme", 10).starts_with("ORG#acme#"));
    }
}
