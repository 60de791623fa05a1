//! Users and their case-insensitive userName claims.

use std::collections::HashMap;

use super::*;
use crate::model::event::{EventType, NewEvent};
use crate::model::shape::user_json;
use crate::model::user_name::UserName;
use crate::store::keys::*;
use crate::store::*;

/// The user's attributes (`records.rs`) with its keys: the item by id, the userName index
/// (gsi1) and, when it has one, the externalId index (gsi2).
pub(super) fn user_item(org: &str, u: &User) -> StoreResult<Item> {
    let mut item = user_attributes(u)?;
    item.insert("pk".into(), s(org_pk(org)));
    item.insert("sk".into(), s(user_sk(&u.id)));
    item.insert("gsi1pk".into(), s(user_name_index_pk(org, &u.user_name)));
    item.insert("gsi1sk".into(), s(&u.id));
    if let Some(ext) = &u.external_id {
        item.insert("gsi2pk".into(), s(user_external_index_pk(org, ext)));
        item.insert("gsi2sk".into(), s(&u.id));
    }
    item.insert("type".into(), s("user"));
    Ok(item)
}

use super::records::user_attributes;
pub(super) use super::records::user_from;

pub(super) fn claim_item(org: &str, user_name: &str, user_id: &str) -> Item {
    HashMap::from([
        ("pk".to_string(), s(org_pk(org))),
        ("sk".to_string(), s(user_name_claim_sk(user_name))),
        ("type".to_string(), s("user_name_claim")),
        ("user_id".to_string(), s(user_id)),
    ])
}

