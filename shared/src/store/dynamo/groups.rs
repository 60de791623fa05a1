//! Groups, and memberships as one item per member.

use std::collections::HashMap;

use super::*;
use crate::model::event::{EventType, NewEvent};
use crate::store::keys::*;
use crate::store::*;

/// The group's attributes (`records.rs`) with its keys: the item by id, the displayName index
/// (gsi1) and, when it has one, the externalId index (gsi2).
pub(super) fn group_item(org: &str, g: &Group) -> StoreResult<Item> {
    let mut item = group_attributes(g)?;
    item.insert("pk".into(), s(org_pk(org)));
    item.insert("sk".into(), s(group_sk(&g.id)));
    item.insert(
        "gsi1pk".into(),
        s(group_name_index_pk(org, &g.display_name)),
    );
    item.insert("gsi1sk".into(), s(&g.id));
    if let Some(ext) = &g.external_id {
        item.insert("gsi2pk".into(), s(group_external_index_pk(org, ext)));
        item.insert("gsi2sk".into(), s(&g.id));
    }
    item.insert("type".into(), s("group"));
    Ok(item)
}

use super::records::group_attributes;
pub(super) use super::records::group_from;

fn member_item(org: &str, group_id: &str, uid: &str, now: i64) -> Item {
    HashMap::from([
        ("pk".to_string(), s(members_pk(org, group_id))),
        ("sk".to_string(), s(member_sk(uid))),
        ("gsi1pk".to_string(), s(member_of_index_pk(org, uid))),
        ("gsi1sk".to_string(), s(group_id)),
        ("type".to_string(), s("membership")),
        ("user_id".to_string(), s(uid)),
        ("group_id".to_string(), s(group_id)),
        ("created_at".to_string(), n(now)),
    ])
}

impl DynamoStore {
    /// userNames of the users among `ids`, for member events (one BatchGetItem per 100).
    async fn user_names(
        &self,
        org: &str,
        ids: &[String],
    ) -> StoreResult<std::collections::HashMap<String, String>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        Ok(self
            .batch_get(ids.iter().map(|id| (org_pk(org), user_sk(id))).collect())
            .await?
            .iter()
            .filter_map(|i| Some((get_opt_s(i, "id")?, get_opt_s(i, "user_name")?)))
            .collect())
    }
}

impl GroupStore for DynamoStore {
    async fn create_group(
        &self,
        org: &str,
        display_name: &str,
        external_id: Option<&str>,
        now: i64,
    ) -> StoreResult<Group> {
        self.create_group_with_members(org, display_name, external_id, &[], now)
            .await
    }

    async fn create_group_with_members(
        &self,
        org: &str,
        display_name: &str,
        external_id: Option<&str>,
        members: &[String],
        now: i64,
    ) -> StoreResult<Group> {
        let group = Group::create(display_name, external_id, now);
        let mut items = vec![
            self.put(
                group_item(org, &group)?,
                Some("attribute_not_exists(pk)"),
                &[],
            )?,
            self.counter_add(org, "GROUP", 1)?,
        ];
        let (first, rest) = members.split_at(members.len().min(FIRST_MEMBERS));
        let mut events = vec![NewEvent::new(
            EventType::GroupCreated,
            crate::model::shape::group_json(&group),
        )];
        let names = self.user_names(org, first).await?;
        for uid in first {
            items.push(self.exists_check(org_pk(org), user_sk(uid))?);
            items.push(self.put(member_item(org, &group.id, uid, now), None, &[])?);
            events.push(NewEvent::member(
                EventType::GroupMemberAdded,
                (&group.id, &group.display_name),
                (uid, names.get(uid).map(String::as_str).unwrap_or("")),
            ));
        }
        match self.transact_with_events(org, items, events, now).await {
            Ok(()) => {}
            Err(TxError::Condition(codes)) if failed(&codes, 0) => {
                return Err(StoreError::AlreadyExists(Entity::Group))
            }
            Err(TxError::Condition(_)) => return Err(StoreError::NotFound(Entity::User)),
            Err(TxError::Store(e)) => return Err(e),
        }
        if !rest.is_empty() {
            self.add_members(org, &group.id, rest, now).await?;
        }
        Ok(group)
    }

    async fn get_group(&self, org: &str, id: &str) -> StoreResult<Option<Group>> {
        self.get(org_pk(org), &group_sk(id))
            .await?
            .as_ref()
            .map(group_from)
            .transpose()
    }

