//! The events outbox on DynamoDB (`events`).
//!
//! | item           | pk                  | sk               | gsi1pk / gsi1sk                                 |
//! |----------------|---------------------|------------------|-------------------------------------------------|
//! | event counter  | `ORG#{org}#EVENTS`  | `SEQ`            |                                                 |
//! | event          | `ORG#{org}#EVENTS`  | `EV#{seq:020}`   | `EVENTS` / `{ms:013}#{org}#{seq:020}`           |
//!
//! A sequence number is time-ordered and needs no read: the writer's clock in milliseconds, shifted
//! left by [`SUB_MS_BITS`], made strictly increasing within the process ([`next_seqs`]). A
//! change's transaction also sets the org's counter to its last event's number on the condition
//! that the counter is below its first: DynamoDB serializes the transactions on the counter item,
//! so an org's events commit in increasing order and a reader continuing after N never misses one
//! committed later (it is above the counter, which is at least N). The outbox thus costs no round
//! trip of its own on the happy path (a sign-in stays at its transaction: docs/decisions.md).
//! When the condition fails (another Lambda's clock is ahead, or two writers' numbers committed
//! out of order), the writer reads the counter once and retries above it ([`MAX_SEQ_ATTEMPTS`]).
//!
//! Numbers are increasing, not consecutive: below 2^53 (so a JSON reader keeps them exact) until
//! the year 2248.
//!
//! The events partition outlives the org's purge (directory.rs skips it) so that `org.deleted`
//! stays readable and a re-created org's events continue the sequence; TTL removes them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::*;
use crate::model::event::{feed_position, Event, EventPage, NewEvent, EVENT_TTL_SECS, SETTLE_MS};
use crate::store::events::EventStore;

pub(super) fn events_pk(org: &str) -> String {
    format!("ORG#{org}#EVENTS")
}
const SEQ_SK: &str = "SEQ";
fn event_sk(seq: u64) -> String {
    format!("EV#{seq:020}")
}
const ALL_EVENTS_PK: &str = "EVENTS";
/// Attempts at the counter when other writers of the org race for it. A number taken after a
/// refusal is above every number committed before it, so a writer is refused again only by
/// writers that took theirs at the same time: this bounds how many may write one org at the same
/// instant (Okta's SCIM client sends a few at a time; a test sends 30). Retries after a
/// transaction conflict (DynamoDB's, not our condition) wait a jittered, capped backoff.
const MAX_SEQ_ATTEMPTS: u32 = 64;
/// Sequence numbers per millisecond: 2^10 (no org writes 1024 events in one millisecond; if one
/// did, its numbers would run ahead of the clock, still increasing).
const SUB_MS_BITS: u32 = 10;

/// The last clock-based number this process handed out (any org): numbers taken one after the
/// other are increasing even when the wall clock stands still or steps back.
static LAST_SEQ: AtomicU64 = AtomicU64::new(0);

/// `count` consecutive sequence numbers: the first above every number this process took before
/// and at least the wall clock's, and above `floor` (the org's counter, when known). `floor`
/// does not move the process's numbers for other orgs: one org's counter set by a Lambda whose
/// clock runs ahead must not hold back every org in the cross-org feed.
fn next_seqs(floor: u64, count: u64) -> u64 {
    let clock = (wall_ms().max(0) as u64) << SUB_MS_BITS;
    let mut prev = LAST_SEQ.load(Ordering::Relaxed);
    loop {
        let local = clock.max(prev + 1);
        match LAST_SEQ.compare_exchange_weak(
            prev,
            local + count - 1,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => return local.max(floor + 1),
            Err(p) => prev = p,
        }
    }
}

/// The millisecond a sequence number was taken in (the cross-org feed's position).
fn seq_ms(seq: u64) -> u64 {
    seq >> SUB_MS_BITS
}
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
        // No read on the first attempt: the counter's condition decides (module docs).
        let mut floor = 0;
        for attempt in 0..MAX_SEQ_ATTEMPTS {
            let first = next_seqs(floor, events.len() as u64);
            let mut all = items.clone();
            all.extend(
                self.event_items(org, first, &events, now)
                    .map_err(TxError::Store)?,
            );
            match self.transact(all).await {
                // Only the counter (or an event slot) failed: a number at or above ours committed
                // first. Read where the counter is and go above it at once.
                Err(TxError::Condition(codes))
                    if !codes[..base.min(codes.len())]
                        .iter()
                        .any(|c| c == "ConditionalCheckFailed") =>
                {
                    floor = match self.get(events_pk(org), SEQ_SK).await {
                        Ok(Some(item)) => get_n(&item, "seq").map_err(TxError::Store)?,
                        Ok(None) => 0,
                        Err(e) => return Err(TxError::Store(e)),
                    };
                }
                // Conflicts on the counter that `transact` gave up on: still only a race. Wait a
                // little (jittered, so racers spread) and try again.
                Err(TxError::Store(StoreError::Throttled)) => {
                    let cap = (10u64 << attempt.min(5)).min(MAX_BACKOFF_MS);
                    tokio::time::sleep(Duration::from_millis(rand::random_range(1..=cap))).await;
                }
                Err(TxError::Condition(mut codes)) => {
                    codes.truncate(base);
                    return Err(TxError::Condition(codes));
                }
                other => return other,
            }
        }
        Err(TxError::Store(StoreError::Throttled))
    }

    fn event_items(
        &self,
        org: &str,
        first: u64,
        events: &[NewEvent],
        now: i64,
    ) -> StoreResult<Vec<TransactWriteItem>> {
        let last = first + events.len() as u64 - 1;
        // Above the counter, so after every event of the org already committed (module docs).
        let u = Update::builder()
            .table_name(&self.table)
            .key("pk", s(events_pk(org)))
            .key("sk", s(SEQ_SK))
            .update_expression("SET seq = :last")
            .condition_expression("attribute_not_exists(seq) OR seq < :first")
            .expression_attribute_values(":last", n(last))
            .expression_attribute_values(":first", n(first));
        let mut out = vec![TransactWriteItem::builder()
            .update(u.build().map_err(backend)?)
            .build()];
        for (i, e) in events.iter().enumerate() {
            let seq = first + i as u64;
            let item: Item = HashMap::from([
                ("pk".to_string(), s(events_pk(org))),
                ("sk".to_string(), s(event_sk(seq))),
                ("gsi1pk".to_string(), s(ALL_EVENTS_PK)),
                // The same key webhooks keep as their position (`Event::feed_position`).
                ("gsi1sk".to_string(), s(feed_position(seq, org))),
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
        let floor = match self.get(events_pk(org), SEQ_SK).await? {
            Some(item) => get_n(&item, "seq")?,
            None => 0,
        };
        let first = next_seqs(floor, count);
        let items: Vec<Item> = (first..first + count)
            .map(|seq| {
                let ms = seq_ms(seq);
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
            .item("seq", n(first + count - 1))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }
}