impl UserStore for DynamoStore {
    async fn create_user(&self, org: &str, new: NewUser, now: i64) -> StoreResult<User> {
        let user = User::create(new, now);
        // The user item and the userName claim are written together, each only if absent: two
        // concurrent creates of the same userName cannot both succeed.
        let items = vec![
            self.put(
                user_item(org, &user)?,
                Some("attribute_not_exists(pk)"),
                &[],
            )?,
            self.put(
                claim_item(org, &user.user_name, &user.id),
                Some("attribute_not_exists(pk)"),
                &[],
            )?,
            self.counter_add(org, "USER", 1)?,
        ];
        let event = NewEvent::new(EventType::UserCreated, user_json(&user));
        match self
            .transact_with_events(org, items, vec![event], now)
            .await
        {
            Ok(()) => Ok(user),
            Err(TxError::Condition(codes)) if failed(&codes, 1) => Err(StoreError::Uniqueness {
                attribute: "userName",
            }),
            Err(TxError::Condition(_)) => Err(StoreError::AlreadyExists(Entity::User)),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn get_user(&self, org: &str, id: &str) -> StoreResult<Option<User>> {
        self.get(org_pk(org), &user_sk(id))
            .await?
            .as_ref()
            .map(user_from)
            .transpose()
    }

    async fn find_user_by_user_name(
        &self,
        org: &str,
        user_name: &UserName,
    ) -> StoreResult<Option<User>> {
        let (items, _) = self
            .query_page(
                Some("gsi1"),
                "gsi1pk",
                &user_name_index_pk(org, user_name.key()),
                None,
                None,
                Some(2),
            )
            .await?;
        items.first().map(user_from).transpose()
    }

    async fn update_user(&self, org: &str, user: &User, now: i64) -> StoreResult<User> {
        let stored = self
            .get_user(org, &user.id)
            .await?
            .ok_or(StoreError::NotFound(Entity::User))?;
        self.replace_user(org, &stored, user, now).await
    }

    async fn replace_user(
        &self,
        org: &str,
        stored: &User,
        user: &User,
        now: i64,
    ) -> StoreResult<User> {
        let next = User::successor(stored, user, now);
        let mut items = vec![self.put(
            user_item(org, &next)?,
            Some("version = :v"),
            &[(":v", n(user.version))],
        )?];
        let renamed = fold(&stored.user_name) != fold(&next.user_name);
        if renamed {
            items.push(self.put(
                claim_item(org, &next.user_name, &next.id),
                Some("attribute_not_exists(pk)"),
                &[],
            )?);
            items.push(self.delete(
                org_pk(org),
                user_name_claim_sk(&stored.user_name),
                None,
                &[],
            )?);
        }
        let kind = match (stored.active, next.active) {
            (true, false) => EventType::UserDeactivated,
            (false, true) => EventType::UserReactivated,
            _ => EventType::UserUpdated,
        };
        let event = NewEvent::new(kind, user_json(&next));
        match self
            .transact_with_events(org, items, vec![event], now)
            .await
        {
            Ok(()) => Ok(next),
            Err(TxError::Condition(codes)) if failed(&codes, 0) => Err(StoreError::VersionConflict),
            Err(TxError::Condition(_)) => Err(StoreError::Uniqueness {
                attribute: "userName",
            }),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn delete_user(&self, org: &str, id: &str, version: Option<u64>) -> StoreResult<()> {
        let user = self
            .get_user(org, id)
            .await?
            .ok_or(StoreError::NotFound(Entity::User))?;
        // If-Match's version: changed since, nothing goes (the transaction below is conditional
        // on the version read, so a change after this read is a conflict too).
        if version.is_some_and(|v| v != user.version) {
            return Err(StoreError::VersionConflict);
        }
        // Sessions and memberships go first, then the user with its userName claim and the
        // counter in one transaction. A failure at any step leaves the user in place, so the
        // client's retry of the DELETE repeats every step (each is idempotent) and finishes; the
        // other order would leave sessions behind that no retry could find (404).
        let groups = self.groups_of_user(org, id).await?;
        let mut keys: Vec<(String, String)> = Vec::new();
        let sessions = self
            .query_all(
                Some("gsi1"),
                "gsi1pk",
                &user_sessions_index_pk(org, id),
                None,
            )
            .await?;
        let (grants, sessions): (Vec<Item>, Vec<Item>) =
            sessions.into_iter().partition(super::oidc::is_grant);
        for item in sessions {
            keys.push((get_s(&item, "pk")?, SESSION_SK.to_string()));
        }
        keys.extend(groups.iter().map(|g| (members_pk(org, g), member_sk(id))));
        self.batch_delete(keys).await?;
        // OIDC grants end with the sessions (their back-channel logouts queued), before the user.
        self.end_grant_items(org, &grants, wall_clock()).await?;
        let items = vec![
            self.delete(
                org_pk(org),
                user_sk(id),
                Some("version = :v"),
                &[(":v", n(user.version))],
            )?,
            self.delete(org_pk(org), user_name_claim_sk(&user.user_name), None, &[])?,
            self.counter_add(org, "USER", -1)?,
        ];
        // One event: the user's memberships and sessions went with it (docs/api.md, "Events").
        let event = NewEvent::new(EventType::UserDeleted, user_json(&user));
        match self
            .transact_with_events(org, items, vec![event], wall_clock())
            .await
        {
            Ok(()) => Ok(()),
            Err(TxError::Condition(_)) => Err(StoreError::VersionConflict),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn list_users(
        &self,
        org: &str,
        cursor: Option<&str>,
        limit: i32,
    ) -> StoreResult<Page<User>> {
        let (items, next) = self
            .query_page(
                None,
                "pk",
                &org_pk(org),
                Some(("sk", USER_SK_PREFIX)),
                cursor,
                Some(limit.max(1)),
            )
            .await?;
        Ok(Page {
            items: items.iter().map(user_from).collect::<StoreResult<_>>()?,
            next,
        })
    }

    async fn find_users_by_external_id(
        &self,
        org: &str,
        external_id: &str,
    ) -> StoreResult<Vec<User>> {
        let items = self
            .query_all(
                Some("gsi2"),
                "gsi2pk",
                &user_external_index_pk(org, external_id),
                None,
            )
            .await?;
        items.iter().map(user_from).collect()
    }

    async fn list_users_at(
        &self,
        org: &str,
        start: usize,
        count: usize,
        now: i64,
    ) -> StoreResult<OffsetPage<User>> {
        let total = self.count_of(org, "USER").await?;
        // Past the last user (RFC 7644 §3.4.2.4): an empty page, answered from the counter
        // without skip-scanning the partition to find out.
        if start as u64 > total {
            return Ok(OffsetPage {
                items: Vec::new(),
                total,
            });
        }
        let items = self
            .offset_page(org, "USER", USER_SK_PREFIX, start, count, now)
            .await?;
        Ok(OffsetPage {
            items: items.iter().map(user_from).collect::<StoreResult<_>>()?,
            total,
        })
    }

    async fn missing_users(&self, org: &str, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut unique: Vec<String> = ids.to_vec();
        unique.sort();
        unique.dedup();
        let found = self
            .batch_get(unique.iter().map(|id| (org_pk(org), user_sk(id))).collect())
            .await?;
        let found: std::collections::HashSet<String> =
            found.iter().filter_map(|i| get_opt_s(i, "id")).collect();
        Ok(unique
            .into_iter()
            .filter(|id| !found.contains(id))
            .collect())
    }

    async fn reissue_user(
        &self,
        org: &str,
        old: &User,
        new: NewUser,
        now: i64,
    ) -> StoreResult<User> {
        let user = User::create(new, now);
        // The retired copy keeps the old record for audit, outside every index and listing.
        let mut retired: Item = HashMap::new();
        retired.insert("pk".into(), s(org_pk(org)));
        retired.insert("sk".into(), s(retired_user_sk(&old.id)));
        retired.insert("type".into(), s("retired_user"));
        retired.insert(
            "doc".into(),
            s(serde_json::to_string(old).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        );
        retired.insert("retired_at".into(), n(now));
        let mut items = vec![
            self.delete(
                org_pk(org),
                user_sk(&old.id),
                Some("version = :v"),
                &[(":v", n(old.version))],
            )?,
            self.put(retired, None, &[])?,
            self.put(
                user_item(org, &user)?,
                Some("attribute_not_exists(pk)"),
                &[],
            )?,
        ];
        if fold(&old.user_name) == fold(&user.user_name) {
            // Same claim item: hand it over to the new id (it still belongs to the old one).
            items.push(self.put(
                claim_item(org, &user.user_name, &user.id),
                Some("user_id = :old"),
                &[(":old", s(&old.id))],
            )?);
        } else {
            items.push(self.delete(org_pk(org), user_name_claim_sk(&old.user_name), None, &[])?);
            items.push(self.put(
                claim_item(org, &user.user_name, &user.id),
                Some("attribute_not_exists(pk)"),
                &[],
            )?);
        }
        let events = vec![
            NewEvent::new(EventType::UserDeleted, user_json(old)),
            NewEvent::new(EventType::UserCreated, user_json(&user)),
        ];
        match self.transact_with_events(org, items, events, now).await {
            Ok(()) => {}
            Err(TxError::Condition(codes)) if failed(&codes, 0) => {
                return Err(StoreError::VersionConflict)
            }
            Err(TxError::Condition(_)) => {
                return Err(StoreError::Uniqueness {
                    attribute: "userName",
                })
            }
            Err(TxError::Store(e)) => return Err(e),
        }
        // Memberships belonged to the old identity: a fresh user starts without groups.
        let groups = self.groups_of_user(org, &old.id).await?;
        self.batch_delete(
            groups
                .iter()
                .map(|g| (members_pk(org, g), member_sk(&old.id)))
                .collect(),
        )
        .await?;
        Ok(user)
    }
}

impl DynamoStore {
    /// Bulk load of users (benchmarks, migrations from another system): user and userName-claim
    /// items by BatchWriteItem, the org's counter raised once. Unlike `create_user` nothing is
    /// conditional: the caller guarantees unique, new userNames. Never used on a request path.
    pub async fn bulk_import_users(
        &self,
        org: &str,
        users: Vec<NewUser>,
        now: i64,
    ) -> StoreResult<Vec<String>> {
        let mut items = Vec::with_capacity(users.len() * 2);
        let mut ids = Vec::with_capacity(users.len());
        for new in users {
            let u = User::create(new, now);
            items.push(user_item(org, &u)?);
            items.push(claim_item(org, &u.user_name, &u.id));
            ids.push(u.id);
        }
        self.batch_put(items).await?;
        self.bump_counter(org, "USER", ids.len() as i64).await?;
        Ok(ids)
    }
}

impl DynamoStore {
    /// One-off migration for the userName case rule (docs/scim.md, "User names"): keys written
    /// before it used Unicode lowercasing, so a name with an uppercase non-ASCII letter (`Åsa@x`)
    /// sits under a key today's lookups never build. Re-keys every such user (index key and
    /// userName claim, one transaction each, at the version read) and group (index key), page by
    /// page; returns how many items changed. Idempotent; never used on a request path. No new key
    /// can collide: names equal under ASCII folding were equal under the old rule too.
    pub async fn rekey_folded_names(&self, org: &str) -> StoreResult<usize> {
        let index_prefix = format!("ORG#{org}#UN#");
        let mut changed = 0;
        let mut cursor: Option<String> = None;
        loop {
            let (items, next) = self
                .query_page(
                    None,
                    "pk",
                    &org_pk(org),
                    Some(("sk", USER_SK_PREFIX)),
                    cursor.as_deref(),
                    Some(500),
                )
                .await?;
            for item in &items {
                let user = user_from(item)?;
                let stored = get_opt_s(item, "gsi1pk").unwrap_or_default();
                if stored == user_name_index_pk(org, &user.user_name) {
                    continue;
                }
                let old_key = stored.strip_prefix(&index_prefix).ok_or_else(|| {
                    StoreError::Corrupt(format!("user {} has no userName key", user.id))
                })?;
                let tx = vec![
                    self.put(
                        user_item(org, &user)?,
                        Some("version = :v"),
                        &[(":v", n(user.version))],
                    )?,
                    self.put(
                        claim_item(org, &user.user_name, &user.id),
                        Some("attribute_not_exists(pk)"),
                        &[],
                    )?,
                    self.delete(
                        org_pk(org),
                        format!("UN#{old_key}"),
                        Some("user_id = :id"),
                        &[(":id", s(&user.id))],
                    )?,
                ];
                match self.transact(tx).await {
                    Ok(()) => changed += 1,
                    // Changed meanwhile (re-run the migration), or an inconsistent claim.
                    Err(TxError::Condition(_)) => return Err(StoreError::VersionConflict),
                    Err(TxError::Store(e)) => return Err(e),
                }
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(changed + self.rekey_group_names(org).await?)
    }
}
