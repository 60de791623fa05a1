//! Storage of the events outbox (`model::event`; the DynamoDB side is `dynamo/events.rs`).

use std::future::Future;

use super::StoreResult;
use crate::model::event::EventPage;

pub trait EventStore {
    /// The org's events after sequence number `after`, oldest first (strongly consistent: what a
    /// caller has seen committed, the next call continues after).
    fn org_events_after(
        &self,
        org: &str,
        after: u64,
        limit: usize,
        now: i64,
    ) -> impl Future<Output = StoreResult<EventPage>> + Send;
    /// Every org's events after position `after` (an opaque key), in commit-time order, only those
    /// older than the settle window (`events::dynamo`): a transaction still in flight cannot
    /// commit behind a reader's position.
    fn all_events_after(
        &self,
        after: Option<&str>,
        limit: usize,
        now: i64,
    ) -> impl Future<Output = StoreResult<EventPage>> + Send;
}
