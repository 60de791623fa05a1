//! The DynamoDB implementation of every store trait (key layout in `keys.rs`).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, Put, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::keys::*;
use super::*;

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get(&self, pk: String, sk: &str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.item)
    }

    /// Runs a transaction, retrying a few times when DynamoDB cancels it only because another
    /// transaction touched the same items (`TransactionConflict`): the retry then meets the
    /// winner's write and fails its condition properly. Returns the cancellation reason codes
    /// when a condition failed.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxError> {
        let mut delay = Duration::from_millis(20);
        for attempt in 0.. {
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match res {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let codes: Vec<String> = match err.as_service_error() {
                Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c)) => c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_string())
                    .collect(),
                _ => return Err(TxError::Store(sdk(err))),
            };
            if codes.iter().any(|c| c == "ConditionalCheckFailed") {
                return Err(TxError::Condition(codes));
            }
            let conflict = codes
                .iter()
                .any(|c| c == "TransactionConflict" || c == "ThrottlingError");
            if !conflict || attempt >= 6 {
                return Err(TxError::Store(if conflict {
                    StoreError::Throttled
                } else {
                    sdk(err)
                }));
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        unreachable!("the loop returns")
    }

    /// Queries one partition (of the table or of an index) page by page.
    async fn query_page(
        &self,
        index: Option<&str>,
        pk_attr: &str,
        pk: &str,
        sk_prefix: Option<(&str, &str)>,
        cursor: Option<&str>,
        limit: Option<i32>,
    ) -> StoreResult<(Vec<Item>, Option<String>)> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(pk));
        let mut cond = format!("{pk_attr} = :pk");
        if let Some((sk_attr, prefix)) = sk_prefix {
            cond.push_str(&format!(" AND begins_with({sk_attr}, :prefix)"));
            q = q.expression_attribute_values(":prefix", s(prefix));
        }
        q = q
            .key_condition_expression(cond)
            .set_index_name(index.map(str::to_string));
        if index.is_none() {
            q = q.consistent_read(true);
        }
        if let Some(l) = limit {
            q = q.limit(l);
        }
        if let Some(c) = cursor {
            let key = decode_cursor(c)?;
            if key
                .get(pk_attr)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                != Some(pk)
            {
                return Err(StoreError::BadCursor);
            }
            q = q.set_exclusive_start_key(Some(key));
        }
        let out = q.send().await.map_err(sdk)?;
        let next = out.last_evaluated_key().map(encode_cursor);
        Ok((out.items.unwrap_or_default(), next))
    }

    /// All items of one partition, following pagination.
    async fn query_all(
        &self,
        index: Option<&str>,
        pk_attr: &str,
        pk: &str,
        sk_prefix: Option<(&str, &str)>,
    ) -> StoreResult<Vec<Item>> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let (items, next) = self
                .query_page(index, pk_attr, pk, sk_prefix, cursor.as_deref(), None)
                .await?;
            all.extend(items);
            match next {
                Some(n) => cursor = Some(n),
                None => return Ok(all),
            }
        }
    }

    /// Deletes keys in batches of 25, retrying unprocessed ones.
    async fn batch_delete(&self, keys: Vec<(String, String)>) -> StoreResult<()> {
        for chunk in keys.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|(pk, sk)| {
                    let del = DeleteRequest::builder()
                        .key("pk", s(pk))
                        .key("sk", s(sk))
                        .build()
                        .map_err(backend)?;
                    Ok(WriteRequest::builder().delete_request(del).build())
                })
                .collect::<StoreResult<_>>()?;
            let mut delay = Duration::from_millis(20);
            while !requests.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(sdk)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if !requests.is_empty() {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
            }
        }
        Ok(())
    }

    fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        values: &[(&str, AttributeValue)],
    ) -> StoreResult<TransactWriteItem> {
        let mut p = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some(c) = condition {
            p = p.condition_expression(c);
        }
        for (k, v) in values {
            p = p.expression_attribute_values(*k, v.clone());
        }
        Ok(TransactWriteItem::builder()
            .put(p.build().map_err(backend)?)
            .build())
    }

    fn delete(
        &self,
        pk: String,
        sk: String,
        condition: Option<&str>,
        values: &[(&str, AttributeValue)],
    ) -> StoreResult<TransactWriteItem> {
        let mut d = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk));
        if let Some(c) = condition {
            d = d.condition_expression(c);
        }
        for (k, v) in values {
            d = d.expression_attribute_values(*k, v.clone());
        }
        Ok(TransactWriteItem::builder()
            .delete(d.build().map_err(backend)?)
            .build())
    }

    fn exists_check(&self, pk: String, sk: String) -> StoreResult<TransactWriteItem> {
        let c = ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().condition_check(c).build())
    }
}

