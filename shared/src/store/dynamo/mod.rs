//! The DynamoDB implementation of every store trait (key layout in `../keys.rs`): the shared
//! plumbing here, one file per role beside it.

mod api_keys;
mod directory;
mod events;
mod failure;
mod groups;
mod oidc;
mod orgs;
mod paging;
mod rate_limit;
mod records;
mod sessions;
mod sign_in;
mod users;
mod webhooks;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, Put, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::keys::*;
use super::*;
use failure::sdk;

pub(super) type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    stats: Arc<Stats>,
}

/// What this store asked of DynamoDB: for benchmarks and round-trip figures (docs/scim.md).
/// `items_read` counts items a read returned (GetItem found, Query Count, BatchGet found); no
/// query here uses a filter expression, so that is also what DynamoDB examined. (moto's
/// ScannedCount counts the whole partition, so it is not used.)
#[derive(Debug, Default)]
pub struct Stats {
    pub round_trips: AtomicU64,
    pub items_read: AtomicU64,
    pub items_written: AtomicU64,
}

impl Stats {
    pub(super) fn trip(&self, read: u64, written: u64) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.items_read.fetch_add(read, Ordering::Relaxed);
        self.items_written.fetch_add(written, Ordering::Relaxed);
    }
    /// (round trips, items read, items written) so far.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.round_trips.load(Ordering::Relaxed),
            self.items_read.load(Ordering::Relaxed),
            self.items_written.load(Ordering::Relaxed),
        )
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            stats: Arc::default(),
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Leases a time-limited record for `lease_seconds`, returning what it holds, if it exists,
    /// has not expired, and is not leased by someone else: of concurrent claims exactly one gets
    /// `Some`. The lease carries a random token that every retry of this one call repeats (the
    /// SDK re-sends the same request), so a claim whose answer was lost and that the SDK retried
    /// recognises its own lease instead of refusing the record it took (issue 15). The record
    /// stays until [`Self::delete_key`] removes it once its work is done, or a retry takes it
    /// after the lease runs out — so a failure after the claim delays the work, never drops it.
    pub(super) async fn lease_if_live(
        &self,
        pk: String,
        sk: &str,
        now: i64,
        lease_seconds: i64,
    ) -> StoreResult<Option<Item>> {
        let token = uuid::Uuid::new_v4().to_string();
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("SET #lt = :tok, #lu = :until")
            .condition_expression(
                "attribute_exists(pk) AND #exp > :now \
                 AND (attribute_not_exists(#lu) OR #lu <= :now OR #lt = :tok)",
            )
            .expression_attribute_names("#exp", TTL_ATTR)
            .expression_attribute_names("#lt", "lease_token")
            .expression_attribute_names("#lu", "lease_until")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":tok", s(token))
            .expression_attribute_values(":until", n(now.saturating_add(lease_seconds)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => {
                self.stats.trip(1, 1);
                Ok(Some(out.attributes.unwrap_or_default()))
            }
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(None),
            Err(e) => Err(sdk(e)),
        }
    }

    /// Gives a lease taken by [`Self::lease_if_live`] back early, so the next attempt need not
    /// wait for it to run out.
    pub(super) async fn release_lease(&self, pk: String, sk: &str) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("REMOVE lease_token, lease_until")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .or_else(|e| match e.code() {
                Some("ConditionalCheckFailedException") => Ok(()),
                _ => Err(sdk(e)),
            })
    }

    /// Deletes one item; deleting what is already gone succeeds (idempotent under retries).
    pub(super) async fn delete_key(&self, pk: String, sk: &str) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .send()
            .await
            .map_err(sdk)?;
        self.stats.trip(0, 1);
        Ok(())
    }

    pub(super) async fn get(&self, pk: String, sk: &str) -> StoreResult<Option<Item>> {
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
        self.stats.trip(out.item.is_some() as u64, 0);
        Ok(out.item)
    }

    /// Runs a transaction, retrying a few times when DynamoDB cancels it only because another
    /// transaction touched the same items (`TransactionConflict`): the retry then meets the
    /// winner's write and fails its condition properly. Returns the cancellation reason codes
    /// when a condition failed.
    ///
    /// One `ClientRequestToken` serves every attempt of this logical write, the SDK's retries and
    /// ours: when an answer is lost after DynamoDB committed, the replay is recognised as the same
    /// transaction and succeeds without writing again, instead of failing its own conditions
    /// (TransactWriteItems, "Idempotency": tokens are kept 10 minutes).
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxError> {
        let token = uuid::Uuid::new_v4().to_string();
        let mut delay = Duration::from_millis(20);
        for attempt in 0.. {
            let res = self
                .client
                .transact_write_items()
                .client_request_token(&token)
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            self.stats.trip(0, items.len() as u64);
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
    pub(super) async fn query_page(
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
        self.stats.trip(out.count().max(0) as u64, 0);
        let next = out.last_evaluated_key().map(encode_cursor);
        Ok((out.items.unwrap_or_default(), next))
    }

    /// All items of one partition, following pagination.
    pub(super) async fn query_all(
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
    pub(super) async fn batch_delete(&self, keys: Vec<(String, String)>) -> StoreResult<()> {
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
                let requests_len = requests.len();
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(sdk)?;
                self.stats.trip(0, requests_len as u64);
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

    pub(super) fn put(
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

    pub(super) fn delete(
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

    pub(super) fn exists_check(&self, pk: String, sk: String) -> StoreResult<TransactWriteItem> {
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

pub(super) enum TxError {
    /// A condition failed; the codes are in the order of the transaction's items.
    Condition(Vec<String>),
    Store(StoreError),
}

pub(super) fn failed(codes: &[String], index: usize) -> bool {
    codes.get(index).map(String::as_str) == Some("ConditionalCheckFailed")
}

/// Epoch seconds now, for the few store operations whose callers pass no clock (ending a
/// user's sessions): whether an OIDC grant is still live decides if its logout is announced.
pub(super) fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

// ---- attribute helpers -------------------------------------------------------------------------

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn get_s(item: &Item, k: &str) -> StoreResult<String> {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| StoreError::Corrupt(format!("missing string attribute {k}")))
}
pub(super) fn get_opt_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}
pub(super) fn get_n<T: std::str::FromStr>(item: &Item, k: &str) -> StoreResult<T> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("missing number attribute {k}")))
}

/// Time-limited records are absent once expired, whether or not DynamoDB's TTL sweeper has run.
pub(super) fn live(item: Item, now: i64) -> Option<Item> {
    match get_n::<i64>(&item, TTL_ATTR) {
        Ok(exp) if exp <= now => None,
        _ => Some(item),
    }
}

pub(super) fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Backend(Box::new(e))
}

pub(super) fn encode_cursor(key: &Item) -> String {
    let map: std::collections::BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.as_str(), v.as_str())))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&map).unwrap_or_default())
}

pub(super) fn decode_cursor(c: &str) -> StoreResult<Item> {
    let bytes = URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| StoreError::BadCursor)?;
    let map: HashMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    Ok(map.into_iter().map(|(k, v)| (k, s(v))).collect())
}
