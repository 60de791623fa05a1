//! What the management API needs of the store beyond the SCIM traits: key-ordered listings that
//! resume after a key (so a walk returns each item once, also while items are created: new
//! items land before or after the position, never twice), and the org deletion.

use std::future::Future;

use super::{Group, StoreResult, User};

/// One page of a key-ordered listing: the items and the key of the last one, when more may follow.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyPage<T> {
    pub items: Vec<T>,
    /// Resume after this (an org name, a user or group id): `None` at the end.
    pub last: Option<String>,
}

/// Filters of `GET /api/v1/orgs/{org}/users` (all that are set must hold).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserFilter {
    pub active: Option<bool>,
    /// Epoch seconds: users updated at or after.
    pub updated_since: Option<i64>,
    /// Case-insensitive (ASCII) match of the user's primary email or userName.
    pub email: Option<String>,
}

pub trait DirectoryStore {
    fn list_orgs_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<KeyPage<crate::model::Org>>> + Send;
    fn list_users_after(
        &self,
        org: &str,
        filter: &UserFilter,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<KeyPage<User>>> + Send;
    fn list_groups_after(
        &self,
        org: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<KeyPage<Group>>> + Send;
    /// Member user ids of the group, in id order.
    fn list_members_after(
        &self,
        org: &str,
        group_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<KeyPage<String>>> + Send;
    /// The users among `ids` (any order; missing ones left out). At most 100 ids.
    fn get_users(
        &self,
        org: &str,
        ids: &[String],
    ) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    /// Marks the org deleted and removes its record in one transaction: from then on every route
    /// of the org answers 404, and it cannot be re-created until its data is purged. `NotFound`
    /// if there is no such org.
    fn delete_org(&self, org: &str, now: i64) -> impl Future<Output = StoreResult<()>> + Send;
    /// Removes one bounded batch of a deleted org's items; `true` when nothing is left (and the
    /// deletion mark is gone, so the name is free again).
    fn purge_org_batch(&self, org: &str) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Orgs marked deleted whose data is not purged yet.
    fn pending_purges(&self) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
}