enum TxError {
    /// A condition failed; the codes are in the order of the transaction's items.
    Condition(Vec<String>),
    Store(StoreError),
}

fn failed(codes: &[String], index: usize) -> bool {
    codes.get(index).map(String::as_str) == Some("ConditionalCheckFailed")
}

// ---- attribute helpers -------------------------------------------------------------------------

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s(item: &Item, k: &str) -> StoreResult<String> {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| StoreError::Corrupt(format!("missing string attribute {k}")))
}
fn get_opt_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}
fn get_n<T: std::str::FromStr>(item: &Item, k: &str) -> StoreResult<T> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("missing number attribute {k}")))
}
fn get_bool(item: &Item, k: &str) -> StoreResult<bool> {
    item.get(k)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .ok_or_else(|| StoreError::Corrupt(format!("missing boolean attribute {k}")))
}

/// Time-limited records are absent once expired, whether or not DynamoDB's TTL sweeper has run.
fn live(item: Item, now: i64) -> Option<Item> {
    match get_n::<i64>(&item, TTL_ATTR) {
        Ok(exp) if exp <= now => None,
        _ => Some(item),
    }
}

fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Maps an SDK error, recognising throttling (after the SDK's own retries) so the HTTP layer can
/// answer 429 with Retry-After.
fn sdk<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match e.code() {
        Some(
            "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded"
            | "ThrottlingException",
        ) => StoreError::Throttled,
        _ => backend(e),
    }
}

fn encode_cursor(key: &Item) -> String {
    let map: std::collections::BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.as_str(), v.as_str())))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&map).unwrap_or_default())
}

fn decode_cursor(c: &str) -> StoreResult<Item> {
    let bytes = URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| StoreError::BadCursor)?;
    let map: HashMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    Ok(map.into_iter().map(|(k, v)| (k, s(v))).collect())
}

// ---- records ---------------------------------------------------------------------------------

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

fn user_item(org: &str, u: &User) -> StoreResult<Item> {
    let mut item: Item = HashMap::new();
    item.insert("pk".into(), s(org_pk(org)));
    item.insert("sk".into(), s(user_sk(&u.id)));
    item.insert("gsi1pk".into(), s(user_name_index_pk(org, &u.user_name)));
    item.insert("gsi1sk".into(), s(&u.id));
    if let Some(ext) = &u.external_id {
        item.insert("gsi2pk".into(), s(user_external_index_pk(org, ext)));
        item.insert("gsi2sk".into(), s(&u.id));
        item.insert("external_id".into(), s(ext));
    }
    item.insert("type".into(), s("user"));
    item.insert("id".into(), s(&u.id));
    item.insert("user_name".into(), s(&u.user_name));
    item.insert("active".into(), AttributeValue::Bool(u.active));
    item.insert(
        "doc".into(),
        s(serde_json::to_string(&u.attributes).map_err(|e| StoreError::Corrupt(e.to_string()))?),
    );
    item.insert("created_at".into(), n(u.created_at));
    item.insert("updated_at".into(), n(u.updated_at));
    item.insert("version".into(), n(u.version));
    Ok(item)
}