    async fn add_members(
        &self,
        org: &str,
        group_id: &str,
        user_ids: &[String],
        now: i64,
    ) -> StoreResult<()> {
        // Each chunk checks that the group and every added user exist in this org, and writes one
        // membership item per user: O(k) writes for k members, whatever the group's size.
        // Each membership's event goes in its chunk's transaction (group check, counter, and per
        // member a check, a put and an event: 100 items at most).
        let display_name = match self.get_group(org, group_id).await? {
            Some(g) => g.display_name,
            None => return Err(StoreError::NotFound(Entity::Group)),
        };
        for chunk in user_ids.chunks(FIRST_MEMBERS) {
            let names = self.user_names(org, chunk).await?;
            let mut items = vec![self.exists_check(org_pk(org), group_sk(group_id))?];
            let mut events = Vec::new();
            for uid in chunk {
                items.push(self.exists_check(org_pk(org), user_sk(uid))?);
                items.push(self.put(member_item(org, group_id, uid, now), None, &[])?);
                events.push(NewEvent::member(
                    EventType::GroupMemberAdded,
                    (group_id, &display_name),
                    (uid, names.get(uid).map(String::as_str).unwrap_or("")),
                ));
            }
            match self.transact_with_events(org, items, events, now).await {
                Ok(()) => {}
                Err(TxError::Condition(codes)) if failed(&codes, 0) => {
                    return Err(StoreError::NotFound(Entity::Group))
                }
                Err(TxError::Condition(_)) => return Err(StoreError::NotFound(Entity::User)),
                Err(TxError::Store(e)) => return Err(e),
            }
        }
        Ok(())
    }

    async fn remove_members(
        &self,
        org: &str,
        group_id: &str,
        user_ids: &[String],
    ) -> StoreResult<()> {
        // Only memberships that exist are removed, each with its event, in transactions of
        // [`FIRST_MEMBERS`]: a removal of someone who was not a member changes nothing and says so.
        let Some(group) = self.get_group(org, group_id).await? else {
            return Ok(());
        };
        let now = wall_clock();
        for chunk in user_ids.chunks(FIRST_MEMBERS) {
            let present: Vec<String> = self
                .batch_get(
                    chunk
                        .iter()
                        .map(|u| (members_pk(org, group_id), member_sk(u)))
                        .collect(),
                )
                .await?
                .iter()
                .filter_map(|i| get_opt_s(i, "sk"))
                .map(|sk| sk.trim_start_matches(MEMBER_SK_PREFIX).to_string())
                .collect();
            if present.is_empty() {
                continue;
            }
            let names = self.user_names(org, &present).await?;
            let mut items = Vec::new();
            let mut events = Vec::new();
            for uid in &present {
                items.push(self.delete(members_pk(org, group_id), member_sk(uid), None, &[])?);
                events.push(NewEvent::member(
                    EventType::GroupMemberRemoved,
                    (group_id, &group.display_name),
                    (uid, names.get(uid).map(String::as_str).unwrap_or("")),
                ));
            }
            match self.transact_with_events(org, items, events, now).await {
                Ok(()) | Err(TxError::Condition(_)) => {}
                Err(TxError::Store(e)) => return Err(e),
            }
        }
        Ok(())
    }

    async fn list_members(
        &self,
        org: &str,
        group_id: &str,
        cursor: Option<&str>,
        limit: i32,
    ) -> StoreResult<Page<String>> {
        let (items, next) = self
            .query_page(
                None,
                "pk",
                &members_pk(org, group_id),
                Some(("sk", MEMBER_SK_PREFIX)),
                cursor,
                Some(limit.max(1)),
            )
            .await?;
        Ok(Page {
            items: items
                .iter()
                .map(|i| get_s(i, "user_id"))
                .collect::<StoreResult<_>>()?,
            next,
        })
    }

    async fn groups_of_user(&self, org: &str, user_id: &str) -> StoreResult<Vec<String>> {
        let items = self
            .query_all(
                Some("gsi1"),
                "gsi1pk",
                &member_of_index_pk(org, user_id),
                None,
            )
            .await?;
        items.iter().map(|i| get_s(i, "group_id")).collect()
    }

    async fn get_groups(&self, org: &str, ids: &[String]) -> StoreResult<Vec<Group>> {
        let items = self
            .batch_get(ids.iter().map(|id| (org_pk(org), group_sk(id))).collect())
            .await?;
        items.iter().map(group_from).collect()
    }

