//! SCIM-style offset paging (1-based `startIndex` + `count`) over DynamoDB's key-based paging,
//! linear for a client walking the pages in order, and per-org resource counters.
//!
//! Skipping `startIndex - 1` items on every request would make a full walk quadratic. Instead,
//! serving a page stores a cursor item "the page starting at `start + count` continues after key
//! K" (TTL one hour); the next request reads it with one GetItem and continues. Without a cursor
//! (expired, or a client jumping around) we skip-scan keys only: correct, just slower.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::*;

/// How long a paging cursor lives: longer than any walk Okta does, short enough to stay small.
const CURSOR_TTL_SECS: i64 = 3600;

impl DynamoStore {
    /// `ADD n :delta` on the org's counter of `kind`, for use inside a create/delete transaction.
    pub(super) fn counter_add(
        &self,
        org: &str,
        kind: &str,
        delta: i64,
    ) -> StoreResult<TransactWriteItem> {
        let u = Update::builder()
            .table_name(&self.table)
            .key("pk", s(org_pk(org)))
            .key("sk", s(counter_sk(kind)))
            .update_expression("ADD n :d")
            .expression_attribute_values(":d", n(delta))
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().update(u).build())
    }

    /// The org's number of `kind` resources (one GetItem).
    pub(super) async fn count_of(&self, org: &str, kind: &str) -> StoreResult<u64> {
        match self.get(org_pk(org), &counter_sk(kind)).await? {
            Some(item) => Ok(get_n::<i64>(&item, "n")?.max(0) as u64),
            None => Ok(0),
        }
    }

    /// Items `start ..= start + count - 1` (1-based) of the org partition's `sk_prefix` range, in
    /// key order.
    pub(super) async fn offset_page(
        &self,
        org: &str,
        kind: &str,
        sk_prefix: &str,
        start: usize,
        count: usize,
        now: i64,
    ) -> StoreResult<Vec<Item>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut esk: Option<Item> = None;
        if start > 1 {
            let cursor = self
                .get(page_cursor_pk(org, kind, start), PAGE_CURSOR_SK)
                .await?
                .and_then(|i| live(i, now));
            esk = match cursor {
                Some(item) => Some(decode_cursor(&get_s(&item, "key")?)?),
                None => match self.skip(org, sk_prefix, start - 1).await? {
                    Some(k) => Some(k),
                    None => return Ok(Vec::new()),
                },
            };
            // A cursor is only ever our own key in this org's partition; refuse anything else.
            if esk
                .as_ref()
                .and_then(|k| k.get("pk"))
                .and_then(|v| v.as_s().ok())
                != Some(&org_pk(org))
            {
                return Err(StoreError::BadCursor);
            }
        }
        let mut items = Vec::with_capacity(count);
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(org_pk(org)))
                .expression_attribute_values(":prefix", s(sk_prefix))
                .consistent_read(true)
                .limit((count - items.len()).min(1000) as i32)
                .set_exclusive_start_key(esk.take())
                .send()
                .await
                .map_err(sdk)?;
            self.stats.trip(out.count().max(0) as u64, 0);
            esk = out.last_evaluated_key.clone();
            items.extend(out.items.unwrap_or_default());
            if items.len() >= count || esk.is_none() {
                break;
            }
        }
        // Remember where the next page starts: after the last key served. Also at the end of the
        // range, so the final (empty) page a client asks for costs a GetItem and an empty Query,
        // not a skip-scan, and still sees users created after this page.
        let last = items.last().map(|i| {
            i.iter()
                .filter(|(k, _)| *k == "pk" || *k == "sk")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Item>()
        });
        let next_key = match (esk, last) {
            (Some(k), _) if items.len() == count => Some(s(encode_cursor(&k))),
            (None, Some(l)) => Some(s(encode_cursor(&l))),
            _ => None,
        };
        if let Some(key) = next_key {
            let cursor = HashMap::from([
                (
                    "pk".to_string(),
                    s(page_cursor_pk(org, kind, start + items.len())),
                ),
                ("sk".to_string(), s(PAGE_CURSOR_SK)),
                ("type".to_string(), s("page_cursor")),
                ("key".to_string(), key),
                (TTL_ATTR.to_string(), n(now + CURSOR_TTL_SECS)),
            ]);
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(cursor))
                .send()
                .await
                .map_err(sdk)?;
            self.stats.trip(0, 1);
        }
        Ok(items)
    }

    /// The key of the `n`-th item of the range (keys only), or `None` if there are fewer.
    async fn skip(&self, org: &str, sk_prefix: &str, n: usize) -> StoreResult<Option<Item>> {
        let mut skipped = 0usize;
        let mut esk: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(org_pk(org)))
                .expression_attribute_values(":prefix", s(sk_prefix))
                .projection_expression("pk, sk")
                .consistent_read(true)
                .limit((n - skipped).min(10_000) as i32)
                .set_exclusive_start_key(esk.take())
                .send()
                .await
                .map_err(sdk)?;
            self.stats.trip(out.count().max(0) as u64, 0);
            let items = out.items.unwrap_or_default();
            skipped += items.len();
            if skipped >= n {
                return Ok(items.last().cloned());
            }
            match out.last_evaluated_key {
                Some(k) => esk = Some(k),
                None => return Ok(None),
            }
        }
    }
}

impl DynamoStore {
    /// BatchGetItem over any number of keys (100 per request, unprocessed keys retried); missing
    /// items are simply absent from the result.
    pub(super) async fn batch_get(&self, keys: Vec<(String, String)>) -> StoreResult<Vec<Item>> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending: Vec<Item> = chunk
                .iter()
                .map(|(pk, sk)| {
                    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
                })
                .collect();
            let mut delay = std::time::Duration::from_millis(20);
            while !pending.is_empty() {
                let req = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(backend)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, req)
                    .send()
                    .await
                    .map_err(sdk)?;
                let items = out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default();
                self.stats.trip(items.len() as u64, 0);
                found.extend(items);
                pending = out
                    .unprocessed_keys
                    .and_then(|mut m| m.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(1));
                }
            }
        }
        Ok(found)
    }
}

impl DynamoStore {
    /// BatchWriteItem puts, 25 per request, unprocessed ones retried. Unconditional: only for
    /// bulk loads (benchmarks, migrations), never on a request path.
    pub(super) async fn batch_put(&self, items: Vec<Item>) -> StoreResult<()> {
        use aws_sdk_dynamodb::types::PutRequest;
        for chunk in items.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|i| {
                    let put = PutRequest::builder()
                        .set_item(Some(i.clone()))
                        .build()
                        .map_err(backend)?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<StoreResult<_>>()?;
            let mut delay = std::time::Duration::from_millis(20);
            while !requests.is_empty() {
                let len = requests.len() as u64;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(sdk)?;
                self.stats.trip(0, len);
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if !requests.is_empty() {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(1));
                }
            }
        }
        Ok(())
    }

    /// Raises (or lowers) a resource counter outside a transaction (bulk loads only).
    pub(super) async fn bump_counter(&self, org: &str, kind: &str, delta: i64) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(org_pk(org)))
            .key("sk", s(counter_sk(kind)))
            .update_expression("ADD n :d")
            .expression_attribute_values(":d", n(delta))
            .send()
            .await
            .map_err(sdk)?;
        self.stats.trip(0, 1);
        Ok(())
    }
}