fn user_from(item: &Item) -> StoreResult<User> {
    Ok(User {
        id: get_s(item, "id")?,
        user_name: get_s(item, "user_name")?,
        external_id: get_opt_s(item, "external_id"),
        active: get_bool(item, "active")?,
        attributes: serde_json::from_str(&get_s(item, "doc")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: get_n(item, "created_at")?,
        updated_at: get_n(item, "updated_at")?,
        version: get_n(item, "version")?,
    })
}

fn claim_item(org: &str, user_name: &str, user_id: &str) -> Item {
    HashMap::from([
        ("pk".to_string(), s(org_pk(org))),
        ("sk".to_string(), s(user_name_claim_sk(user_name))),
        ("type".to_string(), s("user_name_claim")),
        ("user_id".to_string(), s(user_id)),
    ])
}

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

// ---- trait implementations ---------------------------------------------------------------------

impl OrgStore for DynamoStore {
    async fn create_org(&self, org: &Org) -> StoreResult<()> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(org_item(org)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                Err(StoreError::AlreadyExists("organization"))
            }
            Err(e) => Err(sdk(e)),
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
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(org_item(&next)?))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(org.version))
            .send()
            .await;
        match res {
            Ok(_) => Ok(next),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                match self.get_org(&org.org).await? {
                    Some(_) => Err(StoreError::VersionConflict),
                    None => Err(StoreError::NotFound("organization")),
                }
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn list_orgs(&self) -> StoreResult<Vec<Org>> {
        let items = self
            .query_all(Some("gsi1"), "gsi1pk", ORGS_INDEX_PK, None)
            .await?;
        items.into_iter().map(org_from).collect()
    }
}