    async fn update_group(&self, org: &str, group: &Group, now: i64) -> StoreResult<Group> {
        let next = Group::successor(group, now);
        let items = vec![self.put(
            group_item(org, &next)?,
            Some("version = :v"),
            &[(":v", n(group.version))],
        )?];
        let event = NewEvent::new(
            EventType::GroupUpdated,
            crate::model::shape::group_json(&next),
        );
        match self
            .transact_with_events(org, items, vec![event], now)
            .await
        {
            Ok(()) => Ok(next),
            Err(TxError::Condition(_)) => Err(StoreError::VersionConflict),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn delete_group(&self, org: &str, id: &str, version: Option<u64>) -> StoreResult<()> {
        let delete = match version {
            Some(v) => self.delete(
                org_pk(org),
                group_sk(id),
                Some("attribute_exists(pk) AND version = :v"),
                &[(":v", n(v))],
            )?,
            None => self.delete(org_pk(org), group_sk(id), Some("attribute_exists(pk)"), &[])?,
        };
        let items = vec![delete, self.counter_add(org, "GROUP", -1)?];
        // One event however many members: `group.deleted` implies every membership ended
        // (docs/api.md, "Events": a 50k-member group is one event, not 50k).
        let event = NewEvent::new(EventType::GroupDeleted, serde_json::json!({ "id": id }));
        match self
            .transact_with_events(org, items, vec![event], wall_clock())
            .await
        {
            Ok(()) => {}
            Err(TxError::Condition(_)) if version.is_some() => {
                // Gone, or changed since the version the caller named.
                return Err(match self.get_group(org, id).await? {
                    Some(_) => StoreError::VersionConflict,
                    None => StoreError::NotFound(Entity::Group),
                });
            }
            Err(TxError::Condition(_)) => return Err(StoreError::NotFound(Entity::Group)),
            Err(TxError::Store(e)) => return Err(e),
        }
        // Memberships go after the group: a crash in between leaves only orphans that no reader
        // reaches (group lookups fail first), and a retried DELETE answers 404.
        let members = self
            .query_all(
                None,
                "pk",
                &members_pk(org, id),
                Some(("sk", MEMBER_SK_PREFIX)),
            )
            .await?;
        self.batch_delete(
            members
                .iter()
                .map(|i| Ok((get_s(i, "pk")?, get_s(i, "sk")?)))
                .collect::<StoreResult<_>>()?,
        )
        .await
    }

    async fn find_groups_by_display_name(
        &self,
        org: &str,
        display_name: &str,
    ) -> StoreResult<Vec<Group>> {
        let items = self
            .query_all(
                Some("gsi1"),
                "gsi1pk",
                &group_name_index_pk(org, display_name),
                None,
            )
            .await?;
        items.iter().map(group_from).collect()
    }

    async fn find_groups_by_external_id(
        &self,
        org: &str,
        external_id: &str,
    ) -> StoreResult<Vec<Group>> {
        let items = self
            .query_all(
                Some("gsi2"),
                "gsi2pk",
                &group_external_index_pk(org, external_id),
                None,
            )
            .await?;
        items.iter().map(group_from).collect()
    }

    async fn list_groups_at(
        &self,
        org: &str,
        start: usize,
        count: usize,
        now: i64,
    ) -> StoreResult<OffsetPage<Group>> {
        let total = self.count_of(org, "GROUP").await?;
        // Past the last group: an empty page without a skip-scan (as for users).
        if start as u64 > total {
            return Ok(OffsetPage {
                items: Vec::new(),
                total,
            });
        }
        let items = self
            .offset_page(org, "GROUP", GROUP_SK_PREFIX, start, count, now)
            .await?;
        Ok(OffsetPage {
            items: items.iter().map(group_from).collect::<StoreResult<_>>()?,
            total,
        })
    }
}

impl DynamoStore {
    /// Bulk load of membership items (benchmarks, migrations): unconditional BatchWriteItem, the
    /// caller guarantees the group and users exist. Never used on a request path.
    pub async fn bulk_import_members(
        &self,
        org: &str,
        group_id: &str,
        user_ids: &[String],
        now: i64,
    ) -> StoreResult<()> {
        self.batch_put(
            user_ids
                .iter()
                .map(|u| member_item(org, group_id, u, now))
                .collect(),
        )
        .await
    }
}

impl DynamoStore {
    /// The groups' half of [`DynamoStore::rekey_folded_names`]: rewrites `gsi1pk` where the
    /// stored displayName key was built by the old (Unicode lowercasing) rule.
    pub(super) async fn rekey_group_names(&self, org: &str) -> StoreResult<usize> {
        let mut changed = 0;
        let mut cursor: Option<String> = None;
        loop {
            let (items, next) = self
                .query_page(
                    None,
                    "pk",
                    &org_pk(org),
                    Some(("sk", GROUP_SK_PREFIX)),
                    cursor.as_deref(),
                    Some(500),
                )
                .await?;
            for item in &items {
                let g = group_from(item)?;
                if get_opt_s(item, "gsi1pk").as_deref()
                    == Some(group_name_index_pk(org, &g.display_name).as_str())
                {
                    continue;
                }
                let tx = vec![self.put(
                    group_item(org, &g)?,
                    Some("version = :v"),
                    &[(":v", n(g.version))],
                )?];
                match self.transact(tx).await {
                    Ok(()) => changed += 1,
                    Err(TxError::Condition(_)) => return Err(StoreError::VersionConflict),
                    Err(TxError::Store(e)) => return Err(e),
                }
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(changed)
    }
}
