//! The events outbox on DynamoDB (`events`).
//!
//! | item           | pk                  | sk               | gsi1pk / gsi1sk                                 |
//! |----------------|---------------------|------------------|-------------------------------------------------|
//! | event counter  | `ORG#{org}#EVENTS`  | `SEQ`            |                                                 |
//! | event          | `ORG#{org}#EVENTS`  | `EV#{seq:020}`   | `EVENTS` / `{commit ms:013}#{org}#{seq:020}`    |
//!
//! A change's transaction also sets the counter from N to N + k (conditioned on N, read just
//! before) and puts events N+1..N+k. Event N+1 can therefore only commit after event N: a reader
//! continuing after N never misses one. Two writers racing for N: the loser's transaction fails
//! its counter condition and is retried with a fresh read ([`MAX_SEQ_ATTEMPTS`]).
//!
//! The events partition outlives the org's purge (directory.rs skips it) so that `org.deleted`
//! stays readable and a re-created org's events continue the sequence; TTL removes them.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::*;
use crate::model::event::{Event, EventPage, NewEvent, EVENT_TTL_SECS, SETTLE_MS};
use crate::store::events::EventStore;

pub(super) fn events_pk(org: &str) -> String {
    format!("ORG#{org}#EVENTS")
}
const SEQ_SK: &str = "SEQ";
fn event_sk(seq: u64) -> String {
    format!("EV#{seq:020}")
}
const ALL_EVENTS_PK: &str = "EVENTS";
/// Attempts at winning the counter when other writers of the org race for it: each round one of
/// them wins, so this bounds how many may write one org at the same instant (Okta's SCIM client
/// sends a few at a time; a test sends 30). Retries wait a jittered, capped backoff.
const MAX_SEQ_ATTEMPTS: u32 = 64;
const MAX_BACKOFF_MS: u64 = 200;
const MAX_FILTERED_PAGES: usize = 4;

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn event_from(item: &Item) -> StoreResult<Event> {
    Ok(Event {
        org: get_s(item, "org")?,
        seq: get_n(item, "seq")?,
        kind: get_s(item, "event_type")?,
        occurred_at: get_n(item, "occurred_at")?,
        data: serde_json::from_str(&get_s(item, "data")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

impl DynamoStore {
    /// Runs `items` as one transaction together with `events` of `org` (an outbox write). On a
    /// condition failure the codes returned cover `items` only, in their order, so callers map
    /// them as they would for a plain [`DynamoStore::transact`].
    pub(super) async fn transact_with_events(
        &self,
        org: &str,
        items: Vec<TransactWriteItem>,
        events: Vec<NewEvent>,
        now: i64,
    ) -> Result<(), TxError> {
        if events.is_empty() {
            return self.transact(items).await;
        }
        let base = items.len();
        for attempt in 0..MAX_SEQ_ATTEMPTS {
            let (seq, last_ms): (u64, i64) = match self.get(events_pk(org), SEQ_SK).await {
                Ok(Some(item)) => (
                    get_n(&item, "seq").map_err(TxError::Store)?,
                    get_n(&item, "ms").unwrap_or(0),
                ),
                Ok(None) => (0, 0),
                Err(e) => return Err(TxError::Store(e)),
            };
            let mut all = items.clone();
            all.extend(
                self.event_items(org, seq, last_ms, &events, now)
                    .map_err(TxError::Store)?,
            );
            match self.transact(all).await {
                Err(TxError::Condition(codes))
                    if !codes[..base.min(codes.len())]
                        .iter()
                        .any(|c| c == "ConditionalCheckFailed") => {}
                // Conflicts on the counter that `transact` gave up on: still only a race.
                Err(TxError::Store(StoreError::Throttled)) => {}
                Err(TxError::Condition(mut codes)) => {
                    codes.truncate(base);
                    return Err(TxError::Condition(codes));
                }
                other => return other,
            }
            // Only the counter (or an event slot) failed: another change of this org took
            // sequence `seq + 1` first. Wait a little (jittered, so racers spread) and re-read.
            let cap = (10u64 << attempt.min(5)).min(MAX_BACKOFF_MS);
            tokio::time::sleep(Duration::from_millis(rand::random_range(1..=cap))).await;
        }
        Err(TxError::Store(StoreError::Throttled))
    }

    fn event_items(
        &self,
        org: &str,
        seq: u64,
        last_ms: i64,
        events: &[NewEvent],
        now: i64,
    ) -> StoreResult<Vec<TransactWriteItem>> {
        let next = seq + events.len() as u64;
        // Never before the org's previous event, whatever this Lambda's clock says: the cross-org
        // feed then keeps each org's events in sequence order.
        let ms = wall_ms().max(last_ms);
        let mut u = Update::builder()
            .table_name(&self.table)
            .key("pk", s(events_pk(org)))
            .key("sk", s(SEQ_SK))
            .update_expression("SET seq = :next, ms = :ms")
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":ms", n(ms));
        u = if seq == 0 {
            u.condition_expression("attribute_not_exists(seq)")
        } else {
            u.condition_expression("seq = :seq")
                .expression_attribute_values(":seq", n(seq))
        };
        let mut out = vec![TransactWriteItem::builder()
            .update(u.build().map_err(backend)?)
            .build()];
        for (i, e) in events.iter().enumerate() {
            let seq = seq + 1 + i as u64;
            let item: Item = HashMap::from([
                ("pk".to_string(), s(events_pk(org))),
                ("sk".to_string(), s(event_sk(seq))),
                ("gsi1pk".to_string(), s(ALL_EVENTS_PK)),
                ("gsi1sk".to_string(), s(format!("{ms:013}#{org}#{seq:020}"))),
                ("type".to_string(), s("event")),
                ("event_type".to_string(), s(e.kind.as_str())),
                ("org".to_string(), s(org)),
                ("seq".to_string(), n(seq)),
                ("occurred_at".to_string(), n(now)),
                ("data".to_string(), s(e.data.to_string())),
                // DynamoDB's TTL sweeper runs on real time, so the expiry does too.
                (TTL_ATTR.to_string(), n(wall_ms() / 1000 + EVENT_TTL_SECS)),
            ]);
            out.push(self.put(item, Some("attribute_not_exists(pk)"), &[])?);
        }
        Ok(out)
    }
}

/// Positions in the cross-org feed: `{ms:013}#{org}#{seq:020}`.
fn valid_feed_key(k: &str) -> bool {
    k.len() <= 120
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'#' || b == b'-')
}

impl EventStore for DynamoStore {
    async fn org_events_after(
        &self,
        org: &str,
        after: u64,
        limit: usize,
        now: i64,
    ) -> StoreResult<EventPage> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(events_pk(org)))
            .expression_attribute_values(":from", s(event_sk(after + 1)))
            .expression_attribute_values(":to", s(event_sk(u64::MAX / 2)))
            .consistent_read(true)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(sdk)?;
        self.stats.trip(out.count().max(0) as u64, 0);
        let mut events = Vec::new();
        let mut last_seq = None;
        for item in out.items.unwrap_or_default() {
            // The position moves past expired events too (TTL may not have swept them yet).
            last_seq = Some(get_n::<u64>(&item, "seq")?);
            if let Some(i) = live(item, now) {
                events.push(event_from(&i)?);
            }
        }
        let position = last_seq
            .or((after > 0).then_some(after))
            .map(|s| s.to_string());
        Ok(EventPage {
            events,
            position,
            more: out.last_evaluated_key.is_some(),
        })
    }

    async fn all_events_after(
        &self,
        after: Option<&str>,
        limit: usize,
        now: i64,
    ) -> StoreResult<EventPage> {
        let from = match after {
            Some(a) if valid_feed_key(a) => a.to_string(),
            Some(_) => return Err(StoreError::BadCursor),
            None => String::new(),
        };
        let settled = format!("{:013}", wall_ms() - SETTLE_MS);
        let mut events = Vec::new();
        let mut pos = from;
        let mut more = false;
        for _ in 0..MAX_FILTERED_PAGES {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(ALL_EVENTS_PK))
                .expression_attribute_values(
                    ":from",
                    s(if pos.is_empty() {
                        "0".to_string()
                    } else {
                        format!("{pos}~")
                    }),
                )
                .expression_attribute_values(":to", s(&settled))
                .limit((limit - events.len()).clamp(1, 1000) as i32)
                .send()
                .await
                .map_err(sdk)?;
            self.stats.trip(out.count().max(0) as u64, 0);
            for item in out.items.unwrap_or_default() {
                if let Ok(k) = get_s(&item, "gsi1sk") {
                    pos = k;
                }
                if let Some(i) = live(item, now) {
                    events.push(event_from(&i)?);
                }
            }
            more = out.last_evaluated_key.is_some();
            if !more || events.len() >= limit {
                break;
            }
        }
        Ok(EventPage {
            events,
            position: (!pos.is_empty()).then_some(pos),
            more,
        })
    }
}

