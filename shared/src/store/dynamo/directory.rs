//! Key-ordered listings for the management API (`api::store::DirectoryStore`), and org deletion.
//!
//! A listing resumes with `ExclusiveStartKey` built from the last key it returned, so a walk reads
//! each item once and its cost is linear in the items read. Filters are applied to each page read
//! (as a DynamoDB filter expression would be: read, then dropped), so a filtered page may hold
//! fewer items than `limit` while `next_cursor` is still set.
//!
//! | item          | pk                    | sk         | gsi1pk / gsi1sk        |
//! |---------------|-----------------------|------------|------------------------|
//! | deletion mark | `ORGDELETED#{org}`    | `DELETED`  | `ORGSDELETED` / org    |

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use super::groups::group_from;
use super::users::user_from;
use super::*;
use crate::model::org::validate_org_name;
use crate::store::directory::{DirectoryStore, KeyPage, UserFilter};

pub(super) fn deleted_pk(org: &str) -> String {
    format!("ORGDELETED#{org}")
}
pub(super) const DELETED_SK: &str = "DELETED";
const DELETED_INDEX_PK: &str = "ORGSDELETED";

/// Items one purge batch removes: a Scan page of the table, then BatchWriteItem in 25s.
const PURGE_SCAN_LIMIT: i32 = 1000;
/// Query pages one filtered listing call reads at most, to fill a page.
const MAX_FILTERED_PAGES: usize = 4;

/// Ids we put in keys are UUIDs (and hex/`-` names): anything else in a cursor is forged.
fn valid_key_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

impl DynamoStore {
    /// One query page of `pk`'s `prefix` range after `after` (the part of the sort key after the
    /// prefix); the position to resume from, taken from `LastEvaluatedKey`.
    async fn range_after(
        &self,
        pk: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<(Vec<Item>, Option<String>)> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
            .limit(limit.clamp(1, 1000) as i32);
        if let Some(a) = after {
            if !valid_key_part(a) {
                return Err(StoreError::BadCursor);
            }
            q = q.set_exclusive_start_key(Some(key(pk.to_string(), format!("{prefix}{a}"))));
        }
        let out = q.send().await.map_err(sdk)?;
        self.stats.trip(out.count().max(0) as u64, 0);
        let last = out
            .last_evaluated_key()
            .and_then(|k| k.get("sk"))
            .and_then(|v| v.as_s().ok())
            .and_then(|sk| sk.strip_prefix(prefix))
            .map(str::to_string);
        Ok((out.items.unwrap_or_default(), last))
    }
}

fn user_matches(u: &User, f: &UserFilter) -> bool {
    if f.active.is_some_and(|a| a != u.active) {
        return false;
    }
    if f.updated_since.is_some_and(|t| u.updated_at < t) {
        return false;
    }
    if let Some(email) = &f.email {
        let primary = crate::model::shape::primary_email(u);
        let same = |v: &str| v.eq_ignore_ascii_case(email);
        if !(same(&u.user_name) || primary.as_deref().is_some_and(same)) {
            return false;
        }
    }
    true
}

