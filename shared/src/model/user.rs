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

impl User {
    /// The user `new` becomes when first stored: a fresh id, version 1. The one constructor every
    /// store (and the first sign-in) uses, so ids and first versions follow one rule.
    pub fn create(new: NewUser, now: i64) -> User {
        User {
            id: uuid::Uuid::new_v4().to_string(),
            user_name: new.user_name,
            external_id: new.external_id,
            active: new.active,
            attributes: new.attributes,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// What `next` (a change of the record read as `stored`) is written as: the version after the
    /// one it was read at, `updated_at` now, `created_at` as stored. The one place that bumps a
    /// user's version: the write is conditional on `next.version` (RFC 7644 §3.14 ETags follow it).
    pub fn successor(stored: &User, next: &User, now: i64) -> User {
        User {
            version: next.version + 1,
            updated_at: now,
            created_at: stored.created_at,
            ..next.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_user(name: &str) -> NewUser {
        NewUser {
            user_name: name.into(),
            external_id: Some("ext".into()),
            active: true,
            attributes: serde_json::json!({"displayName": name}),
        }
    }

    #[test]
    fn a_created_user_starts_at_version_one_with_a_fresh_id() {
        let a = User::create(new_user("a@x"), 100);
        let b = User::create(new_user("a@x"), 100);
        assert_ne!(a.id, b.id);
        assert_eq!((a.version, a.created_at, a.updated_at), (1, 100, 100));
        assert_eq!(a.user_name, "a@x");
        assert_eq!(a.external_id.as_deref(), Some("ext"));
    }

    #[test]
    fn a_successor_is_one_version_on_keeps_its_creation_time_and_takes_the_change() {
        let stored = User::create(new_user("a@x"), 100);
        let mut change = stored.clone();
        change.user_name = "b@x".into();
        change.created_at = 5; // a client cannot move creation time
        let next = User::successor(&stored, &change, 200);
        assert_eq!(next.version, stored.version + 1);
        assert_eq!((next.created_at, next.updated_at), (100, 200));
        assert_eq!(next.user_name, "b@x");
        assert_eq!(next.id, stored.id);
    }
}
