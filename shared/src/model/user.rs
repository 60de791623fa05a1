//! A provisioned user, as stored (RFC 7643 §4.1 maps it to and from SCIM in `scim::user`).

use serde::{Deserialize, Serialize};

/// A provisioned user. `attributes` holds the rest of the SCIM resource (name, emails, enterprise
/// extension...) as given, minus anything we must not keep (passwords).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub attributes: serde_json::Value,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

/// What a caller supplies to create a user; the store assigns id, timestamps and version.
#[derive(Clone, Debug, PartialEq)]
pub struct NewUser {
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub attributes: serde_json::Value,
}