impl DirectoryStore for DynamoStore {
    async fn list_orgs_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<KeyPage<Org>> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(ORGS_INDEX_PK))
            .limit(limit.clamp(1, 1000) as i32);
        if let Some(a) = after {
            if validate_org_name(a).is_err() {
                return Err(StoreError::BadCursor);
            }
            let mut esk = key(org_pk(a), ORG_SK.to_string());
            esk.insert("gsi1pk".into(), s(ORGS_INDEX_PK));
            esk.insert("gsi1sk".into(), s(a));
            q = q.set_exclusive_start_key(Some(esk));
        }
        let out = q.send().await.map_err(sdk)?;
        self.stats.trip(out.count().max(0) as u64, 0);
        let last = out
            .last_evaluated_key()
            .and_then(|k| k.get("gsi1sk"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| serde_dynamo::from_item(i).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<StoreResult<Vec<Org>>>()?;
        Ok(KeyPage { items, last })
    }

    async fn list_users_after(
        &self,
        org: &str,
        filter: &UserFilter,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<KeyPage<User>> {
        let mut users = Vec::new();
        let mut pos = after.map(str::to_string);
        for _ in 0..MAX_FILTERED_PAGES {
            let (items, last) = self
                .range_after(
                    &org_pk(org),
                    USER_SK_PREFIX,
                    pos.as_deref(),
                    limit - users.len(),
                )
                .await?;
            for item in &items {
                let u = user_from(item)?;
                if user_matches(&u, filter) {
                    users.push(u);
                }
            }
            pos = last;
            if pos.is_none() || users.len() >= limit {
                break;
            }
        }
        Ok(KeyPage {
            items: users,
            last: pos,
        })
    }

    async fn list_groups_after(
        &self,
        org: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<KeyPage<Group>> {
        let (items, last) = self
            .range_after(&org_pk(org), GROUP_SK_PREFIX, after, limit)
            .await?;
        Ok(KeyPage {
            items: items.iter().map(group_from).collect::<StoreResult<_>>()?,
            last,
        })
    }

    async fn list_members_after(
        &self,
        org: &str,
        group_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<KeyPage<String>> {
        let (items, last) = self
            .range_after(&members_pk(org, group_id), MEMBER_SK_PREFIX, after, limit)
            .await?;
        Ok(KeyPage {
            items: items
                .iter()
                .map(|i| {
                    get_s(i, "sk").map(|sk| sk.trim_start_matches(MEMBER_SK_PREFIX).to_string())
                })
                .collect::<StoreResult<_>>()?,
            last,
        })
    }

    async fn get_users(&self, org: &str, ids: &[String]) -> StoreResult<Vec<User>> {
        let keys = ids
            .iter()
            .take(100)
            .map(|id| (org_pk(org), user_sk(id)))
            .collect();
        self.batch_get(keys).await?.iter().map(user_from).collect()
    }

    async fn delete_org(&self, org: &str, now: i64) -> StoreResult<()> {
        let mark = HashMap::from([
            ("pk".to_string(), s(deleted_pk(org))),
            ("sk".to_string(), s(DELETED_SK)),
            ("gsi1pk".to_string(), s(DELETED_INDEX_PK)),
            ("gsi1sk".to_string(), s(org)),
            ("type".to_string(), s("org_deletion")),
            ("org".to_string(), s(org)),
            ("deleted_at".to_string(), n(now)),
        ]);
        let items = vec![
            self.delete(
                org_pk(org),
                ORG_SK.to_string(),
                Some("attribute_exists(pk)"),
                &[],
            )?,
            self.put(mark, None, &[])?,
        ];
        let event = crate::model::event::NewEvent::new(
            crate::model::event::EventType::OrgDeleted,
            serde_json::json!({ "org": org }),
        );
        match self
            .transact_with_events(org, items, vec![event], now)
            .await
        {
            Ok(()) => Ok(()),
            Err(TxError::Condition(_)) => Err(StoreError::NotFound(Entity::Organization)),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn purge_org_batch(&self, org: &str) -> StoreResult<bool> {
        let Some(mark) = self.get(deleted_pk(org), DELETED_SK).await? else {
            return Ok(true);
        };
        // A Scan, because an org's items live in many partitions (sessions, memberships, SAML
        // IDs: keys.rs); `ORG#{org}` exactly or `ORG#{org}#...`, never `ORG#{org}-other`.
        let mut scan = self
            .client
            .scan()
            .table_name(&self.table)
            // The events partition stays (until TTL): `org.deleted` must remain readable.
            .filter_expression("(pk = :exact OR begins_with(pk, :prefix)) AND pk <> :events")
            .expression_attribute_values(":exact", s(org_pk(org)))
            .expression_attribute_values(":events", s(super::events::events_pk(org)))
            .expression_attribute_values(":prefix", s(format!("{}#", org_pk(org))))
            .projection_expression("pk, sk")
            .limit(PURGE_SCAN_LIMIT);
        if let Some(c) = get_opt_s(&mark, "purge_cursor") {
            scan = scan.set_exclusive_start_key(Some(decode_cursor(&c)?));
        }
        let out = scan.send().await.map_err(sdk)?;
        self.stats.trip(out.scanned_count().max(0) as u64, 0);
        let keys: Vec<(String, String)> = out
            .items()
            .iter()
            .filter_map(|i| Some((get_s(i, "pk").ok()?, get_s(i, "sk").ok()?)))
            .collect();
        self.batch_delete(keys).await?;
        match out.last_evaluated_key() {
            Some(lek) => {
                // Progress is kept on the mark, so an interrupted purge resumes where it was.
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", s(deleted_pk(org)))
                    .key("sk", s(DELETED_SK))
                    .update_expression("SET purge_cursor = :c")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":c", s(encode_cursor(lek)))
                    .send()
                    .await
                    .map_err(|e| match e.code() {
                        Some("ConditionalCheckFailedException") => {
                            StoreError::NotFound(Entity::Deletion)
                        }
                        _ => sdk(e),
                    })?;
                self.stats.trip(0, 1);
                Ok(false)
            }
            None => {
                self.batch_delete(vec![(deleted_pk(org), DELETED_SK.to_string())])
                    .await?;
                Ok(true)
            }
        }
    }

    async fn pending_purges(&self) -> StoreResult<Vec<String>> {
        self.query_all(Some("gsi1"), "gsi1pk", DELETED_INDEX_PK, None)
            .await?
            .iter()
            .map(|i| get_s(i, "org"))
            .collect()
    }
}