impl DynamoStore {
    /// Benchmarks only (`infra/bench-api`): appends `count` events of `org` directly (BatchWriteItem,
    /// no change behind them) and moves its counter past them. Never used on a request path.
    pub async fn bulk_import_events(&self, org: &str, count: u64, now: i64) -> StoreResult<()> {
        let (seq, last_ms) = match self.get(events_pk(org), SEQ_SK).await? {
            Some(item) => (get_n(&item, "seq")?, get_n(&item, "ms").unwrap_or(0)),
            None => (0, 0),
        };
        let ms = wall_ms().max(last_ms);
        let items: Vec<Item> = (seq + 1..=seq + count)
            .map(|seq| {
                HashMap::from([
                    ("pk".to_string(), s(events_pk(org))),
                    ("sk".to_string(), s(event_sk(seq))),
                    ("gsi1pk".to_string(), s(ALL_EVENTS_PK)),
                    ("gsi1sk".to_string(), s(format!("{ms:013}#{org}#{seq:020}"))),
                    ("type".to_string(), s("event")),
                    ("event_type".to_string(), s("user.updated")),
                    ("org".to_string(), s(org)),
                    ("seq".to_string(), n(seq)),
                    ("occurred_at".to_string(), n(now)),
                    ("data".to_string(), s(r#"{"bench":true}"#)),
                    (TTL_ATTR.to_string(), n(wall_ms() / 1000 + EVENT_TTL_SECS)),
                ])
            })
            .collect();
        self.batch_put(items).await?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(events_pk(org)))
            .item("sk", s(SEQ_SK))
            .item("seq", n(seq + count))
            .item("ms", n(ms))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }
}