impl UserStore for DynamoStore {
    async fn create_user(&self, org: &str, new: NewUser, now: i64) -> StoreResult<User> {
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            user_name: new.user_name,
            external_id: new.external_id,
            active: new.active,
            attributes: new.attributes,
            created_at: now,
            updated_at: now,
            version: 1,
        };
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
        ];
        match self.transact(items).await {
            Ok(()) => Ok(user),
            Err(TxError::Condition(codes)) if failed(&codes, 1) => Err(StoreError::Uniqueness {
                attribute: "userName",
            }),
            Err(TxError::Condition(_)) => Err(StoreError::AlreadyExists("user")),
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
        user_name: &str,
    ) -> StoreResult<Option<User>> {
        let (items, _) = self
            .query_page(
                Some("gsi1"),
                "gsi1pk",
                &user_name_index_pk(org, user_name),
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
            .ok_or(StoreError::NotFound("user"))?;
        let mut next = user.clone();
        next.version = user.version + 1;
        next.updated_at = now;
        next.created_at = stored.created_at;
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
        match self.transact(items).await {
            Ok(()) => Ok(next),
            Err(TxError::Condition(codes)) if failed(&codes, 0) => Err(StoreError::VersionConflict),
            Err(TxError::Condition(_)) => Err(StoreError::Uniqueness {
                attribute: "userName",
            }),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn delete_user(&self, org: &str, id: &str) -> StoreResult<()> {
        let user = self
            .get_user(org, id)
            .await?
            .ok_or(StoreError::NotFound("user"))?;
        // The user and their userName claim go atomically; memberships and sessions follow. A
        // crash in between leaves only dangling memberships, which readers skip (no such user).
        let items = vec![
            self.delete(
                org_pk(org),
                user_sk(id),
                Some("version = :v"),
                &[(":v", n(user.version))],
            )?,
            self.delete(org_pk(org), user_name_claim_sk(&user.user_name), None, &[])?,
        ];
        match self.transact(items).await {
            Ok(()) => {}
            Err(TxError::Condition(_)) => return Err(StoreError::VersionConflict),
            Err(TxError::Store(e)) => return Err(e),
        }
        let groups = self.groups_of_user(org, id).await?;
        let mut keys: Vec<(String, String)> = groups
            .iter()
            .map(|g| (members_pk(org, g), member_sk(id)))
            .collect();
        let sessions = self
            .query_all(
                Some("gsi1"),
                "gsi1pk",
                &user_sessions_index_pk(org, id),
                None,
            )
            .await?;
        for item in sessions {
            keys.push((get_s(&item, "pk")?, SESSION_SK.to_string()));
        }
        self.batch_delete(keys).await
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

impl SessionStore for DynamoStore {
    async fn create_session(&self, org: &str, session: &Session) -> StoreResult<()> {
        let item = HashMap::from([
            ("pk".to_string(), s(session_pk(org, &session.token_hash))),
            ("sk".to_string(), s(SESSION_SK)),
            (
                "gsi1pk".to_string(),
                s(user_sessions_index_pk(org, &session.user_id)),
            ),
            ("gsi1sk".to_string(), s(&session.token_hash)),
            ("type".to_string(), s("session")),
            ("token_hash".to_string(), s(&session.token_hash)),
            ("user_id".to_string(), s(&session.user_id)),
            ("created_at".to_string(), n(session.created_at)),
            (TTL_ATTR.to_string(), n(session.expires_at)),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn get_session(
        &self,
        org: &str,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<Session>> {
        let Some(item) = self
            .get(session_pk(org, token_hash), SESSION_SK)
            .await?
            .and_then(|i| live(i, now))
        else {
            return Ok(None);
        };
        Ok(Some(Session {
            token_hash: get_s(&item, "token_hash")?,
            user_id: get_s(&item, "user_id")?,
            created_at: get_n(&item, "created_at")?,
            expires_at: get_n(&item, TTL_ATTR)?,
        }))
    }

    async fn delete_session(&self, org: &str, token_hash: &str) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(session_pk(org, token_hash)))
            .key("sk", s(SESSION_SK))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn delete_user_sessions(&self, org: &str, user_id: &str) -> StoreResult<usize> {
        let items = self
            .query_all(
                Some("gsi1"),
                "gsi1pk",
                &user_sessions_index_pk(org, user_id),
                None,
            )
            .await?;
        let keys = items
            .iter()
            .map(|i| Ok((get_s(i, "pk")?, SESSION_SK.to_string())))
            .collect::<StoreResult<Vec<_>>>()?;
        let count = keys.len();
        self.batch_delete(keys).await?;
        Ok(count)
    }
}

impl ReplayStore for DynamoStore {
    async fn remember_request_id(&self, org: &str, id: &str, expires_at: i64) -> StoreResult<()> {
        let item = HashMap::from([
            ("pk".to_string(), s(authn_request_pk(org, id))),
            ("sk".to_string(), s(AUTHN_REQUEST_SK)),
            ("type".to_string(), s("authn_request")),
            (TTL_ATTR.to_string(), n(expires_at)),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn consume_request_id(&self, org: &str, id: &str, now: i64) -> StoreResult<bool> {
        // Delete-if-live: of two concurrent uses of one ID, exactly one deletes it.
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(authn_request_pk(org, id)))
            .key("sk", s(AUTHN_REQUEST_SK))
            .condition_expression("attribute_exists(pk) AND #exp > :now")
            .expression_attribute_names("#exp", TTL_ATTR)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn record_assertion_id(
        &self,
        org: &str,
        id: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let item = HashMap::from([
            ("pk".to_string(), s(assertion_pk(org, id))),
            ("sk".to_string(), s(ASSERTION_SK)),
            ("type".to_string(), s("assertion")),
            (TTL_ATTR.to_string(), n(expires_at)),
        ]);
        // An expired record that DynamoDB has not swept yet does not count as a replay.
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #exp <= :now")
            .expression_attribute_names("#exp", TTL_ATTR)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(sdk(e)),
        }
    }
}
