//! A group, as stored (RFC 7643 §4.2; its members are separate items: `store::GroupStore`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

impl Group {
    /// The group as first stored: a fresh id, version 1 (as [`super::User::create`]).
    pub fn create(display_name: &str, external_id: Option<&str>, now: i64) -> Group {
        Group {
            id: uuid::Uuid::new_v4().to_string(),
            display_name: display_name.to_string(),
            external_id: external_id.map(str::to_string),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// What a change read at `next.version` is written as: one version on, `updated_at` now. The
    /// one place that bumps a group's version (member changes never do: `store::GroupStore`).
    pub fn successor(next: &Group, now: i64) -> Group {
        Group {
            version: next.version + 1,
            updated_at: now,
            ..next.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_successor_is_one_version_on_and_a_new_group_starts_at_one() {
        let g = Group::create("Eng", Some("e1"), 10);
        assert_eq!((g.version, g.created_at, g.updated_at), (1, 10, 10));
        assert_ne!(g.id, Group::create("Eng", None, 10).id);
        let next = Group::successor(&g, 20);
        assert_eq!(
            (next.version, next.created_at, next.updated_at),
            (2, 10, 20)
        );
        assert_eq!(next.display_name, "Eng");
    }
}
