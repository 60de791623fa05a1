//! The management API's store traits on [`MemoryStore`]: keys, key-ordered listings and org
//! deletion as the DynamoDB store does them. The events outbox is DynamoDB's alone: this store
//! records no events, so its feed is always empty (docs/api.md).

use super::*;
use crate::model::api_key::ApiKey;
use crate::model::event::EventPage;
use crate::store::api_keys::ApiKeyStore;
use crate::store::directory::{DirectoryStore, KeyPage, UserFilter};
use crate::store::events::EventStore;

fn page_after<T: Clone>(
    items: impl Iterator<Item = (String, T)>,
    after: Option<&str>,
    limit: usize,
) -> KeyPage<T> {
    let mut out: Vec<(String, T)> = items
        .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
        .take(limit + 1)
        .collect();
    let more = out.len() > limit;
    out.truncate(limit);
    KeyPage {
        last: if more {
            out.last().map(|(k, _)| k.clone())
        } else {
            None
        },
        items: out.into_iter().map(|(_, v)| v).collect(),
    }
}

impl ApiKeyStore for MemoryStore {
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.api_keys.values().any(|k| k.name == key.name) {
            return Err(StoreError::AlreadyExists(Entity::ApiKey));
        }
        st.api_keys.insert(key.key_hash.clone(), key.clone());
        Ok(())
    }
    async fn find_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
        Ok(self.lock()?.api_keys.get(key_hash).cloned())
    }
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let mut keys: Vec<ApiKey> = self.lock()?.api_keys.values().cloned().collect();
        keys.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        Ok(keys)
    }
    async fn delete_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        match self.lock()?.api_keys.remove(&key.key_hash) {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound(Entity::ApiKey)),
        }
    }
}

impl DirectoryStore for MemoryStore {
    async fn list_orgs_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<KeyPage<Org>> {
        let st = self.lock()?;
        let orgs = st
            .orgs
            .iter()
            .filter_map(|(k, d)| d.org.clone().map(|o| (k.clone(), o)));
        Ok(page_after(orgs, after, limit))
    }
    async fn list_users_after(
        &self,
        org: &str,
        filter: &UserFilter,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<KeyPage<User>> {
        let st = self.lock()?;
        let Some(data) = st.orgs.get(org) else {
            return Ok(KeyPage {
                items: Vec::new(),
                last: None,
            });
        };
        let users = data
            .users
            .iter()
            .filter(|(_, u)| {
                filter.active.is_none_or(|a| a == u.active)
                    && filter.updated_since.is_none_or(|t| u.updated_at >= t)
                    && filter.email.as_ref().is_none_or(|e| {
                        u.user_name.eq_ignore_ascii_case(e)
                            || crate::model::shape::primary_email(u)
                                .is_some_and(|p| p.eq_ignore_ascii_case(e))
                    })
            })
            .map(|(k, u)| (k.clone(), u.clone()));
        Ok(page_after(users, after, limit))
    }
    async fn list_groups_after(
        &self,
        org: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<KeyPage<Group>> {
        let st = self.lock()?;
        let groups: Vec<(String, Group)> = st
            .orgs
            .get(org)
            .map(|d| {
                d.groups
                    .iter()
                    .map(|(k, g)| (k.clone(), g.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(page_after(groups.into_iter(), after, limit))
    }
    async fn list_members_after(
        &self,
        org: &str,
        group_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<KeyPage<String>> {
        let st = self.lock()?;
        let ids: Vec<(String, String)> = st
            .orgs
            .get(org)
            .map(|d| {
                d.members
                    .iter()
                    .filter(|(g, _)| g == group_id)
                    .map(|(_, u)| (u.clone(), u.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(page_after(ids.into_iter(), after, limit))
    }
    async fn get_users(&self, org: &str, ids: &[String]) -> StoreResult<Vec<User>> {
        let st = self.lock()?;
        Ok(st
            .orgs
            .get(org)
            .map(|d| {
                ids.iter()
                    .take(100)
                    .filter_map(|id| d.user(id).cloned())
                    .collect()
            })
            .unwrap_or_default())
    }
    /// The org and all its data go at once: nothing is left to purge.
    async fn delete_org(&self, org: &str, _now: i64) -> StoreResult<()> {
        let mut st = self.lock()?;
        match st.orgs.get(org).and_then(|d| d.org.as_ref()) {
            Some(_) => {
                st.orgs.remove(org);
                Ok(())
            }
            None => Err(StoreError::NotFound(Entity::Organization)),
        }
    }
    async fn purge_org_batch(&self, _org: &str) -> StoreResult<bool> {
        Ok(true)
    }
    async fn pending_purges(&self) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }
}

impl EventStore for MemoryStore {
    async fn org_events_after(
        &self,
        _org: &str,
        after: u64,
        _limit: usize,
        _now: i64,
    ) -> StoreResult<EventPage> {
        Ok(EventPage {
            events: Vec::new(),
            position: (after > 0).then(|| after.to_string()),
            more: false,
        })
    }
    async fn all_events_after(
        &self,
        after: Option<&str>,
        _limit: usize,
        _now: i64,
    ) -> StoreResult<EventPage> {
        Ok(EventPage {
            events: Vec::new(),
            position: after.map(str::to_string),
            more: false,
        })
    }
}
