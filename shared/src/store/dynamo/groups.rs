//! Groups, and memberships as one item per member.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use super::*;
use crate::store::keys::*;
use crate::store::*;

fn group_item(org: &str, g: &Group) -> Item {
    let mut item: Item = HashMap::new();
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
        item.insert("external_id".into(), s(ext));
    }
    item.insert("type".into(), s("group"));
    item.insert("id".into(), s(&g.id));
    item.insert("display_name".into(), s(&g.display_name));
    item.insert("created_at".into(), n(g.created_at));
    item.insert("updated_at".into(), n(g.updated_at));
    item.insert("version".into(), n(g.version));
    item
}

fn group_from(item: &Item) -> StoreResult<Group> {
    Ok(Group {
        id: get_s(item, "id")?,
        display_name: get_s(item, "display_name")?,
        external_id: get_opt_s(item, "external_id"),
        created_at: get_n(item, "created_at")?,
        updated_at: get_n(item, "updated_at")?,
        version: get_n(item, "version")?,
    })
}

impl GroupStore for DynamoStore {
    async fn create_group(
        &self,
        org: &str,
        display_name: &str,
        external_id: Option<&str>,
        now: i64,
    ) -> StoreResult<Group> {
        let group = Group {
            id: uuid::Uuid::new_v4().to_string(),
            display_name: display_name.to_string(),
            external_id: external_id.map(str::to_string),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(group_item(org, &group)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(group),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                Err(StoreError::AlreadyExists("group"))
            }
            Err(e) => Err(sdk(e)),
        }
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
        for chunk in user_ids.chunks(49) {
            let mut items = vec![self.exists_check(org_pk(org), group_sk(group_id))?];
            for uid in chunk {
                items.push(self.exists_check(org_pk(org), user_sk(uid))?);
                let member = HashMap::from([
                    ("pk".to_string(), s(members_pk(org, group_id))),
                    ("sk".to_string(), s(member_sk(uid))),
                    ("gsi1pk".to_string(), s(member_of_index_pk(org, uid))),
                    ("gsi1sk".to_string(), s(group_id)),
                    ("type".to_string(), s("membership")),
                    ("user_id".to_string(), s(uid)),
                    ("group_id".to_string(), s(group_id)),
                    ("created_at".to_string(), n(now)),
                ]);
                items.push(self.put(member, None, &[])?);
            }
            match self.transact(items).await {
                Ok(()) => {}
                Err(TxError::Condition(codes)) if failed(&codes, 0) => {
                    return Err(StoreError::NotFound("group"))
                }
                Err(TxError::Condition(_)) => return Err(StoreError::NotFound("user")),
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
        self.batch_delete(
            user_ids
                .iter()
                .map(|u| (members_pk(org, group_id), member_sk(u)))
                .collect(),
        )
        .await
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
}
