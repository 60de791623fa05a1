//! Organizations.

use super::*;
use crate::model::event::{EventType, NewEvent};
use crate::store::keys::*;
use crate::store::*;

fn org_item(org: &Org) -> StoreResult<Item> {
    let mut item: Item =
        serde_dynamo::to_item(org).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.insert("pk".into(), s(org_pk(&org.org)));
    item.insert("sk".into(), s(ORG_SK));
    item.insert("gsi1pk".into(), s(ORGS_INDEX_PK));
    item.insert("gsi1sk".into(), s(&org.org));
    Ok(item)
}

fn org_from(item: Item) -> StoreResult<Org> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl OrgStore for DynamoStore {
    async fn take_scim_request(&self, org: &str, now: i64, limit: u32) -> StoreResult<bool> {
        self.take_rate_token(org, now, limit).await
    }

    async fn create_org(&self, org: &Org) -> StoreResult<()> {
        // Not while a deleted org of that name is still being purged (directory.rs): the purge
        // would remove the new org's items.
        let not_deleting = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", s(super::directory::deleted_pk(&org.org)))
            .key("sk", s(super::directory::DELETED_SK))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(backend)?;
        let items = vec![
            self.put(org_item(org)?, Some("attribute_not_exists(pk)"), &[])?,
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .condition_check(not_deleting)
                .build(),
        ];
        let event = NewEvent::new(
            EventType::OrgCreated,
            serde_json::json!({ "org": org.org, "base_url": org.base_url }),
        );
        match self
            .transact_with_events(&org.org, items, vec![event], org.created_at)
            .await
        {
            Ok(()) => Ok(()),
            Err(TxError::Condition(_)) => Err(StoreError::AlreadyExists(Entity::Organization)),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn get_org(&self, org: &str) -> StoreResult<Option<Org>> {
        self.get(org_pk(org), ORG_SK)
            .await?
            .map(org_from)
            .transpose()
    }

    async fn update_org(&self, org: &Org) -> StoreResult<Org> {
        let mut next = org.clone();
        next.version += 1;
        // What changed decides the events (connection.updated, scim_token.rotated): org updates
        // are rare admin actions, so the read is cheap.
        let Some(stored) = self.get_org(&org.org).await? else {
            return Err(StoreError::NotFound(Entity::Organization));
        };
        let mut events = Vec::new();
        if !stored.same_connection(&next) {
            events.push(NewEvent::new(
                EventType::ConnectionUpdated,
                serde_json::json!({
                    "org": next.org,
                    "idp_entity_id": next.idp.as_ref().map(|i| i.entity_id.clone()),
                }),
            ));
        }
        if stored.scim_token_hash != next.scim_token_hash {
            events.push(NewEvent::new(
                EventType::ScimTokenRotated,
                serde_json::json!({ "org": next.org }),
            ));
        }
        let items = vec![self.put(
            org_item(&next)?,
            Some("version = :v"),
            &[(":v", n(org.version))],
        )?];
        match self
            .transact_with_events(&org.org, items, events, next.updated_at)
            .await
        {
            Ok(()) => Ok(next),
            Err(TxError::Condition(_)) => match self.get_org(&org.org).await? {
                Some(_) => Err(StoreError::VersionConflict),
                None => Err(StoreError::NotFound(Entity::Organization)),
            },
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn list_orgs(&self) -> StoreResult<Vec<Org>> {
        let items = self
            .query_all(Some("gsi1"), "gsi1pk", ORGS_INDEX_PK, None)
            .await?;
        items.into_iter().map(org_from).collect()
    }
}
